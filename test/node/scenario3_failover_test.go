package node

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
)

// leaseName is the manager's leader-election Lease (cmd/manager), in its
// own namespace whatever the release is called.
const leaseName = "cognito-mfa-operator.mfa.cognito-operator.dev"

// TestFailover is scenario 3: two managers with leader election on the one
// node, the leader's pod deleted mid-enrolment, another manager finishing
// with no association repeated.
//
// Two replicas of one release cannot run here: with hostNetwork every pod of
// the Deployment declares the same host ports, and the scheduler keeps the
// second Pending. The managers are two releases of the chart in the release
// namespace instead, each with its own ports (the second without the CRDs,
// which the first owns): the Lease is named by the manager, not the release,
// so they elect one leader between them, as two replicas would.
//
// Cognito calls are paced (--cognito-qps=4) so that the enrollments are
// still going when the leader dies: some done, some associated and not yet
// stored or promoted, some not started.
func TestFailover(t *testing.T) {
	needNode(t)
	s := newScenario(t)
	pace := []string{"--cognito-qps=4", "--cognito-burst=1"}
	releases := []release{newRelease(t, releaseName), newRelease(t, releaseName+"-standby")}
	plain := readmeCommand(t, "the plain helm install", plainInstall)
	s.install(plain, releases[0], pace)
	s.install(plain, releases[1], pace, "--set", "crds.install=false")
	var leader, standby release
	eventually(t, time.Minute, "one leader", func() bool {
		a, b := isLeader(t, releases[0]), isLeader(t, releases[1])
		leader, standby = releases[0], releases[1]
		if b {
			leader, standby = standby, leader
		}
		return a != b
	})
	holder := kubectl(t, "get", "lease", "-n", releaseNS, leaseName, "-o", "jsonpath={.spec.holderIdentity}")
	t.Logf("leader: release %s (Lease holder %s); standby: %s", leader.name, holder, standby.name)

	const ns, n = "node-failover", 6
	s.namespace(ns)
	before := associations()
	var es []enrollment
	for i := range n {
		es = append(es, enroll(t, ns, fmt.Sprintf("failover-bot-%d", i), v1alpha1.DeletionPolicyRetain))
	}
	eventually(t, 2*time.Minute, "the leader's first associations", func() bool { return associations()-before >= 2 })

	pod := readyPod(t, leader.name)
	_, pid := confinement(t, pod)
	kubectl(t, "delete", "pod", "-n", releaseNS, pod.Name, "--wait=false")
	killed := time.Now()
	// The dead leader's work: associations made, and seeds stored (verified
	// or staged) that the next leader proves rather than associates again.
	// An association whose seed was not stored yet was in flight at the kill.
	// A stopping leader hands the Lease back (it is "" then), so the counts
	// are taken until its process is gone, keeping the last ones read while
	// no other manager held the Lease: the new leader's work is never in them.
	associated, stored, counted := 0, 0, false
	eventually(t, time.Minute, "the leader's manager process gone", func() bool {
		gone := !alive(pid)
		a, st := associations()-before, storedSeeds(t, ns)
		if now := kubectl(t, "get", "lease", "-n", releaseNS, leaseName, "-o", "jsonpath={.spec.holderIdentity}"); now == holder || now == "" {
			associated, stored, counted = a, st, true
		}
		return gone
	})
	if !counted {
		t.Fatal("another manager held the Lease before the old leader's work could be counted")
	}
	inFlight := associated - stored
	t.Logf("leader's pod %s deleted; its manager died %s later with %d associations made, %d seeds stored, %d of %d enrollments Ready",
		pod.Name, time.Since(killed).Round(time.Millisecond), associated, stored, countReady(t, ns), n)
	if associated == 0 || stored == n {
		t.Fatalf("the leader did not die mid-enrolment: %d associations, %d of %d seeds stored", associated, stored, n)
	}

	waitReady(t, 4*time.Minute, es...)
	t.Logf("all %d Ready %s after the deletion", n, time.Since(killed).Round(time.Second))
	// Who finished: the standby, or the dead leader's replacement, which the
	// ReplicaSet starts at once and which competes for the Lease when it
	// expires (controller-runtime's 15 s, the standby's retries jittered
	// between 2 and 4.4 s): either is right, as with two replicas on two
	// nodes; never the dead one.
	now := kubectl(t, "get", "lease", "-n", releaseNS, leaseName, "-o", "jsonpath={.spec.holderIdentity}")
	if now == holder {
		t.Errorf("the Lease is still the dead leader's (%s)", holder)
	}
	switch {
	case isLeader(t, standby):
		t.Logf("the standby (%s) took over and finished (Lease holder %s)", standby.name, now)
	case isLeader(t, leader):
		t.Logf("the dead leader's replacement (%s) won the Lease and finished (Lease holder %s)", leader.name, now)
	default:
		t.Errorf("no manager leads after the failover (Lease holder %s)", now)
	}
	total := associations() - before
	t.Logf("associations: %d for %d enrollments (%d in flight at the kill)", total, n, inFlight)
	if total < n || total > n+inFlight {
		t.Errorf("%d associations for %d enrollments with %d in flight at the kill: want at most %d", total, n, inFlight, n+inFlight)
	}
	for _, e := range es {
		e.proveMFA(t)
	}
	rollout(t, leader.name) // the deleted pod was replaced
}

// isLeader reads the release's manager's metrics (on the node's loopback:
// hostNetwork) for controller-runtime's leader-election gauge.
func isLeader(t *testing.T, r release) bool {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", r.metrics))
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return false
	}
	return strings.Contains(string(b), fmt.Sprintf("leader_election_master_status{name=%q} 1", leaseName))
}

// countReady counts the Ready enrollments of a namespace.
func countReady(t *testing.T, ns string) int {
	t.Helper()
	out := kubectl(t, "get", "softwaretokenenrollments", "-n", ns, "-o",
		`jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{" "}{end}`)
	return strings.Count(out, string(corev1.ConditionTrue))
}
