package chart

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestHelmInstallUpgradeUninstall installs the chart with helm into the API
// server, upgrades it to a newer chart version, and uninstalls it: the
// upgrade must reach the CRDs (they are templates, not crds/), and the
// uninstall must leave them (helm.sh/resource-policy: keep).
func TestHelmInstallUpgradeUninstall(t *testing.T) {
	needHelm(t)
	cp := controlPlane(t)
	ctx := context.Background()
	const rel, ns = "helm-check", "helm-check-system"
	var crds []string
	for _, o := range docs(t, render(t, nil)) {
		if o["kind"] == "CustomResourceDefinition" {
			crds = append(crds, str(o, "metadata", "name"))
		}
	}
	// Other tests apply the CRDs without Helm: mark them as this release's,
	// the way Helm adopts existing objects (deleting them instead waits on the
	// API server's cleanup of their instances, slow on a loaded machine).
	for _, crd := range crds {
		if _, err := cp.Kubectl(ctx, "get", "crd", crd); err != nil {
			continue
		}
		if _, err := cp.Kubectl(ctx, "annotate", "--overwrite", "crd", crd,
			"meta.helm.sh/release-name="+rel, "meta.helm.sh/release-namespace="+ns); err != nil {
			t.Fatal(err)
		}
		if _, err := cp.Kubectl(ctx, "label", "--overwrite", "crd", crd, "app.kubernetes.io/managed-by=Helm"); err != nil {
			t.Fatal(err)
		}
	}
	helmk := func(args ...string) string {
		t.Helper()
		out, err := runTool(t, root, helm, append(args, "--kubeconfig", cp.Kubeconfig)...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	chartLabel := func(crd string) string {
		t.Helper()
		out, err := cp.Kubectl(ctx, "get", "crd", crd, "-o", `jsonpath={.metadata.labels.helm\.sh/chart}`)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out)
	}

	chartYAML, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	version := regexp.MustCompile(`(?m)^version: (.*)$`).FindSubmatch(chartYAML)
	if version == nil {
		t.Fatal("Chart.yaml has no version")
	}
	helmk("install", rel, chartDir, "--namespace", ns, "--create-namespace")
	for _, crd := range crds {
		if got := chartLabel(crd); got != "cognito-mfa-operator-"+string(version[1]) {
			t.Fatalf("after install, CRD %s is labelled %q", crd, got)
		}
	}

	// The next chart version: a copy with another version.
	next := filepath.Join(t.TempDir(), "cognito-mfa-operator")
	if err := os.CopyFS(next, os.DirFS(chartDir)); err != nil {
		t.Fatal(err)
	}
	bumped := regexp.MustCompile(`(?m)^version: .*$`).ReplaceAll(chartYAML, []byte("version: "+string(version[1])+"-upgrade"))
	if err := os.WriteFile(filepath.Join(next, "Chart.yaml"), bumped, 0o644); err != nil {
		t.Fatal(err)
	}
	helmk("upgrade", rel, next, "--namespace", ns)
	for _, crd := range crds {
		if got := chartLabel(crd); got != "cognito-mfa-operator-"+string(version[1])+"-upgrade" {
			t.Errorf("helm upgrade did not reach CRD %s: labelled %q", crd, got)
		}
	}

	out := helmk("uninstall", rel, "--namespace", ns)
	if !strings.Contains(out, "kept due to the resource policy") {
		t.Errorf("helm uninstall kept nothing:\n%s", out)
	}
	for _, crd := range crds {
		if _, err := cp.Kubectl(ctx, "get", "crd", crd); err != nil {
			t.Errorf("helm uninstall deleted CRD %s: %v", crd, err)
		}
	}
	if out, err := cp.Kubectl(ctx, "get", "deployment", "-n", ns, "-o", "name"); err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("the Deployment outlived helm uninstall: %q %v", out, err)
	}
}
