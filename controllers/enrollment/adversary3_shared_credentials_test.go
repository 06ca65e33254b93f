package enrollment_test

import (
	"testing"
	"time"

	"k8s.io/client-go/util/retry"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// Break (hot loop, and Disable's protection lost; the loop predates the
// change, ownwrites.go does not stop it): two enrollments read one
// credentials Secret (the same bot user name and password in two pools),
// one with deletionPolicy Retain, one with Disable. Every reconcile of the
// Retain one removes FinalizerProtect from the credentials (protectCredentials
// with protect=false, ignoring credentialsStillNeeded, which only finalize
// consulted), every reconcile of the Disable one added it back; each write
// woke the other enrollment (its echo is suppressed only for the writer).
// Fixed: protection holds while any sharer is Disable (run.protectCredentials).
func TestAdversary3SharedCredentialsDifferentPoliciesNoHotLoop(t *testing.T) {
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

// The other half: when the last Disable enrollment sharing the credentials
// is gone, the Retain one lets them go (it is woken by that deletion; its
// own reconcile may have re-added the protection while the Disable one was
// still being deleted), so that a namespace deletion is not held up.
func TestAdversary3SharedCredentialsReleasedWhenLastDisableGone(t *testing.T) {
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
