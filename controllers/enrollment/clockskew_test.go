package enrollment_test

import (
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// Codes are computed on Cognito's clock, learnt from the Date of its
// answers: with Cognito two minutes off the manager (four TOTP steps, where
// Cognito accepts one either way), an enrollment enrolls, rotates and stays
// Ready, and no code is read as a seed that is not the user's (no
// VerificationFailed, no AlreadyEnrolled).
func TestCodesFollowCognitosClock(t *testing.T) {
	for _, skew := range []time.Duration{2 * time.Minute, -2 * time.Minute} {
		t.Run(fmt.Sprint(skew), func(t *testing.T) {
			fake.SetClock(func() time.Time { return time.Now().Add(skew) })
			defer fake.SetClock(time.Now)
			w := newWorld(t, cognitofake.MFAOn)
			w.credentials()
			w.enrollment("bot")
			ste := w.waitReady("bot")
			expectCondition(t, ste, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonEnrolled)
			seed := string(w.getSecret("bot-totp").Data[v1alpha1.KeySecret])
			if err := w.signInWithMFA(seed, skew); err != nil {
				t.Fatalf("a consumer on Cognito's time cannot sign in with the stored seed: %v", err)
			}
			w.requestRotation("bot", "skewed")
			w.waitRotateHandled("bot", "skewed")
			ste = w.waitReady("bot")
			expectCondition(t, ste, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonEnrolled)
			if got := string(w.getSecret("bot-totp").Data[v1alpha1.KeySecret]); got == seed {
				t.Fatal("the rotation kept the old seed")
			}
			for _, reason := range []string{v1alpha1.ReasonVerificationFailed, v1alpha1.ReasonAlreadyEnrolled} {
				if n := w.warnings("bot", reason); n != 0 {
					t.Errorf("%d %s Warnings under a clock skew", n, reason)
				}
			}
		})
	}
}

// Answers without a Date header (a proxy that drops it) leave Cognito's
// clock unknown: Stalled/ClockSkew, with nothing associated and no code
// sent; once the Date comes back, the recheck (every --retry-max-delay)
// enrolls. The pool is in a region of its own, whose clock no earlier test
// has taught the manager.
func TestNoDateHeaderStallsWithClockSkew(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOn)
	w.poolID = fmt.Sprintf("ap-south-2_NoDate%d", seq)
	fake.CreatePool(w.poolID, cognitofake.MFAOn, true)
	fake.CreateClient(cognitofake.AppClient{ID: w.clientID + "nodate", PoolID: w.poolID})
	w.clientID += "nodate"
	fake.CreateUser(w.poolID, cognitofake.User{Username: w.username, Password: w.password})
	fake.SetDateHeader(false)
	defer fake.SetDateHeader(true)
	w.credentials()
	before := fake.CallCounts()
	w.enrollment("nodate")
	w.waitStalled("nodate", v1alpha1.ReasonClockSkew)
	if n := callsSince(before)["AssociateSoftwareToken"] + callsSince(before)["VerifySoftwareToken"]; n != 0 {
		t.Fatalf("%d associations or codes sent with Cognito's clock unknown", n)
	}
	fake.SetDateHeader(true)
	w.waitReady("nodate")
}
