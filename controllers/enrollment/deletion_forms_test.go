package enrollment_test

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// Every form of deletion (background, foreground, orphan) leaves the user
// either with MFA off or with a stored seed that answers: the seed Secret
// carries no ownerReference for the garbage collector to follow.
func TestEveryPropagationPolicyKeepsTheSeed(t *testing.T) {
	for _, policy := range []metav1.DeletionPropagation{metav1.DeletePropagationBackground, metav1.DeletePropagationForeground,
		metav1.DeletePropagationOrphan} {
		for _, dp := range []v1alpha1.DeletionPolicy{v1alpha1.DeletionPolicyRetain, v1alpha1.DeletionPolicyDisable} {
			t.Run(string(policy)+"/"+string(dp), func(t *testing.T) {
				w := newWorld(t, cognitofake.MFAOptional)
				w.credentials()
				w.enrollment("bot", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) { s.DeletionPolicy = dp })
				w.waitReady("bot")
				w.deleteWith("bot", policy)
				w.waitGone("bot")
				w.expectSafe(string(policy))
				if dp == v1alpha1.DeletionPolicyDisable && w.challenged() {
					t.Error("Disable left the user challenged for a software token")
				}
				if dp == v1alpha1.DeletionPolicyRetain {
					s := w.getSecret("bot-totp")
					if len(s.OwnerReferences) != 0 || recordOf(s).RetainedFrom != w.ns+"/bot" {
						t.Errorf("the retained Secret is not released: owners %v, record %s", s.OwnerReferences, recordOf(s).Encode())
					}
				}
			})
		}
	}
}

// With Disable and Cognito down, foreground deletion still keeps the seed
// (after the deletion timeout, as Retain does).
func TestForegroundDeletionWithCognitoDownKeepsTheSeed(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.enrollment("down", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) { s.DeletionPolicy = v1alpha1.DeletionPolicyDisable })
	w.waitReady("down")
	w.cognitoDown()
	w.deleteWith("down", metav1.DeletePropagationForeground)
	w.waitGone("down")
	fake.ResetFaults(w.username)
	w.expectSafe("foreground deletion with Cognito down")
}

// An enrollment orphaned, then re-created (a GitOps tool re-syncing), takes
// its Secret back: ownership is the record and the UID label, not an
// ownerReference the garbage collector strips.
func TestOrphanDeletionThenRecreateAdoptsTheSecret(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOn)
	w.credentials()
	w.enrollment("again")
	w.waitReady("again")
	seed := string(w.getSecret("again-totp").Data[v1alpha1.KeySecret])
	w.deleteWith("again", metav1.DeletePropagationOrphan)
	w.waitGone("again")
	before := fake.CallCounts()
	w.enrollment("again")
	w.waitReady("again")
	if got := callsSince(before)["AssociateSoftwareToken"]; got != 0 {
		t.Fatalf("%d associations on re-create", got)
	}
	if got := string(w.getSecret("again-totp").Data[v1alpha1.KeySecret]); got != seed {
		t.Fatal("the seed changed on re-create")
	}
}

// A namespace deletion takes the Secrets with it: a seed the user may still
// be asked for is kept in the seed store first, whatever the policy and
// whether Cognito answers.
func TestNamespaceDeletionKeepsSeedsInTheStore(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy v1alpha1.DeletionPolicy
		down   bool
		state  string
		mfaOn  bool
	}{
		{"Retain", v1alpha1.DeletionPolicyRetain, false, "Retained", true},
		{"Disable", v1alpha1.DeletionPolicyDisable, false, "Dormant", false},
		{"Disable with Cognito down", v1alpha1.DeletionPolicyDisable, true, "Retained", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, cognitofake.MFAOptional)
			w.credentials()
			w.enrollment("bot", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) { s.DeletionPolicy = tc.policy })
			w.waitReady("bot")
			seed := string(w.getSecret("bot-totp").Data[v1alpha1.KeySecret])
			if tc.down {
				w.cognitoDown()
			}
			w.deleteNamespace(30 * time.Second)
			fake.ResetFaults(w.username)
			s := w.stored("bot")
			if s == nil || string(s.Data[v1alpha1.KeySecret]) != seed || s.Labels[v1alpha1.LabelSeedState] != tc.state {
				t.Fatalf("the seed store does not keep the seed as %s: %v", tc.state, s)
			}
			if on := w.challenged(); on != tc.mfaOn {
				t.Fatalf("challenged for a software token: %v, want %v", on, tc.mfaOn)
			}
			w.expectSafe("namespace deleted")
		})
	}
}

// A live enrollment whose Secret is deleted gets its seed back from the
// store, proven, with no new association.
func TestDeletedSecretComesBackFromTheStore(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOn)
	w.credentials()
	w.enrollment("bot")
	w.waitReady("bot")
	seed := string(w.getSecret("bot-totp").Data[v1alpha1.KeySecret])
	before := fake.CallCounts()
	old := w.getSecret("bot-totp")
	must(t, k8s.Delete(ctx(), old))
	w.eventually("the seed to come back, proven", func() bool {
		s, err := w.trySecret("bot-totp")
		return err == nil && s.UID != old.UID && string(s.Data[v1alpha1.KeySecret]) == seed && recordOf(s).RestoredFrom == "" &&
			s.Labels[v1alpha1.LabelEnrollmentUID] == string(w.get("bot").UID) && isReady(w.get("bot"))
	})
	if got := callsSince(before)["AssociateSoftwareToken"]; got != 0 {
		t.Fatalf("%d associations to restore a seed", got)
	}
	if s := w.stored("bot"); s != nil {
		t.Fatalf("the stored copy %s outlived the restore", s.Name)
	}
	must(t, w.signInWithMFA(seed, 0))
}
