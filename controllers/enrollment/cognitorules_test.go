package enrollment_test

import (
	"strings"
	"testing"
	"time"

	pqtotp "github.com/pquerna/otp/totp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/localenv"
)

// Tests of real Cognito's rules (docs/cognito-fidelity.md), against the
// strict fake in the mode that models each (the one-time-code rule:
// onetime_test.go).

// Cognito may drop the old token at association (older reference text,
// amplify-js#1226): the rotation still ends with the new secret stored and
// working, and the enrollment said Rotating, not Ready, in between.
func TestRotationWhenCognitoReplacesAtAssociation(t *testing.T) {
	fake.SetReplaceMode(cognitofake.ReplaceImmediately)
	defer fake.SetReplaceMode(cognitofake.ReplaceOnVerify)
	for _, mfa := range []string{cognitofake.MFAOptional, cognitofake.MFAOn} {
		w := newWorld(t, mfa)
		w.credentials()
		w.enrollment("now")
		w.waitReady("now")
		old := string(w.getSecret("now-totp").Data[v1alpha1.KeySecret])
		fake.InjectFault("VerifySoftwareToken", cognitofake.Fault{User: w.username, Code: "InternalErrorException", Message: "down"})
		w.requestRotation("now", "r1")
		w.waitCondition("now", v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonCognitoUnavailable)
		w.expectSeedStored("now-totp")
		ste := w.waitCondition("now", v1alpha1.ConditionRotationFailed, metav1.ConditionFalse, v1alpha1.ReasonRotated)
		s := w.getSecret("now-totp")
		if !isReady(ste) || string(s.Data[v1alpha1.KeySecret]) == old || string(s.Data[v1alpha1.KeySecret]) != fake.User(w.poolID, w.username).TOTPSecret {
			t.Fatalf("%s: the rotation did not end with the new secret Ready", mfa)
		}
		if err := w.signInWithMFA(string(s.Data[v1alpha1.KeySecret]), 0); err != nil {
			t.Fatalf("%s: %v", mfa, err)
		}
	}
}

// VerifySoftwareToken may answer 200 with Status ERROR: retried, never read
// as a wrong seed, never a second association.
func TestVerifyStatusErrorIsRetriedWithoutReassociation(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	fake.InjectVerifyStatusError(w.username)
	before := fake.CallCounts()
	w.enrollment("status")
	w.waitCondition("status", v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.ReasonVerificationFailed)
	w.waitReady("status")
	if got := callsSince(before)["AssociateSoftwareToken"]; got != 1 {
		t.Fatalf("%d associations after one Status ERROR", got)
	}
}

// Sign-in by alias: the pool signs users in by e-mail, usernames are UUIDs;
// challenge answers carry the canonical username and SECRET_HASH is
// computed from it.
func TestSignInByAliasWithClientSecret(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOn)
	fake.UpdatePool(w.poolID, func(p *cognitofake.Pool) { p.UsernameAttributes = []string{"email"} })
	canonical := "0b6f3c1e-5d6a-4f1e-9c1a-" + w.ns[len(w.ns)-4:] + "00000000"
	fake.CreateUser(w.poolID, cognitofake.User{Username: canonical, Email: w.username + "@example.com", Password: w.password})
	clientID := w.clientID + "s"
	fake.CreateClient(cognitofake.AppClient{ID: clientID, PoolID: w.poolID, Secret: "client-secret-" + w.ns})
	w.secret("creds", map[string]string{"username": w.username + "@example.com", "password": w.password})
	w.secret("client", map[string]string{"clientSecret": "client-secret-" + w.ns})
	w.enrollment("alias", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) {
		s.ClientID = clientID
		s.ClientSecretRef = &v1alpha1.SecretKeySelector{Name: "client", Key: "clientSecret"}
	})
	ste := w.waitReady("alias")
	if ste.Status.User != canonical {
		t.Fatalf("status.user %q, want the canonical username", ste.Status.User)
	}
	secret := string(w.getSecret("alias-totp").Data[v1alpha1.KeySecret])
	code, err := pqtotp.GenerateCode(secret, time.Now())
	must(t, err)
	consumer := localenv.Consumer{API: localenv.SDK(fake.URL()), ClientID: clientID, ClientSecret: "client-secret-" + w.ns,
		Username: canonical, Password: w.password}
	if _, err := consumer.SignInWithMFA(ctx(), code); err != nil {
		t.Fatalf("the stored secret does not sign in: %v", err)
	}
}

// Real seeds are 52 base32 characters: stored, shown and proven as such.
func TestFiftyTwoCharacterSeeds(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.enrollment("long")
	w.waitReady("long")
	if n := len(w.getSecret("long-totp").Data[v1alpha1.KeySecret]); n != 52 {
		t.Fatalf("seed of %d characters; the fake issues AWS's 52", n)
	}
}

// Where MFA is required, Cognito may accept turning TOTP off and change
// nothing: deletionPolicy Disable confirms with a sign-in that the user is
// no longer challenged before it deletes the seed, and otherwise keeps it.
func TestDisableConfirmsMFAIsOffBeforeDeletingTheSeed(t *testing.T) {
	fake.SetIgnoreDisableWhereRequired(true)
	defer fake.SetIgnoreDisableWhereRequired(false)
	w := newWorld(t, cognitofake.MFAOn)
	w.credentials()
	w.enrollment("silent", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) { s.DeletionPolicy = v1alpha1.DeletionPolicyDisable })
	w.waitReady("silent")
	seed := string(w.getSecret("silent-totp").Data[v1alpha1.KeySecret])
	w.deleteEnrollment("silent")
	ste := w.waitStalled("silent", v1alpha1.ReasonDisableRejected)
	if msg := findCond(ste, v1alpha1.ConditionStalled).Message; !strings.Contains(msg, "still challenges") {
		t.Fatalf("the message does not say Cognito still challenges: %s", msg)
	}
	w.waitGone("silent") // the deletion timeout (3 s) falls back to Retain
	if s := w.getSecret("silent-totp"); string(s.Data[v1alpha1.KeySecret]) != seed {
		t.Fatal("the seed of a user still challenged for TOTP was deleted")
	}
}
