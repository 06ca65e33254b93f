package chart

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/hack/chart/chartgen"
)

// scenario is a set of values the chart is rendered with.
type scenario struct {
	name    string
	values  []string // value files, relative to the chart
	set     []string // --set flags
	watched []string // the namespaces it watches (namespace mode)
}

var scenarios = []scenario{
	{name: "default"},
	{name: "hardened", values: []string{"values-hardened.yaml"}, watched: []string{"team-a", "team-b"}},
	{name: "watchNamespaces", watched: []string{"team-x", "team-y"}, set: []string{
		"watchNamespaces={team-x,team-y}",
		"serviceMonitor.enabled=true", "prometheusRule.enabled=true", "grafanaDashboard.enabled=true",
		"extraEnv[0].name=AWS_REGION", "extraEnv[0].value=us-east-1",
	}},
}

func (s scenario) valueFiles() []string {
	var out []string
	for _, v := range s.values {
		out = append(out, filepath.Join(chartDir, v))
	}
	return out
}

func (s scenario) render(t *testing.T, set ...string) string {
	t.Helper()
	return render(t, s.valueFiles(), append(slices.Clone(s.set), set...)...)
}

// TestChartUpToDate fails when the chart's generated files (files/: the CRDs,
// the RBAC rules, the alerts, the dashboard) differ from what `make chart`
// makes from config/, as `make verify` does for controller-gen's output.
func TestChartUpToDate(t *testing.T) {
	diffs, err := chartgen.Diff(root, chartDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) > 0 {
		t.Fatalf("the chart's generated files are stale: run `make chart` (after `make manifests` when markers changed):\n  %s",
			strings.Join(diffs, "\n  "))
	}
}

// TestNoCRDsFolder: Helm installs a chart's crds/ folder once and never
// upgrades it; the chart renders its CRDs as templates instead.
func TestNoCRDsFolder(t *testing.T) {
	if _, err := os.Stat(filepath.Join(chartDir, "crds")); err == nil {
		t.Fatal("the chart has a crds/ folder, which `helm upgrade` never upgrades: the CRDs are templates (templates/crds.yaml)")
	}
}

func TestHelmLint(t *testing.T) {
	needHelm(t)
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			args := []string{"lint", "--strict", chartDir, "--namespace", releaseNS}
			for _, f := range s.valueFiles() {
				args = append(args, "--values", f)
			}
			for _, v := range s.set {
				args = append(args, "--set", v)
			}
			out, err := runTool(t, root, helm, args...)
			if err != nil {
				t.Fatal(err)
			}
			t.Log(strings.TrimSpace(out))
		})
	}
}

// TestCRDs: the CRDs are config/crd/bases' (controller-gen's), annotated to
// survive helm uninstall, and left out with crds.install=false.
func TestCRDs(t *testing.T) {
	want := map[string]map[string]any{}
	paths, err := filepath.Glob(filepath.Join(root, "config/crd/bases/*.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no CRDs in config/crd/bases: %v", err)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range docs(t, string(data)) {
			want[str(o, "metadata", "name")] = o
		}
	}
	got := map[string]map[string]any{}
	for _, o := range docs(t, render(t, nil)) {
		if o["kind"] != "CustomResourceDefinition" {
			continue
		}
		name := str(o, "metadata", "name")
		got[name] = o
		if p := str(o, "metadata", "annotations", "helm.sh/resource-policy"); p != "keep" {
			t.Errorf("CRD %s: helm.sh/resource-policy is %q, want keep", name, p)
		}
		if w, ok := want[name]; !ok {
			t.Errorf("CRD %s is not in config/crd/bases", name)
		} else if !reflect.DeepEqual(jsonRoundTrip(t, o["spec"]), jsonRoundTrip(t, w["spec"])) {
			t.Errorf("CRD %s: the chart's spec differs from config/crd/bases'", name)
		}
	}
	for name := range want {
		if _, ok := got[name]; !ok {
			t.Errorf("CRD %s of config/crd/bases is not in the chart", name)
		}
	}
	for _, o := range docs(t, render(t, nil, "crds.install=false")) {
		if o["kind"] == "CustomResourceDefinition" {
			t.Errorf("crds.install=false still renders CRD %s", str(o, "metadata", "name"))
		}
	}
}

// TestApplyDryRun applies each rendering to a real API server with a
// server-side dry run: schemas, names, namespaces, RBAC and the CRDs
// themselves are checked by the API server, nothing is stored.
func TestApplyDryRun(t *testing.T) {
	needHelm(t)
	cp := controlPlane(t)
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			manifests := s.render(t)
			createNamespaces(t, cp, nil, append([]string{releaseNS}, s.watched...)...)
			file := writeFile(t, t.TempDir(), "rendered.yaml", manifests)
			out, err := cp.Kubectl(context.Background(), "apply", "--server-side", "--dry-run=server",
				"--field-manager=chart-test", "--force-conflicts", "-f", file)
			if err != nil {
				t.Fatal(err)
			}
			objs := docs(t, manifests)
			if n := strings.Count(out, "(server dry run)"); n != len(objs) {
				t.Fatalf("the API server took %d objects of %d:\n%s", n, len(objs), out)
			}
			t.Logf("%d objects accepted (server dry run)", len(objs))
		})
	}
}

func createNamespaces(t *testing.T, cp interface {
	Kubectl(context.Context, ...string) (string, error)
}, labels map[string]string, names ...string) {
	t.Helper()
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n", n)
		if len(labels) > 0 {
			b.WriteString("  labels:\n")
			for k, v := range labels {
				fmt.Fprintf(&b, "    %s: %q\n", k, v)
			}
		}
	}
	file := writeFile(t, t.TempDir(), "namespaces.yaml", b.String())
	if _, err := cp.Kubectl(context.Background(), "apply", "-f", file); err != nil {
		t.Fatal(err)
	}
}

// TestNamespaceModeRBAC: with watchNamespaces, no ClusterRoleBinding grants
// Secrets (or SoftwareTokenEnrollments); a RoleBinding in each watched
// namespace does (to the ClusterRole <release>-watched, bound nowhere else,
// with the rights finalizer that keeps it through a namespace deletion),
// and the bound ClusterRole keeps what is cluster-scoped. It then installs
// the rendering for real, and asks the API server what the manager's
// ServiceAccount may do.
func TestNamespaceModeRBAC(t *testing.T) {
	for _, s := range scenarios[1:] {
		t.Run(s.name, func(t *testing.T) {
			objs := docs(t, s.render(t))
			bound := map[string]bool{} // ClusterRoles a ClusterRoleBinding binds
			for _, o := range objs {
				if o["kind"] == "ClusterRoleBinding" {
					bound[str(o, "roleRef", "name")] = true
				}
			}
			watchedRole := release + "-watched"
			if bound[watchedRole] {
				t.Errorf("a ClusterRoleBinding binds %s: its Secrets cluster-wide", watchedRole)
			}
			bindings := map[string]bool{}
			var clusterRules []map[string]any
			for _, o := range objs {
				rules := rulesOf(o)
				switch o["kind"] {
				case "ClusterRole":
					name := str(o, "metadata", "name")
					grantsWatched := false
					for _, r := range rules {
						res := stringsOf(r["resources"])
						if slices.Contains(res, "secrets") || slices.Contains(res, "*") ||
							slices.Contains(res, "softwaretokenenrollments") {
							grantsWatched = true
							if bound[name] {
								t.Errorf("ClusterRole %s, bound cluster-wide, grants %v in namespace mode", name, res)
							}
						}
					}
					if name == watchedRole && !grantsWatched {
						t.Errorf("ClusterRole %s grants no Secrets", name)
					}
					if name == release+"-manager" {
						clusterRules = rules
					}
				case "RoleBinding":
					if str(o, "roleRef", "kind") == "ClusterRole" && str(o, "roleRef", "name") == watchedRole {
						bindings[str(o, "metadata", "namespace")] = true
						meta, _ := o["metadata"].(map[string]any)
						if !slices.Contains(stringsOf(meta["finalizers"]), v1alpha1.FinalizerRights) {
							t.Errorf("the RoleBinding in %s lacks the finalizer %s", str(o, "metadata", "namespace"), v1alpha1.FinalizerRights)
						}
					}
				case "Role":
					if ns := str(o, "metadata", "namespace"); slices.Contains(s.watched, ns) {
						t.Errorf("a Role in the watched namespace %s: a namespace deletion would take it", ns)
					}
				}
			}
			for _, ns := range s.watched {
				if !bindings[ns] {
					t.Errorf("no RoleBinding grants %s in the watched namespace %s", watchedRole, ns)
				}
			}
			for _, res := range []string{"clusteruserpools", "clusteruserpools/status", "clusteruserpools/finalizers", "namespaces"} {
				if !slices.ContainsFunc(clusterRules, func(r map[string]any) bool { return slices.Contains(stringsOf(r["resources"]), res) }) {
					t.Errorf("the ClusterRole lacks %s", res)
				}
			}
		})
	}

	needHelm(t)
	cp := controlPlane(t)
	// For real: a release in its own namespace, then kubectl auth can-i.
	const rel, ns = "rbac-check", "rbac-check-system"
	createNamespaces(t, cp, nil, ns, "team-p", "team-q", "elsewhere")
	args := []string{"template", rel, chartDir, "--namespace", ns, "--set", "watchNamespaces={team-p,team-q}", "--set", "metrics.secure=true"}
	manifests, err := runStdout(helm, args...)
	if err != nil {
		t.Fatal(err)
	}
	file := writeFile(t, t.TempDir(), "rendered.yaml", manifests)
	if _, err := cp.Kubectl(context.Background(), "apply", "--server-side", "--field-manager=chart-test", "--force-conflicts", "-f", file); err != nil {
		t.Fatal(err)
	}
	sa := "system:serviceaccount:" + ns + ":" + rel + "-cognito-mfa-operator"
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"get", "secrets", "-n", "team-p"}, "yes"},
		{[]string{"create", "secrets", "-n", "team-q"}, "yes"},
		{[]string{"delete", "secrets", "-n", "team-q"}, "yes"},
		{[]string{"patch", "secrets", "-n", "team-q"}, "no"},
		{[]string{"get", "secrets", "-n", "elsewhere"}, "no"},
		{[]string{"list", "secrets", "--all-namespaces"}, "no"},
		{[]string{"get", "secrets", "-n", ns}, "yes"},    // a ClusterUserPool's client secret
		{[]string{"create", "secrets", "-n", ns}, "yes"}, // the seed store
		{[]string{"list", "secrets", "-n", ns}, "yes"},   // the seed store's sweeps
		{[]string{"watch", "secrets", "-n", ns}, "no"},
		{[]string{"list", "softwaretokenenrollments.mfa.cognito-operator.dev", "-n", "team-p"}, "yes"},
		{[]string{"update", "softwaretokenenrollments.mfa.cognito-operator.dev", "-n", "team-p", "--subresource=status"}, "yes"},
		{[]string{"list", "softwaretokenenrollments.mfa.cognito-operator.dev", "-n", "elsewhere"}, "no"},
		{[]string{"create", "events.events.k8s.io", "-n", "team-q"}, "yes"},
		{[]string{"watch", "clusteruserpools.mfa.cognito-operator.dev"}, "yes"},
		{[]string{"patch", "clusteruserpools.mfa.cognito-operator.dev"}, "yes"},
		{[]string{"update", "clusteruserpools.mfa.cognito-operator.dev", "--subresource=status"}, "yes"},
		{[]string{"delete", "clusteruserpools.mfa.cognito-operator.dev"}, "no"},
		{[]string{"watch", "namespaces"}, "yes"},
		{[]string{"create", "leases.coordination.k8s.io", "-n", ns}, "yes"},
		{[]string{"create", "leases.coordination.k8s.io", "-n", "team-p"}, "no"},
		{[]string{"create", "tokenreviews.authentication.k8s.io"}, "yes"},
		{[]string{"create", "subjectaccessreviews.authorization.k8s.io"}, "yes"},
	} {
		args := append([]string{"auth", "can-i"}, c.args...)
		args = append(args, "--as", sa)
		out, _ := cp.Kubectl(context.Background(), args...) // "no" exits 1
		if got := lastLine(out); got != c.want {
			t.Errorf("kubectl auth can-i %s: %q, want %q", strings.Join(c.args, " "), got, c.want)
		}
	}
}

func runStdout(name string, args ...string) (string, error) {
	var stdout, stderr strings.Builder
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w\n%s", filepath.Base(name), strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func rulesOf(o map[string]any) []map[string]any {
	list, _ := o["rules"].([]any)
	var out []map[string]any
	for _, r := range list {
		if m, ok := r.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func stringsOf(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, s := range list {
		if str, ok := s.(string); ok {
			out = append(out, str)
		}
	}
	return out
}

// TestRestrictedPodSecurity creates the manager's pod, as each rendering's
// Deployment would, in a namespace that enforces the restricted Pod Security
// level (server-side dry run): the API server's PodSecurity admission must
// take it. hostNetwork=true must be refused, or the check checks nothing.
func TestRestrictedPodSecurity(t *testing.T) {
	needHelm(t)
	cp := controlPlane(t)
	const ns = "restricted-check"
	createNamespaces(t, cp, map[string]string{
		"pod-security.kubernetes.io/enforce":         "restricted",
		"pod-security.kubernetes.io/enforce-version": "latest",
	}, ns)
	create := func(t *testing.T, manifests string) (string, error) {
		t.Helper()
		var pod map[string]any
		for _, o := range docs(t, manifests) {
			if o["kind"] == "Deployment" {
				tmpl := o["spec"].(map[string]any)["template"].(map[string]any)
				pod = map[string]any{
					"apiVersion": "v1", "kind": "Pod",
					"metadata": map[string]any{"name": "manager", "namespace": ns},
					"spec":     tmpl["spec"],
				}
			}
		}
		if pod == nil {
			t.Fatal("no Deployment rendered")
		}
		data, err := json.Marshal(pod)
		if err != nil {
			t.Fatal(err)
		}
		file := writeFile(t, t.TempDir(), "pod.json", string(data))
		return cp.Kubectl(context.Background(), "create", "--dry-run=server", "-f", file)
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			out, err := create(t, s.render(t))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(out, "PodSecurity") {
				t.Fatalf("PodSecurity warnings: %s", out)
			}
		})
	}
	t.Run("hostNetwork is refused", func(t *testing.T) {
		out, err := create(t, render(t, nil, "hostNetwork=true"))
		if err == nil || !strings.Contains(out, "violates PodSecurity") {
			t.Fatalf("a pod with hostNetwork passed restricted: %v\n%s", err, out)
		}
	})
}

// TestManagerFlags: every flag the chart gives the manager is one that
// cmd/manager defines, or one the chart expects the manager to grow
// (pendingFlags, listed in the test's log).
func TestManagerFlags(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(root, "cmd/manager/main.go"))
	if err != nil {
		t.Fatal(err)
	}
	defined := map[string]bool{}
	for _, m := range regexp.MustCompile(`\.(?:String|Bool|Int|Int64|Uint|Float64|Duration)(?:Var)?\(\s*(?:&[^,]+,\s*)?"([a-z0-9-]+)"`).FindAllStringSubmatch(string(src), -1) {
		defined[m[1]] = true
	}
	if len(defined) < 10 {
		t.Fatalf("found only %d flags in cmd/manager/main.go: the test's pattern is out of date", len(defined))
	}
	// Flags the chart renders before the manager defines them, with the value
	// that renders each (none today: --metrics-secure and
	// --require-user-pool-ref have landed).
	pendingFlags := map[string]string{}
	used := map[string]string{}
	for _, s := range scenarios {
		for _, o := range docs(t, s.render(t, "metrics.secure=true", "requireUserPoolRef=true")) {
			if o["kind"] != "Deployment" {
				continue
			}
			spec := o["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
			for _, c := range spec["containers"].([]any) {
				for _, a := range stringsOf(c.(map[string]any)["args"]) {
					name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
					used[name] = s.name
				}
			}
		}
	}
	for name, from := range used {
		switch {
		case defined[name]:
		case pendingFlags[name] != "":
			t.Logf("the chart assumes --%s, which cmd/manager does not define yet: %s", name, pendingFlags[name])
		default:
			t.Errorf("the chart (%s) passes --%s, which cmd/manager does not define", from, name)
		}
	}
	for name := range pendingFlags {
		if defined[name] {
			t.Logf("--%s now exists in cmd/manager: remove it from pendingFlags", name)
		}
	}
}

// TestValuesDocumented: every top-level value is in the README's table.
func TestValuesDocumented(t *testing.T) {
	values, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(chartDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	// The values the table's first column names: `a.b`, `c`, `.d`.
	documented := map[string]bool{}
	code := regexp.MustCompile("`([a-zA-Z][a-zA-Z0-9]*)[.`]")
	for _, line := range strings.Split(string(readme), "\n") {
		if cells := strings.Split(line, "|"); len(cells) > 2 && strings.HasPrefix(line, "| ") {
			for _, m := range code.FindAllStringSubmatch(cells[1], -1) {
				documented[m[1]] = true
			}
		}
	}
	for _, m := range regexp.MustCompile(`(?m)^([a-zA-Z][a-zA-Z0-9]*):`).FindAllStringSubmatch(string(values), -1) {
		if !documented[m[1]] {
			t.Errorf("value %s is not in README.md's table of values", m[1])
		}
	}
}

func jsonRoundTrip(t *testing.T, v any) any {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRBACCoversRole: whatever the mode, every right of config/rbac/role.yaml
// (controller-gen's, from the markers) and leader_election_role.yaml is
// granted: cluster-wide, in the release namespace, or in every watched
// namespace.
func TestRBACCoversRole(t *testing.T) {
	var want []map[string]any
	for _, f := range []string{"config/rbac/role.yaml", "config/rbac/leader_election_role.yaml"} {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range docs(t, string(data)) {
			want = append(want, rulesOf(o)...)
		}
	}
	grants := func(rules []map[string]any, group, resource, verb string) bool {
		return slices.ContainsFunc(rules, func(r map[string]any) bool {
			return slices.Contains(stringsOf(r["apiGroups"]), group) &&
				slices.Contains(stringsOf(r["resources"]), resource) &&
				slices.Contains(stringsOf(r["verbs"]), verb)
		})
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			var cluster, own, watchedRules []map[string]any
			var boundIn []string
			watched := map[string][]map[string]any{}
			for _, o := range docs(t, s.render(t)) {
				switch name, ns := str(o, "metadata", "name"), str(o, "metadata", "namespace"); {
				case o["kind"] == "ClusterRole" && name == release+"-manager":
					cluster = rulesOf(o)
				case o["kind"] == "Role" && name == release+"-own-namespace":
					own = rulesOf(o)
				case o["kind"] == "ClusterRole" && name == release+"-watched":
					watchedRules = rulesOf(o)
				case o["kind"] == "RoleBinding" && str(o, "roleRef", "name") == release+"-watched":
					boundIn = append(boundIn, ns)
				}
			}
			for _, ns := range boundIn {
				watched[ns] = watchedRules
			}
			for _, r := range want {
				for _, g := range stringsOf(r["apiGroups"]) {
					for _, res := range stringsOf(r["resources"]) {
						for _, v := range stringsOf(r["verbs"]) {
							if grants(cluster, g, res, v) || grants(own, g, res, v) {
								continue
							}
							everywhere := len(s.watched) > 0
							for _, ns := range s.watched {
								everywhere = everywhere && grants(watched[ns], g, res, v)
							}
							if !everywhere {
								t.Errorf("%s %s/%s is granted nowhere", v, g, res)
							}
						}
					}
				}
			}
		})
	}
}
