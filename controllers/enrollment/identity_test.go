package enrollment_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/totp"
)

// One identity per enrollment: once a seed is proven for a user of a pool,
// the enrollment never stores another user's seed over it, whatever changes
// in the spec or the credentials: a change of identity is
// Stalled/IdentityChanged, and the first user's seed stays.

// Pointing an enrollment at another user never overwrites the first user's
// only seed: Stalled/IdentityChanged, the other user untouched.
func TestChangedUsernameNeverOverwritesFirstUsersSeed(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.enrollment("who")
	w.waitReady("who")
	seed := string(w.getSecret("who-totp").Data[v1alpha1.KeySecret])
	fake.CreateUser(w.poolID, cognitofake.User{Username: w.username + "-b", Password: w.password})
	creds := w.getSecret("creds")
	creds.Data["username"] = []byte(w.username + "-b")
	must(t, k8s.Update(ctx(), creds))
	w.update("who", func(ste *v1alpha1.SoftwareTokenEnrollment) { ste.Spec.FriendlyDeviceName = "edited" })
	ste := w.waitStalled("who", v1alpha1.ReasonIdentityChanged)
	if msg := conditionOf(ste, v1alpha1.ConditionStalled).Message; !strings.Contains(msg, "deletionPolicy Retain") {
		t.Fatalf("the message does not say what to do: %s", msg)
	}
	if got := string(w.getSecret("who-totp").Data[v1alpha1.KeySecret]); got != seed {
		t.Fatal("the first user's seed was overwritten")
	}
	if u := fake.User(w.poolID, w.username+"-b"); u.TOTPSecret != "" || u.PendingSecret != "" {
		t.Fatal("the second user was enrolled")
	}
	if err := w.signInWithMFA(seed, 0); err != nil {
		t.Fatalf("the first user's seed stopped working: %v", err)
	}
}

// A new pool id is another identity, refused with no call.
func TestChangedPoolIsIdentityChangedWithoutCognito(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.enrollment("pool")
	w.waitReady("pool")
	before := fake.CallCounts()
	w.update("pool", func(ste *v1alpha1.SoftwareTokenEnrollment) { ste.Spec.UserPoolID = "us-east-1_Elsewhere" })
	w.waitStalled("pool", v1alpha1.ReasonIdentityChanged)
	expectCalls(t, callsSince(before), map[string]int{})
}

// The enrollment's clientID is changed to an app client of another pool
// (spec.userPoolID unchanged), in which a user of the same name and password
// exists with no MFA yet and MFA is required. The sign-in answers
// MFA_SETUP, which names the user but not the pool, so the user name alone
// proves nothing: the first pool's user's seed is never overwritten, and the
// recorded sub never silently changes.
func TestClientOfAnotherPoolNeverOverwritesSeed(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.enrollment("cross")
	w.waitReady("cross")
	seed := string(w.getSecret("cross-totp").Data[v1alpha1.KeySecret])
	subBefore := recordOf(w.getSecret("cross-totp")).Identity.Sub

	other := w.poolID + "Other"
	fake.CreatePool(other, cognitofake.MFAOn, true)
	fake.CreateClient(cognitofake.AppClient{ID: w.clientID + "other", PoolID: other})
	fake.CreateUser(other, cognitofake.User{Username: w.username, Password: w.password})
	stopInvariants := watchInvariants(w.target("cross"))
	w.update("cross", func(ste *v1alpha1.SoftwareTokenEnrollment) { ste.Spec.ClientID = w.clientID + "other" })

	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) && string(w.getSecret("cross-totp").Data[v1alpha1.KeySecret]) == seed {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second)
	violations := stopInvariants()
	ste := w.get("cross")
	s := w.getSecret("cross-totp")
	t.Logf("conditions: %+v", ste.Status.Conditions)
	t.Logf("record: pool %s user %s sub %s (was %s)", recordOf(s).Identity.Pool,
		recordOf(s).Identity.User, recordOf(s).Identity.Sub, subBefore)
	if got := string(s.Data[v1alpha1.KeySecret]); got != seed && fake.User(w.poolID, w.username).TOTPSecret == seed {
		t.Errorf("the first pool's user still holds the seed %s, but it was overwritten in the Secret by the other pool's user's seed (Ready=%v)",
			totp.Fingerprint(seed), isReady(ste))
		if err := w.signInWithMFA(seed, 0); err == nil {
			t.Log("(the first pool's user is still challenged for the now-deleted seed)")
		}
	}
	for _, v := range violations {
		t.Errorf("invariant broken while polling: %s", v)
	}
}

// The credentials are switched to another user while a newly verified seed
// waits for its code's step to pass (the one-time-code hold): the held seed
// is proven again for the new inputs, Cognito shows another user, and the
// enrollment is Stalled/IdentityChanged, never Ready for user B with user
// A's seed.
func TestCredentialsSwitchedDuringHoldAreNoticed(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	userB := w.username + "-b"
	fake.CreateUser(w.poolID, cognitofake.User{Username: userB, Password: w.password})
	fake.SetVerifiedToken(w.poolID, userB, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
	// Start late in a TOTP step, so that the verification's code step is
	// still current and the seed is held.
	waitLateInStep(2500*time.Millisecond, 2900*time.Millisecond)
	w.enrollment("hold")
	if held, _ := w.waitHeld("hold-totp", 10*time.Second, ""); held == "" {
		t.Fatal("the verified seed was not held (the reconcile took longer than the step's last 2.5 s)")
	}
	creds := w.getSecret("creds")
	creds.Data["username"] = []byte(userB)
	must(t, k8s.Update(ctx(), creds))
	// The held seed is proven again for the new inputs: Cognito shows
	// another user, so nothing is promoted for them.
	w.waitStalled("hold", v1alpha1.ReasonIdentityChanged)
	before := fake.CallCounts()
	time.Sleep(2 * time.Second)
	ste := w.get("hold")
	s := w.getSecret("hold-totp")
	t.Logf("record: user %s sign-in-name %s; status.user %s; calls since Ready %v", recordOf(s).Identity.User,
		recordOf(s).Identity.SignInName, ste.Status.User, callsSince(before))
	if isReady(ste) && string(s.Data[v1alpha1.KeySecret]) != fake.User(w.poolID, userB).TOTPSecret {
		consumer := fmt.Sprint(w.signInAs(userB, string(s.Data[v1alpha1.KeySecret])))
		t.Errorf("Ready=True for credentials of %s with a seed that is not that user's token (consumer: %s)", userB, consumer)
	}
}

func (w *world) signInAs(username, secret string) error {
	saved := w.username
	w.username = username
	defer func() { w.username = saved }()
	return w.signInWithMFA(secret, 0)
}

// The Secret's record has lost its user (removed by hand, or the Secret
// predates identity records) and the credentials now name another user who
// has no MFA: proving nothing and seeing no token is no licence to enroll
// the new user over the first user's seed.
func TestStrippedIdentityNeverOverwritesFirstUsersSeed(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.enrollment("strip")
	w.waitReady("strip")
	seed := string(w.getSecret("strip-totp").Data[v1alpha1.KeySecret])
	userB := w.username + "-b"
	fake.CreateUser(w.poolID, cognitofake.User{Username: userB, Password: w.password})
	s := w.getSecret("strip-totp")
	rec := recordOf(s)
	rec.Identity.User = ""
	setRecord(s, rec)
	must(t, k8s.Update(ctx(), s))
	creds := w.getSecret("creds")
	creds.Data["username"] = []byte(userB)
	must(t, k8s.Update(ctx(), creds))
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) && string(w.getSecret("strip-totp").Data[v1alpha1.KeySecret]) == seed {
		time.Sleep(50 * time.Millisecond)
	}
	ste := w.get("strip")
	t.Logf("conditions: %+v", ste.Status.Conditions)
	if string(w.getSecret("strip-totp").Data[v1alpha1.KeySecret]) != seed && fake.User(w.poolID, w.username).TOTPSecret == seed {
		t.Errorf("the first user's only seed was overwritten by %s's (first user still enrolled with it)", userB)
	}
}
