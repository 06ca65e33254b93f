# cognito-mfa-operator
SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

BIN            ?= $(CURDIR)/bin
K8S_BIN        ?= $(BIN)/k8s
CONTROLLER_GEN ?= $(BIN)/controller-gen
CONTROLLER_TOOLS_VERSION ?= v0.23.0
# golangci-lint is built from its Go module (go install), never downloaded as
# a release binary; the binary's name carries its version, so bumping
# GOLANGCI_LINT_VERSION rebuilds it.
GOLANGCI_LINT_VERSION ?= v2.15.0
GOLANGCI_LINT  ?= $(BIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)
# Envtest runs the real kube-apiserver and etcd built from their Go modules.
export KUBEBUILDER_ASSETS ?= $(K8S_BIN)
# helm and promtool, for the chart and alert tests (test/chart), are built
# from their Go modules pinned in hack/helm and hack/promtool.
HELM           ?= $(BIN)/helm
PROMTOOL       ?= $(BIN)/promtool

.PHONY: all
all: build

##@ Development

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate the CRD and RBAC from the API markers.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="./api/...;./controllers/..." \
		output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate the deepcopy functions.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: fmt
fmt: ## gofmt the tree.
	gofmt -w $$(git ls-files '*.go')

.PHONY: vet
vet: ## go vet.
	go vet ./...

.PHONY: docs
docs: ## Regenerate the generated docs (docs/transitions.md, the transitions table).
	UPDATE_DOCS=1 go test ./internal/lifecycle/ -run '^TestTransitionsDocIsCurrent$$' -count=1

.PHONY: verify
verify: manifests generate ## Fail when generated files or formatting are stale.
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	@git diff --exit-code -- config api || { echo "generated files are stale: run make manifests generate"; exit 1; }

.PHONY: lint
lint: $(GOLANGCI_LINT) ## Run golangci-lint (.golangci.yml).
	$(GOLANGCI_LINT) run

.PHONY: lint-fix
lint-fix: $(GOLANGCI_LINT) ## Run golangci-lint and apply its fixes.
	$(GOLANGCI_LINT) run --fix

##@ Test

# Unit and envtest tests: every package but the end-to-end ones (test/e2e,
# test/node: make test-node) and the image test (test/image: root, runc and
# a container tool; make test-image).
GO_TEST_UNIT = go test $$(go list ./... | grep -v -e /test/e2e -e /test/node -e /test/image) -count=1 -timeout 30m
# End to end: cognito-local as Cognito and the manager as a process.
GO_TEST_E2E  = go test ./test/e2e/... -count=1 -timeout 30m
# The image: built with podman, buildah or docker and run with runc (root);
# -v shows why it skips where those are missing.
GO_TEST_IMAGE = go test ./test/image/ -count=1 -v -timeout 20m
# The node suite: a real single-node cluster (containerd, the kubelet,
# kube-controller-manager, kube-scheduler) on which the chart is installed
# with the README's commands (root, containerd, runc, the CNI plugins and
# podman; -v shows why it skips where those are missing). About 4½ minutes.
GO_TEST_NODE = go test ./test/node/ -count=1 -v -timeout 20m

.PHONY: test
test: envtest-bins cognito-local helm promtool verify vet ## Unit and envtest tests (every package but test/e2e), after verify and vet.
	$(GO_TEST_UNIT)

.PHONY: test-e2e
test-e2e: envtest-bins cognito-local helm ## End-to-end tests against cognito-local, with the manager as a process.
	$(GO_TEST_E2E)

.PHONY: e2e
e2e: test-e2e ## Alias of test-e2e.

.PHONY: test-image
test-image: envtest-bins cognito-local ## Build the image (make docker-build, with podman, buildah or docker) and run it with runc, non-root on a read-only root filesystem, to enroll a user; needs root and runc, else it skips.
	$(GO_TEST_IMAGE)

.PHONY: test-node
test-node: envtest-bins node-bins cognito-local helm ## The node suite (test/node): the chart installed with helm on a real single-node cluster built here, the operator's pod enrolling users of cognito-local; builds the image with make docker-build; needs root, containerd, runc, the CNI plugins and podman, else it skips.
	$(GO_TEST_NODE)

.PHONY: e2e-aws
e2e-aws: envtest-bins ## The manager enrolls users of real, throw-away pools (MFA required, a client secret, an e-mail alias, a rotation, Disable; needs COGNITO_CONFORMANCE_REGION and AWS credentials), and the conformance suite runs against them and records AWS's answers in test/conformance/testdata. make test runs the same path against the fake.
	go test ./test/conformance/ -run '^(TestRealEndToEnd|TestConformanceReal)$$' -count=1 -v -timeout 30m

.PHONY: unit
unit: ## Run the tests that need no API server.
	go test ./internal/... -count=1

# ci: lint, then the tool builds and verify (which regenerates files) one at a
# time (-j1, whatever -j ci itself was given), then test and test-e2e side by
# side (-j2), test-image after test-e2e in the same slot. They start separate API servers, etcds and cognito-locals on
# free ports in their own temporary directories, as `go test ./...` already
# did when it ran their packages in parallel. --output-sync prints each run's
# output whole (go test's ok/FAIL lines included) when that run ends, and ci
# fails if either fails. The node suite runs last, alone: it changes the host
# (iptables, cgroups), and its timings (a Lease's expiry, a deletion timeout)
# are better not shared with two busy cores.
.PHONY: ci
ci: ## Everything: lint, then test and test-e2e (then test-image) in parallel, then test-node. The one command to run before pushing; CI runs it.
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory -j1 envtest-bins node-bins cognito-local helm promtool verify vet
	$(MAKE) --no-print-directory -j2 --output-sync=target ci-test ci-test-e2e
	$(GO_TEST_NODE)

.PHONY: ci-test ci-test-e2e
ci-test:
	$(GO_TEST_UNIT)
ci-test-e2e:
	$(GO_TEST_E2E)
	$(GO_TEST_IMAGE)

##@ Build

.PHONY: build
build: ## Build the manager and the kubectl-mfa plugin.
	go build -o $(BIN)/manager ./cmd/manager
	go build -o $(BIN)/kubectl-mfa ./cmd/kubectl-mfa

.PHONY: run
run: manifests ## Run the manager against the current kubeconfig.
	go run ./cmd/manager $(ARGS)

KUBECTL ?= kubectl
IMG ?= ghcr.io/cognito-mfa-operator/manager:latest

.PHONY: install
install: manifests ## Install the CRD into the current kubeconfig's cluster.
	$(KUBECTL) apply -k config/crd

.PHONY: uninstall
uninstall: ## Remove the CRD (and with it every enrollment; Secrets stay).
	$(KUBECTL) delete -k config/crd

.PHONY: deploy
deploy: manifests ## Deploy the operator (config/default) with the manager image IMG.
	$(KUBECTL) kustomize config/default | sed 's|image: ghcr.io/cognito-mfa-operator/manager:latest|image: $(IMG)|' | $(KUBECTL) apply -f -

.PHONY: undeploy
undeploy: ## Remove the deployed operator.
	$(KUBECTL) delete -k config/default

# The image is built with CONTAINER_TOOL (docker by default, as kubebuilder's
# Makefile has it; podman or buildah work too, with no daemon). Its build
# context is IMAGE_CONTEXT, prepared on the host by image-context (see the
# Dockerfile for why): nothing is pulled, so it builds offline. With podman
# and buildah the build runs with --network=none to prove it.
CONTAINER_TOOL ?= docker
IMAGE_CONTEXT  ?= $(BIN)/image
CA_CERTIFICATES ?= /etc/ssl/certs/ca-certificates.crt
CONTAINER_BUILD_FLAGS ?= $(if $(filter podman buildah,$(notdir $(CONTAINER_TOOL))),--network=none)

.PHONY: image-context
image-context: ## Prepare the image's build context (bin/image): the manager as a static Linux binary and the host's CA certificates.
	@test -s $(CA_CERTIFICATES) || { echo "$(CA_CERTIFICATES) is missing: apt-get install ca-certificates (or set CA_CERTIFICATES)"; exit 1; }
	mkdir -p $(IMAGE_CONTEXT)
	CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags=-s -o $(IMAGE_CONTEXT)/manager ./cmd/manager
	cp $(CA_CERTIFICATES) $(IMAGE_CONTEXT)/ca-certificates.crt

.PHONY: docker-build
docker-build: image-context ## Build the manager image IMG with CONTAINER_TOOL (docker, podman or buildah), offline.
	$(CONTAINER_TOOL) build $(CONTAINER_BUILD_FLAGS) -t $(IMG) -f Dockerfile $(IMAGE_CONTEXT)

##@ Tools

$(CONTROLLER_GEN):
	GOBIN=$(BIN) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS_VERSION)

.PHONY: golangci-lint
golangci-lint: $(GOLANGCI_LINT) ## Build the pinned golangci-lint (GOLANGCI_LINT_VERSION) from its Go module into bin/.

$(GOLANGCI_LINT):
	GOBIN=$(BIN) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv $(BIN)/golangci-lint $@
	ln -sf $(notdir $@) $(BIN)/golangci-lint

.PHONY: envtest-bins
envtest-bins: $(K8S_BIN)/kube-apiserver $(K8S_BIN)/kubectl $(K8S_BIN)/etcd ## Build kube-apiserver, kubectl and etcd from Go modules.

$(K8S_BIN)/kube-apiserver $(K8S_BIN)/kubectl &: hack/controlplane/kube/go.mod hack/controlplane/kube/go.sum
	mkdir -p $(K8S_BIN)
	cd hack/controlplane/kube && go build -o $(K8S_BIN)/kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
	cd hack/controlplane/kube && go build -o $(K8S_BIN)/kubectl k8s.io/kubernetes/cmd/kubectl

# The node's binaries (test/node): kubelet, kube-controller-manager and
# kube-scheduler from the same k8s.io/kubernetes as kube-apiserver, built only
# when missing or when hack/controlplane/kube changes, as kube-apiserver is.
.PHONY: node-bins
node-bins: $(K8S_BIN)/kubelet $(K8S_BIN)/kube-controller-manager $(K8S_BIN)/kube-scheduler ## Build kubelet, kube-controller-manager and kube-scheduler from Go modules (test/node).

$(K8S_BIN)/kubelet $(K8S_BIN)/kube-controller-manager $(K8S_BIN)/kube-scheduler &: hack/controlplane/kube/go.mod hack/controlplane/kube/go.sum
	mkdir -p $(K8S_BIN)
	cd hack/controlplane/kube && go build -o $(K8S_BIN)/kubelet k8s.io/kubernetes/cmd/kubelet
	cd hack/controlplane/kube && go build -o $(K8S_BIN)/kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager
	cd hack/controlplane/kube && go build -o $(K8S_BIN)/kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler

$(K8S_BIN)/etcd: hack/controlplane/etcd/go.mod hack/controlplane/etcd/go.sum
	mkdir -p $(K8S_BIN)
	cd hack/controlplane/etcd && go build -o $(K8S_BIN)/etcd .

.PHONY: helm
helm: $(HELM) ## Build helm (hack/helm's pinned helm.sh/helm/v3) from its Go module into bin/.

# The -X flags are the ones helm's own Makefile sets: its version, and the
# Kubernetes version `helm template` and `helm lint` assume (that of the
# client-go it is built with; the default would be 1.20).
$(HELM): hack/helm/go.mod hack/helm/go.sum
	mkdir -p $(BIN)
	cd hack/helm && v=$$(go list -m -f '{{.Version}}' helm.sh/helm/v3) && \
		minor=$$(go list -m -f '{{.Version}}' k8s.io/client-go | cut -d. -f2) && \
		go build -ldflags "-X helm.sh/helm/v3/internal/version.version=$$v \
			-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$$minor \
			-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$$minor" \
			-o $(HELM) helm.sh/helm/v3/cmd/helm

.PHONY: promtool
promtool: $(PROMTOOL) ## Build promtool (hack/promtool's pinned github.com/prometheus/prometheus) from its Go module into bin/.

$(PROMTOOL): hack/promtool/go.mod hack/promtool/go.sum
	mkdir -p $(BIN)
	cd hack/promtool && v=$$(go list -m -f '{{.Version}}' github.com/prometheus/prometheus) && \
		go build -ldflags "-X github.com/prometheus/common/version.Version=$$v" \
			-o $(PROMTOOL) github.com/prometheus/prometheus/cmd/promtool

.PHONY: cognito-local
cognito-local: hack/cognito-local/node_modules/.package-lock.json ## Install cognito-local, pinned by its lockfile.

hack/cognito-local/node_modules/.package-lock.json: hack/cognito-local/package.json hack/cognito-local/package-lock.json
	cd hack/cognito-local && npm ci --no-audit --no-fund --loglevel=error

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z0-9_-]+:.*##/ { printf "  %-15s %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Chart

.PHONY: chart
chart: ## Regenerate the Helm chart's copies (charts/cognito-mfa-operator/files) from config/; run after make manifests.
	go run ./hack/chart

.PHONY: verify-chart
verify-chart: ## Fail when the chart's generated copies are stale (test/chart checks it too).
	go run ./hack/chart -check

.PHONY: test-chart
test-chart: envtest-bins helm promtool ## The chart and alert tests only (test/chart): helm lint, helm template applied with server-side dry run, promtool test rules.
	go test ./test/chart/... -count=1 -v

.PHONY: test-alerts
test-alerts: promtool ## promtool test rules on config/prometheus/alerts.yaml (alerts_test.yaml).
	go test ./test/chart/... -count=1 -run '^TestAlertRules$$' -v

##@ Benchmark

.PHONY: bench
bench: envtest-bins cognito-local build ## Measure the operator against a bare loop of the same Cognito calls; writes docs/benchmarks.md and .json.
	go run ./cmd/bench $(BENCH_ARGS)

##@ Demo

.PHONY: demo
demo: envtest-bins cognito-local build ## Enroll a user on an embedded local setup (API server + cognito-local); DEMO_KEEP=1 keeps it up.
	go run ./cmd/demo
