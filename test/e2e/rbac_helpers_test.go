package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/localenv"
)

// chartReleaseNS is the namespace the chart is rendered for, as
// config/default and the chart's README install it.
const chartReleaseNS = "cognito-mfa-operator-system"

// rbacKinds are the chart's objects that say what the manager may do.
var rbacKinds = []string{"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}

// helmBinary is bin/helm, built with `make helm` (from hack/helm's pinned
// module) when missing, as test/chart does; the test is skipped, as there,
// when it cannot be built.
func helmBinary(t *testing.T) string {
	t.Helper()
	p := filepath.Join(root, "bin", "helm")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	cmd := exec.Command("make", "--no-print-directory", "helm")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("bin/helm is missing and `make helm` could not build it: %v\n%s", err, out)
	}
	if _, err := os.Stat(p); err != nil {
		t.Skip("`make helm` made no bin/helm")
	}
	return p
}

// chartRBAC renders the chart with helm template as release rel in
// chartReleaseNS with the --set flags, keeps its RBAC objects only (no
// Deployment: nothing here runs pods), and applies them with kubectl. It
// returns the manifest file it applied and the name of the manager's
// ServiceAccount.
func chartRBAC(t *testing.T, helm, rel string, set ...string) (file, serviceAccount string) {
	t.Helper()
	args := []string{"template", rel, filepath.Join(root, "charts/cognito-mfa-operator"), "--namespace", chartReleaseNS}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	home := t.TempDir()
	cmd := exec.Command(helm, args...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"), "HELM_DATA_HOME="+filepath.Join(home, "data"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}

	var items []map[string]any
	kinds := map[string]int{}
	dec := utilyaml.NewYAMLOrJSONDecoder(&stdout, 4096)
	for {
		var o map[string]any
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("decoding helm template's output: %v", err)
		}
		kind, _ := o["kind"].(string)
		if !slices.Contains(rbacKinds, kind) {
			continue
		}
		items = append(items, o)
		kinds[kind]++
		if kind == "ServiceAccount" {
			md, _ := o["metadata"].(map[string]any)
			serviceAccount, _ = md["name"].(string)
		}
	}
	if serviceAccount == "" || kinds["ClusterRole"] == 0 || kinds["Role"] == 0 {
		t.Fatalf("the chart rendered no ServiceAccount, ClusterRole or Role: %v", kinds)
	}
	list, err := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
	if err != nil {
		t.Fatal(err)
	}
	file = filepath.Join(t.TempDir(), rel+"-rbac.json")
	if err := os.WriteFile(file, list, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Logf("applying the chart's RBAC for release %s: %v", rel, kinds)
	kubectl(t, "apply", "-f", file)
	return file, serviceAccount
}

// ensureNamespaces creates the namespaces that do not exist yet (another
// test may have made the release namespace).
func ensureNamespaces(t *testing.T, names ...string) {
	t.Helper()
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n---\n", n)
	}
	apply(t, b.String())
}

// kubectlAs runs kubectl with another kubeconfig than the admin's: an
// explicit --kubeconfig wins over the KUBECONFIG Kubectl sets.
func kubectlAs(kubeconfig string, args ...string) (string, error) {
	return cp.Kubectl(ctx(), append([]string{"--kubeconfig", kubeconfig}, args...)...)
}

// startManagerAs starts a manager of its own (its log in a directory of its
// own) with kubeconfig and Cognito at cognito-local, plus the extra flags;
// it is stopped when the test ends.
func startManagerAs(t *testing.T, kubeconfig string, extra ...string) *localenv.Manager {
	t.Helper()
	dir := t.TempDir()
	args := append([]string{"--cognito-endpoint", cognito.URL, "--region", "us-east-1", "--log-level", "debug",
		"--metrics-bind-address", "0", "--health-probe-bind-address", "0", "--retry-base-delay", "200ms",
		"--cluster-resource-namespace", chartReleaseNS, "--leader-elect=false"}, extra...)
	m, err := localenv.StartManager(filepath.Join(work, "bin", "manager"), kubeconfig, dir, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		m.Stop()
		if t.Failed() {
			log := m.Log()
			if lines := forbiddenLines(log); len(lines) > 0 {
				t.Logf("requests the API server refused the manager:\n%s", strings.Join(lines, "\n"))
			}
			t.Logf("log of the manager under the chart's RBAC:\n%s", log)
		}
	})
	return m
}

// waitManagerLog waits until the manager's log holds line.
func waitManagerLog(t *testing.T, m *localenv.Manager, line string) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if strings.Contains(m.Log(), line) {
			return
		}
	}
	t.Fatalf("the manager never logged %q", line)
}

// forbiddenLines are the lines of the manager's log that mention a refusal
// by the API server's authorization.
func forbiddenLines(log string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(strings.ToLower(l), "forbidden") {
			out = append(out, l)
		}
	}
	return out
}
