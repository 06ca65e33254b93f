package node

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	// The release and namespace the README's commands name.
	releaseName = "cognito-mfa-operator"
	releaseNS   = "cognito-mfa-operator-system"
	chartPath   = "charts/cognito-mfa-operator"
)

func helmPath() string { return filepath.Join(root, "bin", "helm") }

// helm runs a command as the README writes it ("helm" first, paths relative
// to the checkout) with extra flags after it, against the node, and returns
// its output. Its cache and config stay in the run directory.
func helm(t *testing.T, words []string, extra ...string) string {
	t.Helper()
	out, err := runHelm(append(slices.Clone(words[1:]), extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func runHelm(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, helmPath(), append(args, "--kubeconfig", cl.cp.Kubeconfig)...)
	cmd.Dir = root
	home := filepath.Join(runDir, "helm")
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home+"/cache", "HELM_CONFIG_HOME="+home+"/config", "HELM_DATA_HOME="+home+"/data")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// release is a release of the chart on the node and the host ports its
// manager listens on (hostNetwork: the node's ports).
type release struct {
	name            string
	metrics, probes int
}

// nodeFlags are what a README helm command gets on this node, after its own
// words (a later --set wins):
//   - the README hostNetwork install's values (hostNetwork, apiServer), with
//     the API server's real port: pods here cannot reach the kubernetes
//     Service, the API server listening on the node's loopback only;
//   - image.pullPolicy=Never: the image was built here and imported, and
//     there is no registry;
//   - free host ports for the metrics and the probes (hostNetwork: 8080 and
//     8081 may be taken on a developer's machine);
//   - extraArgs: cognito-local's endpoint (--cognito-endpoint) and a region
//     for its pool ids, plus the scenario's own flags.
func nodeFlags(t *testing.T, r release, extraArgs ...string) []string {
	t.Helper()
	args, err := json.Marshal(append([]string{"--cognito-endpoint=" + cognito.URL, "--region=us-east-1"}, extraArgs...))
	if err != nil {
		t.Fatal(err)
	}
	return append(hostNetworkFlags(t),
		"--set", "apiServer.port="+cl.apiPort,
		"--set", "image.pullPolicy=Never",
		"--set", fmt.Sprintf("ports.metrics=%d", r.metrics), "--set", fmt.Sprintf("ports.probes=%d", r.probes),
		"--set-json", "extraArgs="+string(args))
}

// newRelease picks free host ports for a release's manager.
func newRelease(t *testing.T, name string) release {
	t.Helper()
	ports, err := freePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	return release{name: name, metrics: ports[0], probes: ports[1]}
}

// rollout waits until the release's Deployment has rolled out: helm --wait
// does not, with maxUnavailable 1 and one replica.
func rollout(t *testing.T, name string) {
	t.Helper()
	kubectl(t, "rollout", "status", "-n", releaseNS, "deployment/"+name, "--timeout=3m")
	eventually(t, time.Minute, "the old pods of "+name+" gone", func() bool {
		return len(managerPods(t, name)) == 1
	})
}
