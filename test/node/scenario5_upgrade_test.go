package node

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
)

// TestUpgrade is scenario 5, with enrollments in place throughout:
//   - the previous chart version (the last committed Chart.yaml with another
//     version, from git) is installed, and the README's helm upgrade moves
//     it to this chart with a changed value (--log-level): the pod rolls, no
//     seed changes, nothing is associated;
//   - the README's helm uninstall leaves the CRDs, the enrollments and their
//     Secrets, as the README says;
//   - the README's install takes them over again with no association.
//
// The image is this checkout's in every step: the chart is what changes.
func TestUpgrade(t *testing.T) {
	needNode(t)
	s := newScenario(t)
	prevDir, prevVersion := previousChart(t)
	r := newRelease(t, releaseName)
	plain := readmeCommand(t, "the plain helm install", plainInstall)
	old := slices.Clone(plain)
	old[3] = prevDir
	// The previous chart may lack apiServer: the same address through extraEnv.
	s.install(old, r, nil, "--set", "extraEnv[0].name=KUBERNETES_SERVICE_HOST", "--set", "extraEnv[0].value=127.0.0.1",
		"--set", "extraEnv[1].name=KUBERNETES_SERVICE_PORT", "--set-string", "extraEnv[1].value="+cl.apiPort)
	if got := chartLabel(t, r); got != "cognito-mfa-operator-"+prevVersion {
		t.Fatalf("the release runs chart %q, want the previous version %s", got, prevVersion)
	}

	const ns = "node-upgrade"
	s.namespace(ns)
	var es []enrollment
	for i := range 3 {
		es = append(es, enroll(t, ns, fmt.Sprintf("upgrade-bot-%d", i), v1alpha1.DeletionPolicyRetain))
	}
	waitReady(t, 2*time.Minute, es...)
	want, assoc := seeds(t, es), associations()
	generation := 0
	// unchanged checks, after the manager running now has reconciled every
	// enrollment (a spec edit that needs no Cognito call, observed by it),
	// that the seeds are the same and nothing was associated.
	unchanged := func(t *testing.T, step string) {
		t.Helper()
		generation++
		for _, e := range es {
			kubectl(t, "patch", "softwaretokenenrollment", "-n", ns, e.name, "--type=merge", "-p",
				fmt.Sprintf(`{"spec":{"secretTemplate":{"labels":{"node-test-step":"%d"}}}}`, generation))
		}
		for _, e := range es {
			eventually(t, 2*time.Minute, e.name+" observed and Ready after "+step, func() bool {
				out := kubectl(t, "get", "softwaretokenenrollment", "-n", ns, e.name, "-o",
					`jsonpath={.metadata.generation}/{.status.observedGeneration}/{.status.conditions[?(@.type=="Ready")].status}`)
				g, o, ok := strings.Cut(out, "/")
				return ok && strings.HasPrefix(o, g+"/") && strings.HasSuffix(o, "/True")
			})
			label := kubectl(t, "get", "secret", "-n", ns, e.secretName(), "-o", `jsonpath={.metadata.labels.node-test-step}`)
			if label != fmt.Sprint(generation) {
				t.Errorf("%s: the Secret's label is %q after %s: the spec edit was not applied", e.name, label, step)
			}
		}
		if got := seeds(t, es); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s changed a seed", step)
		}
		if n := associations() - assoc; n != 0 {
			t.Errorf("%s: %d associations", step, n)
		}
	}
	rolled := func(t *testing.T, step, before, arg string) {
		t.Helper()
		rollout(t, r.name)
		pod := readyPod(t, r.name)
		if pod.Name == before {
			t.Fatalf("%s did not roll the pod", step)
		}
		if !slices.Contains(pod.Spec.Containers[0].Args, arg) {
			t.Fatalf("%s: the new pod's args %q lack %s", step, pod.Spec.Containers[0].Args, arg)
		}
	}
	// The README's upgrade from the previous chart version, with a changed
	// value: the pod rolls, and the manager it starts changes nothing.
	before := readyPod(t, r.name).Name
	helm(t, readmeCommand(t, "helm upgrade", upgradeCmd), "--wait", "--timeout", "3m")
	rolled(t, "the upgrade from "+prevVersion, before, "--log-level=debug")
	if got, want := chartLabel(t, r), "cognito-mfa-operator-"+chartVersion(t, filepath.Join(root, chartPath)); got != want {
		t.Errorf("after the upgrade the release runs chart %q, want %s", got, want)
	}
	unchanged(t, "the upgrade from "+prevVersion)

	// The README's uninstall leaves the CRDs, the enrollments and their
	// Secrets; its install takes them over with no association.
	out := helm(t, readmeCommand(t, "helm uninstall", uninstallCmd), "--wait", "--timeout", "2m")
	if !strings.Contains(out, "kept due to the resource policy") {
		t.Errorf("helm uninstall kept nothing:\n%s", out)
	}
	for _, crd := range []string{"softwaretokenenrollments.mfa.cognito-operator.dev", "clusteruserpools.mfa.cognito-operator.dev"} {
		if !exists(t, "crd", crd) {
			t.Errorf("helm uninstall deleted CRD %s", crd)
		}
	}
	if exists(t, "deployment", "-n", releaseNS, r.name) {
		t.Error("the Deployment outlived helm uninstall")
	}
	for _, e := range es {
		if e.condition(t, v1alpha1.ConditionReady) != "True/"+v1alpha1.ReasonEnrolled {
			t.Errorf("%s is not Ready after the uninstall", e.name)
		}
	}
	if got := seeds(t, es); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Error("the uninstall changed a seed")
	}
	s.install(plain, r, nil)
	unchanged(t, "the re-install")
	for _, e := range es {
		e.proveMFA(t)
	}
}

func chartLabel(t *testing.T, r release) string {
	t.Helper()
	return kubectl(t, "get", "deployment", "-n", releaseNS, r.name, "-o", `jsonpath={.metadata.labels.helm\.sh/chart}`)
}

var chartVersionRE = regexp.MustCompile(`(?m)^version:\s*(\S+)\s*$`)

func chartVersion(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m := chartVersionRE.FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s/Chart.yaml has no version", dir)
	}
	return string(m[1])
}

// previousChart extracts from git the chart as of the last commit whose
// Chart.yaml has another version than the checkout's, and returns its
// directory and version.
func previousChart(t *testing.T) (string, string) {
	t.Helper()
	current := chartVersion(t, filepath.Join(root, chartPath))
	git := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = root
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("git %s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	for _, commit := range strings.Fields(string(git("log", "--format=%H", "--", chartPath+"/Chart.yaml"))) {
		m := chartVersionRE.FindSubmatch(git("show", commit+":"+chartPath+"/Chart.yaml"))
		if m == nil || string(m[1]) == current {
			continue
		}
		dir := filepath.Join(t.TempDir(), "previous")
		if err := untar(git("archive", "--format=tar", commit, chartPath), dir, chartPath); err != nil {
			t.Fatal(err)
		}
		t.Logf("previous chart: version %s, from commit %s", m[1], commit[:12])
		return dir, string(m[1])
	}
	t.Fatalf("git history has no chart version before %s (a shallow clone? the node suite needs the history)", current)
	return "", ""
}

// untar writes the files of a tar archive under prefix into dir.
func untar(archive []byte, dir, prefix string) error {
	tr := tar.NewReader(bytes.NewReader(archive))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		rel, ok := strings.CutPrefix(h.Name, prefix+"/")
		if !ok || h.Typeflag != tar.TypeReg {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if !strings.HasPrefix(p, dir+string(filepath.Separator)) {
			return fmt.Errorf("%s escapes the archive's directory", h.Name)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
}
