package enrollment_test

import (
	"testing"
	"time"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// A rotation whose verification always fails: only the operator's own
// writes (and stepEndingSoon pauses) trigger it. Each attempt's
// markRotating writes Reconciling=Rotating before the association, so
// report's failureReason(before) is "Rotating" and the same failure is
// "new" every time: one Warning Event per attempt.
func TestAdversary2RotationFailureWarnsOnEveryAttempt(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.enrollment("bo")
	w.waitReady("bo")
	stopShape := a2ShapeWatch(w.ns)
	m := zzWatch(w.zzTarget("bo"))
	w.rejectEveryCode()
	before := fake.CallCounts()
	waitLateInStep(500*time.Millisecond, 3500*time.Millisecond)
	w.update("bo", func(ste *v1alpha1.SoftwareTokenEnrollment) {
		ste.Annotations = map[string]string{v1alpha1.AnnotationRotate: "r1"}
	})
	time.Sleep(10 * time.Second)
	calls := callsSince(before)
	ste := w.get("bo")
	t.Logf("calls in 10 s: %v; failedAttempts %d; conditions %+v", calls, ste.Status.FailedAttempts, ste.Status.Conditions)
	// 200 ms doubling to 2 s, ±20%: at most ~9 attempts in 10 s.
	if calls["AssociateSoftwareToken"] > 10 {
		t.Errorf("%d associations in 10 s", calls["AssociateSoftwareToken"])
	}
	// README "Backoff holds": the Warning Event is emitted once per reason, not per attempt.
	if n := w.warnings("bo", v1alpha1.ReasonVerificationFailed); n > 1 {
		t.Errorf("%d Warning Events VerificationFailed for one persistent failure (failedAttempts %d): one per attempt, not per reason",
			n, ste.Status.FailedAttempts)
	}
	for _, v := range m.Stop() {
		t.Errorf("invariant: %s", v)
	}
	for _, v := range stopShape() {
		t.Errorf("shape: %s", v)
	}
}
