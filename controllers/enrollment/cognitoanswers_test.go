package enrollment_test

import (
	"testing"
	"time"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// A Lambda trigger's refusal is fixed in Cognito, not in the inputs: the
// enrollment stalls with its own reason, looks again every
// --retry-max-delay (2 s here) with one sign-in, and enrolls once the
// trigger lets it.
func TestLambdaRefusalStallsAndIsLookedAtAgain(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	fake.SetLambdaFault(cognitofake.LambdaFault{PoolID: w.poolID, User: w.username, Trigger: cognitofake.TriggerPreAuthentication,
		Code: cognitofake.LambdaRejected})
	t.Cleanup(fake.ClearLambdaFaults)
	w.enrollment("bot")
	w.waitStalled("bot", v1alpha1.ReasonLambdaRejected)
	before := fake.CallCounts()
	time.Sleep(5 * time.Second)
	if n := callsSince(before)["InitiateAuth"]; n < 1 || n > 3 {
		t.Fatalf("%d sign-ins in 5 s of a Lambda refusal; want one every 2 s", n)
	}
	fake.ClearLambdaFaults()
	w.waitReady("bot")
}

// In a pool that requires MFA with SMS MFA on, a user with a phone number
// is sent an SMS_MFA challenge, not MFA_SETUP, and every sign-in sends a
// text: the enrollment stalls after one, and is not woken into another.
func TestSMSFactorInARequiredPoolSendsOneText(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOn)
	fake.UpdatePool(w.poolID, func(p *cognitofake.Pool) { p.SMSMFA = true })
	fake.UpdateUser(w.poolID, w.username, func(u *cognitofake.User) { u.PhoneNumber = "+15555550100" })
	w.credentials()
	texts := fake.TextsSent()
	w.enrollment("bot")
	w.waitStalled("bot", v1alpha1.ChallengeReason("SMS_MFA"))
	for i := range 5 {
		w.update("bot", func(ste *v1alpha1.SoftwareTokenEnrollment) {
			if ste.Annotations == nil {
				ste.Annotations = map[string]string{}
			}
			ste.Annotations["touched"] = string(rune('a' + i))
		})
	}
	time.Sleep(3 * time.Second)
	if n := fake.TextsSent() - texts; n != 1 {
		t.Fatalf("%d texts sent to the user", n)
	}
}

// Pools in the China partition issue tokens from amazonaws.com.cn: the
// issuer names the pool all the same.
func TestChinaPartitionIssuerIsThePoolsOwn(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.poolID = "cn-north-1_" + w.poolID[len("us-east-1_"):]
	fake.CreatePool(w.poolID, cognitofake.MFAOptional, true)
	w.clientID += "cn"
	fake.CreateClient(cognitofake.AppClient{ID: w.clientID, PoolID: w.poolID})
	fake.CreateUser(w.poolID, cognitofake.User{Username: w.username, Password: w.password})
	w.credentials()
	w.enrollment("bot")
	w.expectEnrolled("bot", true)
}
