package node

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
)

// nonRoot is the chart's runAsUser and runAsGroup, the image's USER.
const nonRoot = 65532

// TestInstall is scenario 1: the README's helm install with the default
// values and only what this node needs. The pod becomes Ready through its
// probes, runs as 65532 with no capabilities on a read-only root filesystem
// under the chart's ServiceAccount, and enrolls a user whose stored secret
// signs in with MFA.
func TestInstall(t *testing.T) {
	needNode(t)
	s := newScenario(t)
	r := newRelease(t, releaseName)
	s.install(readmeCommand(t, "the plain helm install", plainInstall), r, nil)

	pod := readyPod(t, r.name)
	c := pod.Spec.Containers[0]
	if c.ReadinessProbe == nil || c.LivenessProbe == nil || c.ReadinessProbe.HTTPGet == nil {
		t.Fatalf("the manager container has no HTTP probes: %+v %+v", c.ReadinessProbe, c.LivenessProbe)
	}
	// The kubelet made the pod Ready after its readiness probe answered; the
	// endpoint it probes is the manager's, on the node's loopback.
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", r.probes))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz answered %s", resp.Status)
	}
	if pod.Spec.ServiceAccountName != r.name || !pod.Spec.HostNetwork {
		t.Fatalf("pod %s: ServiceAccount %q, hostNetwork %v", pod.Name, pod.Spec.ServiceAccountName, pod.Spec.HostNetwork)
	}
	conf, pid := confinement(t, pod)
	for _, p := range conf.Problems(nonRoot, nonRoot, true) {
		t.Errorf("the manager (pid %d): %s", pid, p)
	}
	t.Logf("pod %s Ready; its manager (pid %d): %s", pod.Name, pid, conf)

	s.namespace("node-install")
	e := enroll(t, "node-install", "install-bot", v1alpha1.DeletionPolicyRetain)
	waitReady(t, 2*time.Minute, e)
	e.proveMFA(t)
	if got := e.condition(t, v1alpha1.ConditionReady); got != "True/"+v1alpha1.ReasonEnrolled {
		t.Fatalf("Ready is %s", got)
	}
}
