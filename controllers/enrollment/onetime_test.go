package enrollment_test

import (
	"testing"
	"time"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/totp"
)

// Promise 9. Retain, then re-create the enrollment (a GitOps prune and
// re-sync) late in a TOTP step. Adopt proves the retained seed by answering
// the sign-in challenge; within 3 s of the step's end QuietCodes sends the
// CURRENT step's code, and since the proven seed is the stored one
// (stepKeep) no hold follows: the enrollment turns Ready at once, and a
// consumer signing in with the current code is refused
// (ExpiredCodeException: the code was already used).
func TestAdversaryAdoptLateInStepSpendsConsumersCode(t *testing.T) {
	fake.SetOneTimeCodes(true)
	defer fake.SetOneTimeCodes(false)
	failures := 0
	for i := 0; i < 2; i++ {
		w := newWorld(t, cognitofake.MFAOn)
		w.credentials()
		w.enrollment("again")
		w.waitReady("again")
		w.deleteEnrollment("again")
		w.waitGone("again")
		for r := totp.Remaining(time.Now()); r > 2900*time.Millisecond || r < 2300*time.Millisecond; r = totp.Remaining(time.Now()) {
			time.Sleep(10 * time.Millisecond)
		}
		w.enrollment("again")
		var ste *v1alpha1.SoftwareTokenEnrollment
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(2 * time.Millisecond) {
			if ste = w.get("again"); isReady(ste) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("never Ready: %+v", ste.Status.Conditions)
			}
		}
		left := totp.Remaining(time.Now())
		if err := w.signInWithMFA(string(w.getSecret("again-totp").Data[v1alpha1.KeySecret]), 0); err != nil {
			failures++
			t.Errorf("a consumer signing in the instant the re-created enrollment turned Ready failed (%.1fs left in the step): %v", left.Seconds(), err)
		}
	}
	t.Logf("%d of 2 consumers refused", failures)
}
