package node

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
)

// TestHardened is scenario 2: the README's install with the hardened preset
// (values-hardened.yaml: --require-user-pool-ref, namespace mode for team-a
// and team-b, authenticated metrics, ServiceMonitor, alerts and dashboard),
// plus this node's flags and one replica (two cannot share the node's
// ports). The pod runs under the namespace-mode RBAC, enrolls through a
// ClusterUserPool in both watched namespaces, refuses an inline pool there,
// and ignores an enrollment in a namespace it does not watch.
func TestHardened(t *testing.T) {
	needNode(t)
	// The preset's ServiceMonitor and PrometheusRule need the Prometheus
	// Operator's CRDs: the stubs test/chart applies.
	kubectl(t, "apply", "-f", filepath.Join(root, "test/chart/testdata/monitoring-crds.yaml"))
	kubectl(t, "wait", "--for=condition=Established", "--timeout=60s",
		"crd/servicemonitors.monitoring.coreos.com", "crd/prometheusrules.monitoring.coreos.com")
	s := newScenario(t)
	// The preset's watched namespaces must exist before the install.
	s.namespace("team-a")
	s.namespace("team-b")
	r := newRelease(t, releaseName)
	s.install(readmeCommand(t, "the hardened helm install", hardenedInstall), r, nil, "--set", "replicas=1")
	apply(t, fmt.Sprintf(`apiVersion: mfa.cognito-operator.dev/v1alpha1
kind: ClusterUserPool
metadata: {name: node-hardened}
spec: {userPoolID: %s, region: us-east-1, clientID: %s}
`, pool.id, pool.client))
	// It waits for the enrollments naming it: after them.
	s.after(func() { kubectl(t, "delete", "clusteruserpool", "node-hardened", "--ignore-not-found", "--timeout=2m") })

	pod := readyPod(t, r.name)
	args := strings.Join(pod.Spec.Containers[0].Args, " ")
	for _, want := range []string{"--namespaces=team-a,team-b", "--require-user-pool-ref", "--metrics-secure", "--leader-elect"} {
		if !strings.Contains(args, want) {
			t.Errorf("the manager's args lack %s: %s", want, args)
		}
	}
	conf, pid := confinement(t, pod)
	for _, p := range conf.Problems(nonRoot, nonRoot, true) {
		t.Errorf("the manager (pid %d): %s", pid, p)
	}

	// What its ServiceAccount may do: Secrets only in the watched namespaces,
	// and in its own (the seed store).
	sa := fmt.Sprintf("system:serviceaccount:%s:%s", releaseNS, pod.Spec.ServiceAccountName)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"get", "secrets", "-n", "team-a"}, "yes"},
		{[]string{"update", "softwaretokenenrollments.mfa.cognito-operator.dev/status", "-n", "team-b"}, "yes"},
		{[]string{"get", "secrets", "-n", "team-c"}, "no"},
		{[]string{"create", "secrets", "-n", releaseNS}, "yes"},
		{[]string{"list", "secrets", "--all-namespaces"}, "no"},
		{[]string{"list", "softwaretokenenrollments.mfa.cognito-operator.dev", "--all-namespaces"}, "no"},
	} {
		out, _ := cl.cp.Kubectl(t.Context(), append([]string{"auth", "can-i", "--as", sa}, c.args...)...)
		if got := strings.TrimSpace(out); got != c.want {
			t.Errorf("kubectl auth can-i %s as the manager: %q, want %s", strings.Join(c.args, " "), got, c.want)
		}
	}

	kubectl(t, "wait", "clusteruserpool/node-hardened", "--for=condition=Ready", "--timeout=60s")

	s.namespace("team-c")
	watched := []enrollment{enrollSpec(t, "team-a", "hardened-bot-a", "userPoolRef: {name: node-hardened}"),
		enrollSpec(t, "team-b", "hardened-bot-b", "userPoolRef: {name: node-hardened}")}
	inline := enroll(t, "team-b", "hardened-inline", v1alpha1.DeletionPolicyRetain)
	ignored := enrollSpec(t, "team-c", "hardened-ignored", "userPoolRef: {name: node-hardened}")
	for _, e := range watched {
		waitReady(t, 2*time.Minute, e)
		e.proveMFA(t)
	}
	eventually(t, time.Minute, "the inline enrollment Stalled with UserPoolRefRequired", func() bool {
		return inline.condition(t, v1alpha1.ConditionStalled) == "True/"+v1alpha1.ReasonUserPoolRefRequired
	})

	// The enrollment in team-c was applied before the watched ones became
	// Ready: by now the manager would have picked it up had it watched team-c.
	out := kubectl(t, "get", "softwaretokenenrollment", "-n", "team-c", ignored.name, "-o", "jsonpath={.status}/{.metadata.finalizers}")
	if strings.Trim(out, "/") != "" {
		t.Errorf("the enrollment in the unwatched namespace team-c was touched: status and finalizers %q", out)
	}
	if exists(t, "secret", "-n", "team-c", ignored.secretName()) || ignored.mfaOn(t) || inline.mfaOn(t) {
		t.Error("a user of an ignored or stalled enrollment was enrolled")
	}

	// A watched namespace deleted: the namespace controller deletes the
	// RoleBinding that gives the manager its rights there with the rest; its
	// finalizer keeps it until the seed is in the store.
	seed := watched[0].seed(t)
	took, err := deleteNamespaces(2*time.Minute, "team-a")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("watched namespace team-a gone in %s", took.Round(10*time.Millisecond))
	if got := storedState(t, watched[0]); got != "Retained" {
		t.Errorf("%s: the store keeps its seed as %q, want Retained", watched[0].name, got)
	}
	expectSafe(t, watched[0], seed)
}
