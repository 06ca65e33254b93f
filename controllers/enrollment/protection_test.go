package enrollment_test

import (
	"testing"
	"time"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// Break (settle.go / ownwrites.go): deletionPolicy Disable needs the
// credentials Secret protected (FinalizerProtect) so that a namespace
// deletion cannot take the password away before MFA is turned off. act adds
// it in its tail (after actWithCognito) and in repairMetadata (UpToDate),
// but not in the planPromoteVerified branch. Every new enrollment ends in
// PromoteVerified (the one-time-code hold), and the echo of promote's write,
// which used to bring the UpToDate reconcile that added the finalizer, is
// now suppressed; dueAfter re-decides UpToDate and asks for nothing. The
// credentials stay unprotected until something else wakes the enrollment
// (--resync-period, 30 min by default). The enrollment is created late in a
// TOTP step so that the code its verification spends is one a consumer may
// still use: the hold, then PromoteVerified, always follows (an enrollment
// made mid-step spends the previous step's code and is promoted at once,
// through act's tail, which protects the credentials).
func TestAdversary3DisableProtectsCredentialsOnceReady(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	waitLateInStep(1200*time.Millisecond, 2700*time.Millisecond)
	w.enrollment("prot", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) { s.DeletionPolicy = v1alpha1.DeletionPolicyDisable })
	w.waitReady("prot")
	deadline := time.Now().Add(5 * time.Second)
	for !contains(w.getSecret("creds").Finalizers, v1alpha1.FinalizerProtect) {
		if time.Now().After(deadline) {
			t.Fatalf("5 s after Ready the credentials Secret still has no %s finalizer (finalizers %v): "+
				"a namespace deletion now removes the password Disable needs", v1alpha1.FinalizerProtect, w.getSecret("creds").Finalizers)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The consequence: what a namespace deletion does (envtest has no namespace
// controller, so the two deletions are made by hand, credentials first).
// With the credentials protected, their deletion waits, the enrollment's
// finalizer signs in with them and turns MFA off. Unprotected, they are gone
// at once, Disable cannot sign in and falls back to Retain at the deletion
// timeout: MFA stays on, and the retained Secret, the only copy of the seed,
// is what the namespace deletion removes next.
func TestAdversary3DisableAfterCredentialsDeletedTurnsMFAOff(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	waitLateInStep(1200*time.Millisecond, 2700*time.Millisecond)
	w.enrollment("nsdel", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) { s.DeletionPolicy = v1alpha1.DeletionPolicyDisable })
	w.waitReady("nsdel")
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
