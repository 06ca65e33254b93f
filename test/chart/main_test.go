// Package chart tests the Helm chart (charts/cognito-mfa-operator), the
// alerts (config/prometheus) and the Grafana dashboard (config/grafana) with
// the real tools, built from their Go modules: helm (hack/helm) lints and
// renders the chart, a real kube-apiserver and etcd (envtest, bin/k8s) take
// the rendered manifests with a server-side dry run, and promtool
// (hack/promtool) unit-tests the alerts. `make test` builds them first.
package chart

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/hack/chart/chartgen"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/localenv"
)

const (
	release   = "cognito-mfa-operator"
	releaseNS = "cognito-mfa-operator-system"
)

var (
	root     string
	chartDir string
	work     string

	helm, promtool       string
	helmErr, promtoolErr error

	cpOnce sync.Once
	cp     *localenv.ControlPlane
	cpErr  error
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	var err error
	if root, err = filepath.Abs("../.."); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	chartDir = filepath.Join(root, chartgen.ChartDir)
	if work, err = os.MkdirTemp("", "cognito-mfa-chart-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(work)
	// helm keeps its cache and config here, not in $HOME.
	for _, v := range []string{"HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"} {
		os.Setenv(v, filepath.Join(work, "helm", v))
	}
	helm, helmErr = tool("helm")
	promtool, promtoolErr = tool("promtool")
	code := m.Run()
	if cp != nil {
		cp.Stop()
	}
	return code
}

// tool returns bin/NAME, built with `make NAME` (from its Go module pinned in
// hack/NAME) when missing, as `make test` does before running the tests.
func tool(name string) (string, error) {
	p := filepath.Join(root, "bin", name)
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	cmd := exec.Command("make", "--no-print-directory", name)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("bin/%s is missing and `make %s` could not build it from its Go module: %v\n%s", name, name, err, out)
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("`make %s` made no bin/%s", name, name)
	}
	return p, nil
}

func needHelm(t *testing.T) {
	t.Helper()
	if helmErr != nil {
		t.Skipf("helm cannot be built here, so the chart is not tested: %v", helmErr)
	}
}

func needPromtool(t *testing.T) {
	t.Helper()
	if promtoolErr != nil {
		t.Skipf("promtool cannot be built here, so the alerts are not tested: %v", promtoolErr)
	}
}

// controlPlane starts one kube-apiserver and etcd for the package, on first
// use, with the monitoring.coreos.com CRDs the chart's optional objects need.
func controlPlane(t *testing.T) *localenv.ControlPlane {
	t.Helper()
	cpOnce.Do(func() {
		if cp, cpErr = localenv.StartControlPlane(root, work); cpErr != nil {
			return
		}
		ctx := context.Background()
		stubs := filepath.Join(root, "test/chart/testdata/monitoring-crds.yaml")
		if _, cpErr = cp.Kubectl(ctx, "apply", "-f", stubs); cpErr != nil {
			return
		}
		_, cpErr = cp.Kubectl(ctx, "wait", "--for=condition=Established", "--timeout=60s",
			"crd/servicemonitors.monitoring.coreos.com", "crd/prometheusrules.monitoring.coreos.com")
	})
	if cpErr != nil {
		t.Fatalf("starting the API server (run `make envtest-bins`): %v", cpErr)
	}
	return cp
}

// runTool runs a command and returns its combined output.
func runTool(t *testing.T, dir, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// render runs helm template on the chart with the given value files and
// --set flags, as the release cognito-mfa-operator in cognito-mfa-operator-system.
func render(t *testing.T, valueFiles []string, set ...string) string {
	t.Helper()
	needHelm(t)
	args := []string{"template", release, chartDir, "--namespace", releaseNS}
	for _, f := range valueFiles {
		args = append(args, "--values", f)
	}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	cmd := exec.Command(helm, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// docs splits rendered manifests into objects.
func docs(t *testing.T, manifests string) []map[string]any {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(manifests), 4096)
	var out []map[string]any
	for {
		var o map[string]any
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("decoding the rendered manifests: %v", err)
		}
		if o != nil {
			out = append(out, o)
		}
	}
}

// str reads a string at a path of nested maps.
func str(o map[string]any, path ...string) string {
	var cur any = o
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = m[p]
	}
	s, _ := cur.(string)
	return s
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
