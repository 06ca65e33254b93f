# cognito-mfa-operator
SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

BIN            ?= $(CURDIR)/bin
K8S_BIN        ?= $(BIN)/k8s
CONTROLLER_GEN ?= $(BIN)/controller-gen
CONTROLLER_TOOLS_VERSION ?= v0.23.0
# Envtest runs the real kube-apiserver and etcd built from their Go modules.
export KUBEBUILDER_ASSETS ?= $(K8S_BIN)

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

.PHONY: verify
verify: manifests generate ## Fail when generated files or formatting are stale.
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	@git diff --exit-code -- config api || { echo "generated files are stale: run make manifests generate"; exit 1; }

.PHONY: test
test: envtest-bins verify vet ## Run every test against a real API server (builds what is missing).
	go test ./... -count=1 -timeout 20m

.PHONY: unit
unit: ## Run the tests that need no API server.
	go test ./internal/... -count=1

##@ Build

.PHONY: build
build: ## Build the manager.
	go build -o $(BIN)/manager ./cmd/manager

.PHONY: run
run: manifests ## Run the manager against the current kubeconfig.
	go run ./cmd/manager $(ARGS)

.PHONY: install
install: manifests ## Install the CRD into the current kubeconfig's cluster.
	kubectl apply -f config/crd/bases

##@ Tools

$(CONTROLLER_GEN):
	GOBIN=$(BIN) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS_VERSION)

.PHONY: envtest-bins
envtest-bins: $(K8S_BIN)/kube-apiserver $(K8S_BIN)/kubectl $(K8S_BIN)/etcd ## Build kube-apiserver, kubectl and etcd from Go modules.

$(K8S_BIN)/kube-apiserver $(K8S_BIN)/kubectl: hack/controlplane/kube/go.mod hack/controlplane/kube/go.sum
	mkdir -p $(K8S_BIN)
	cd hack/controlplane/kube && go build -o $(K8S_BIN)/kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
	cd hack/controlplane/kube && go build -o $(K8S_BIN)/kubectl k8s.io/kubernetes/cmd/kubectl

$(K8S_BIN)/etcd: hack/controlplane/etcd/go.mod hack/controlplane/etcd/go.sum
	mkdir -p $(K8S_BIN)
	cd hack/controlplane/etcd && go build -o $(K8S_BIN)/etcd .

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*##/ { printf "  %-14s %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Demo

.PHONY: demo
demo: envtest-bins build ## Enrol a user on an embedded local setup (API server + Cognito fake); DEMO_KEEP=1 keeps it up.
	go run ./cmd/demo
