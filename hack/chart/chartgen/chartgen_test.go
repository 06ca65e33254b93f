package chartgen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyConfig copies the sources Files reads into a fresh root.
func copyConfig(t *testing.T) string {
	t.Helper()
	src, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	files, err := filepath.Glob(filepath.Join(src, crdDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, rel := range append(relAll(t, src, files), roleFile, leaderElectionRole, metricsReaderRole, alertsFile, dashboardFile) {
		data, err := os.ReadFile(filepath.Join(src, rel))
		if err != nil {
			t.Fatal(err)
		}
		write(t, dst, rel, string(data))
	}
	return dst
}

func relAll(t *testing.T, base string, paths []string) []string {
	t.Helper()
	var out []string
	for _, p := range paths {
		rel, err := filepath.Rel(base, p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rel)
	}
	return out
}

func write(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestScopes(t *testing.T) {
	root := copyConfig(t)
	files, err := Files(root)
	if err != nil {
		t.Fatal(err)
	}
	rbac := string(files[GeneratedDir+"/rbac.yaml"])
	for _, want := range []string{
		"- scope: watched\n  why: \"The Secrets",
		"- scope: watched\n  why: \"The operator's API",
		"- scope: release\n  why: \"The claims",
		"- scope: cluster\n  why: \"Namespace labels",
	} {
		if !strings.Contains(rbac, want) {
			t.Errorf("files/rbac.yaml lacks %q:\n%s", want, rbac)
		}
	}
	if strings.Contains(rbac, "scope: cluster\n  why: \"The Secrets") {
		t.Error("Secrets are cluster-scoped in files/rbac.yaml")
	}
}

// TestDiff: Diff notices every way the chart's copies can go stale, and Write
// brings them up to date.
func TestDiff(t *testing.T) {
	root := copyConfig(t)
	chart := filepath.Join(t.TempDir(), "chart")
	if err := Write(root, chart); err != nil {
		t.Fatal(err)
	}
	expectDiff := func(want ...string) {
		t.Helper()
		diffs, err := Diff(root, chart)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(diffs, "\n") != strings.Join(want, "\n") {
			t.Fatalf("Diff: %q, want %q", diffs, want)
		}
	}
	expectDiff()

	role, err := os.ReadFile(filepath.Join(root, roleFile))
	if err != nil {
		t.Fatal(err)
	}
	write(t, root, roleFile, strings.Replace(string(role), "  - watch\n", "  - watch\n  - deletecollection\n", 1))
	expectDiff("files/rbac.yaml: differs from its source")

	alerts, _ := os.ReadFile(filepath.Join(root, alertsFile))
	write(t, root, alertsFile, strings.Replace(string(alerts), "for: 15m", "for: 20m", 1))
	write(t, root, dashboardFile, "{}\n")
	expectDiff("files/alerts.yaml: differs from its source", "files/dashboard.json: differs from its source",
		"files/rbac.yaml: differs from its source")

	if err := Write(root, chart); err != nil {
		t.Fatal(err)
	}
	expectDiff()

	// A CRD that config/ no longer has, and one the chart lacks.
	write(t, chart, "files/crds/old.yaml", "x")
	crds, _ := filepath.Glob(filepath.Join(root, crdDir, "*.yaml"))
	data, _ := os.ReadFile(crds[0])
	write(t, root, crdDir+"/zz_copy.yaml", string(data))
	expectDiff("files/crds/old.yaml: no longer generated", "files/crds/zz_copy.yaml: missing")
}

func TestUnknownResource(t *testing.T) {
	root := copyConfig(t)
	role, _ := os.ReadFile(filepath.Join(root, roleFile))
	write(t, root, roleFile, string(role)+"- apiGroups: [example.com]\n  resources: [widgets]\n  verbs: [get]\n")
	if _, err := Files(root); err == nil || !strings.Contains(err.Error(), "builtinScopes") {
		t.Fatalf("Files with an unknown resource: %v", err)
	}
	write(t, root, roleFile, string(role)+"- apiGroups: [\"\"]\n  resources: [configmaps]\n  verbs: [get]\n")
	if _, err := Files(root); err == nil || !strings.Contains(err.Error(), "Reasons") {
		t.Fatalf("Files with a resource without a reason: %v", err)
	}
}
