package enrollment_test

import (
	"testing"
	"time"

	"k8s.io/client-go/util/retry"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// deletionPolicy Disable needs the credentials to sign in and turn MFA off,
// so while an enrollment with Disable reads a credentials Secret, that
// Secret carries the FinalizerProtect finalizer: a namespace deletion cannot
// take the password away first.

// The credentials are protected as soon as the enrollment is Ready, without
// waiting for a resync. The enrollment is created late in a TOTP step so
// that the code its verification spends is one a consumer may still use:
// the one-time-code hold and its promotion always follow, and the
// protection must not depend on a later reconcile (an enrollment made
// mid-step spends the previous step's code and is promoted at once).
func TestDisableProtectsCredentialsOnceReady(t *testing.T) {
	w := readyDisableLateInStep(t, "prot")
	deadline := time.Now().Add(5 * time.Second)
	for !contains(w.getSecret("creds").Finalizers, v1alpha1.FinalizerProtect) {
		if time.Now().After(deadline) {
			t.Fatalf("5 s after Ready the credentials Secret still has no %s finalizer (finalizers %v): "+
				"a namespace deletion now removes the password Disable needs", v1alpha1.FinalizerProtect, w.getSecret("creds").Finalizers)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// What a namespace deletion does (envtest has no namespace controller, so
// the two deletions are made by hand, credentials first): the protected
// credentials' deletion waits, the enrollment's finalizer signs in with them
// and turns MFA off. Were they unprotected, Disable could not sign in, would
// fall back to Retain, and the retained Secret, the only copy of the seed,
// would be what the namespace deletion removes next.
func TestDisableTurnsMFAOffWhenCredentialsAreDeletedFirst(t *testing.T) {
	w := readyDisableLateInStep(t, "nsdel")
	time.Sleep(2 * time.Second) // anything due after Ready has happened
	must(t, k8s.Delete(ctx(), w.getSecret("creds")))
	w.deleteEnrollment("nsdel")
	w.waitGone("nsdel")
	u := fake.User(w.poolID, w.username)
	t.Logf("Cognito: TOTP enabled %v; events Disabled=%v DisableAbandoned=%v", u.TOTPEnabled, w.hasEvent("Disabled"), w.hasEvent("DisableAbandoned"))
	if u.TOTPEnabled || w.hasEvent("DisableAbandoned") {
		t.Errorf("deletionPolicy Disable did not turn MFA off: the credentials Secret was deleted first, unprotected")
	}
}

// Two enrollments read one credentials Secret (the same bot user name and
// password in two pools), one with deletionPolicy Retain, one with Disable:
// the protection holds while any sharer is Disable, and the two never fight
// over the finalizer (each write would wake the other, a hot loop).
func TestSharedCredentialsStayProtectedWithoutHotLoop(t *testing.T) {
	w := sharedCredentials(t)
	// A metadata-only edit of the credentials wakes both (as any edit would).
	must(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		creds := w.getSecret("creds")
		if creds.Labels == nil {
			creds.Labels = map[string]string{}
		}
		creds.Labels["team"] = "bots"
		return k8s.Update(ctx(), creds)
	}))
	time.Sleep(time.Second)
	before := fake.CallCounts()
	rvs := map[string]bool{}
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		rvs[w.getSecret("creds").ResourceVersion] = true
	}
	t.Logf("credentials Secret: %d resourceVersions seen in 3 s; Cognito calls meanwhile %v", len(rvs), callsSince(before))
	if len(rvs) > 3 {
		t.Errorf("the credentials Secret was rewritten %d times in 3 s with nothing changing: the two enrollments fight over its finalizer", len(rvs))
	}
	time.Sleep(500 * time.Millisecond)
	if !contains(w.getSecret("creds").Finalizers, v1alpha1.FinalizerProtect) {
		t.Errorf("enrollment off (Disable) reads the credentials Secret, but enrollment keep (Retain) removed its protection")
	}
}

// When the last Disable enrollment sharing the credentials is gone, the
// Retain one lets them go (it is woken by that deletion; its own reconcile
// may have re-added the protection while the Disable one was still being
// deleted), so that a namespace deletion is not held up.
func TestSharedCredentialsReleasedWhenLastDisableIsGone(t *testing.T) {
	w := sharedCredentials(t)
	for deadline := time.Now().Add(5 * time.Second); !contains(w.getSecret("creds").Finalizers, v1alpha1.FinalizerProtect); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the shared credentials were never protected for the Disable enrollment")
		}
	}
	w.deleteEnrollment("off")
	w.waitGone("off")
	for deadline := time.Now().Add(5 * time.Second); contains(w.getSecret("creds").Finalizers, v1alpha1.FinalizerProtect); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("5 s after the last Disable enrollment was gone the credentials keep %s (finalizers %v): a namespace deletion would wait for the resync",
				v1alpha1.FinalizerProtect, w.getSecret("creds").Finalizers)
		}
	}
}

// readyDisableLateInStep is a Ready enrollment with deletionPolicy Disable,
// created late in a TOTP step so that the one-time-code hold and its
// promotion follow its verification.
func readyDisableLateInStep(t *testing.T, name string) *world {
	t.Helper()
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	waitLateInStep(1200*time.Millisecond, 2700*time.Millisecond)
	w.enrollment(name, func(s *v1alpha1.SoftwareTokenEnrollmentSpec) { s.DeletionPolicy = v1alpha1.DeletionPolicyDisable })
	w.waitReady(name)
	return w
}

// sharedCredentials is one credentials Secret read by two Ready enrollments
// of the same user name in two pools: "keep" (Retain) and "off" (Disable).
func sharedCredentials(t *testing.T) *world {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	pool2, client2 := w.poolID+"b", w.clientID+"b"
	fake.CreatePool(pool2, cognitofake.MFAOptional, true)
	fake.CreateClient(cognitofake.AppClient{ID: client2, PoolID: pool2})
	fake.CreateUser(pool2, cognitofake.User{Username: w.username, Password: w.password})
	w.enrollment("keep")
	w.enrollment("off", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) {
		s.UserPoolID, s.ClientID, s.DeletionPolicy = pool2, client2, v1alpha1.DeletionPolicyDisable
	})
	w.waitReady("keep")
	w.waitReady("off")
	return w
}
