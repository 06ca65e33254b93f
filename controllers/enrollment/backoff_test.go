package enrollment_test

import (
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// README "Backoff holds": a failure that persists is retried with a
// growing delay (200 ms doubling to 2 s in the suite, ±20%), whatever wakes
// the enrollment meanwhile, and is reported by one Warning Event per reason,
// not one per attempt.

// A verification that keeps failing backs off instead of looping on the
// operator's own Secret writes: the first failure is retried after the
// backoff, and then the user's code budget holds every trigger (three codes
// not known accepted in 15 minutes; TestCodeBudgetBoundsWrongCodes): a
// couple of associations in 5 s, failedAttempts recorded, and one Warning
// Event.
func TestPersistentVerifyFailureBacksOffNoHotLoop(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.rejectEveryCode()
	before := fake.CallCounts()
	w.enrollment("skew")
	time.Sleep(5 * time.Second)
	got := callsSince(before)
	if got["AssociateSoftwareToken"] > 2 {
		t.Fatalf("%d associations in 5 s: no backoff, or codes past the budget (%v)", got["AssociateSoftwareToken"], got)
	}
	ste := w.get("skew")
	if ste.Status.FailedAttempts < 1 || ste.Status.NextAttemptTime == nil {
		t.Fatalf("the failure is not recorded: failedAttempts %d, nextAttemptTime %v", ste.Status.FailedAttempts, ste.Status.NextAttemptTime)
	}
	expectCondition(t, ste, v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.ReasonCodeBudget)
	if n := w.warnings("skew", v1alpha1.ReasonVerificationFailed); n != 1 {
		t.Fatalf("%d VerificationFailed events for one persistent failure", n)
	}
	w.expectSeedStored("skew-totp")
}

// A third party that keeps writing the enrollment's metadata (a label every
// 10 ms) wakes it on every write, and the backoff still holds.
func TestMetadataWriterCannotDefeatBackoff(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.rejectEveryCode()
	w.enrollment("busy")
	// Baseline: 5 s without a third-party writer.
	time.Sleep(time.Second)
	before := fake.CallCounts()
	time.Sleep(5 * time.Second)
	quiet := callsSince(before)["AssociateSoftwareToken"]
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			ste := &v1alpha1.SoftwareTokenEnrollment{}
			if k8s.Get(ctx(), keyOf(w.ns, "busy"), ste) != nil {
				continue
			}
			if ste.Labels == nil {
				ste.Labels = map[string]string{}
			}
			ste.Labels["touched"] = fmt.Sprint(i)
			_ = k8s.Update(ctx(), ste)
		}
	}()
	before = fake.CallCounts()
	time.Sleep(5 * time.Second)
	close(stop)
	<-done
	got := callsSince(before)
	ste := w.get("busy")
	t.Logf("associations in 5 s: %d without a writer, %d with one (calls %v); failedAttempts %d", quiet, got["AssociateSoftwareToken"], got, ste.Status.FailedAttempts)
	if got["AssociateSoftwareToken"] > 6 {
		t.Errorf("%d associations in 5 s with a 200 ms base delay and 2 s max (the suite's own bound without a metadata writer is 6; measured here without one: %d)",
			got["AssociateSoftwareToken"], quiet)
	}
}

// A rotation whose verification always fails backs off, and warns once for
// its reason: each attempt marks the enrollment Rotating before it
// associates, and that must not make the same failure new every time.
func TestFailingRotationBacksOffAndWarnsOnce(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.enrollment("bo")
	w.waitReady("bo")
	stopShape := watchShapes(w.ns)
	stopInvariants := watchInvariants(w.target("bo"))
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
	for _, v := range stopInvariants() {
		t.Errorf("invariant: %s", v)
	}
	for _, v := range stopShape() {
		t.Errorf("shape: %s", v)
	}
}
