package enrollment_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/localenv"
)

// The deletion policies: Retain keeps the seed, Disable turns MFA off before
// it deletes the seed, and a deletion always finishes, falling back to Retain
// whenever turning MFA off is not confirmed.

// Retain (the default): the user stays enrolled and the Secret stays, no
// longer owned, so garbage collection cannot take it.
func TestDeletionRetainKeepsSecretAndEnrollment(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.enrollment("keep")
	ste := w.waitReady("keep")
	if !strings.Contains(strings.Join(ste.Finalizers, ","), v1alpha1.FinalizerEnrollment) {
		t.Fatalf("no finalizer: %v", ste.Finalizers)
	}
	secret := string(w.getSecret("keep-totp").Data[v1alpha1.KeySecret])
	w.deleteEnrollment("keep")
	w.waitGone("keep")
	s := w.getSecret("keep-totp")
	if metav1.IsControlledBy(s, ste) || len(s.OwnerReferences) != 0 {
		t.Fatalf("the retained Secret is still owned: %+v", s.OwnerReferences)
	}
	if recordOf(s).RetainedFrom != w.ns+"/keep" || string(s.Data[v1alpha1.KeySecret]) != secret {
		t.Fatalf("retained Secret: %v", s.Annotations)
	}
	if u := fake.User(w.poolID, w.username); u.TOTPSecret != secret || !u.TOTPEnabled {
		t.Fatalf("the user's MFA changed: %+v", u)
	}
	if err := w.signInWithMFA(secret, 0); err != nil {
		t.Fatalf("the retained secret no longer signs in: %v", err)
	}
	if !w.hasEvent("Retained") {
		t.Fatal("no Retained event")
	}
}

// Disable turns MFA off for the user, then deletes the Secret.
func TestDeletionDisableTurnsMFAOff(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.enrollment("off", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) { s.DeletionPolicy = v1alpha1.DeletionPolicyDisable })
	w.waitReady("off")
	w.deleteEnrollment("off")
	w.waitGone("off")
	if err := k8s.Get(ctx(), client.ObjectKey{Namespace: w.ns, Name: "off-totp"}, &corev1.Secret{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the Secret is still there: %v", err)
	}
	if u := fake.User(w.poolID, w.username); u.TOTPEnabled || u.TOTPPreferred {
		t.Fatalf("MFA still on: %+v", u)
	}
	if !w.hasEvent("Disabled") {
		t.Fatal("no Disabled event")
	}
}

// Where the pool requires MFA, Cognito refuses to turn it off: the deletion
// stalls with a reason saying so, and switching to Retain lets it finish.
func TestDeletionDisableRejectedWherePoolRequiresMFA(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOn)
	w.credentials()
	w.enrollment("required", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) { s.DeletionPolicy = v1alpha1.DeletionPolicyDisable })
	w.waitReady("required")
	w.deleteEnrollment("required")
	ste := w.waitStalled("required", v1alpha1.ReasonDisableRejected)
	if msg := conditionOf(ste, v1alpha1.ConditionStalled).Message; !strings.Contains(msg, "deletionPolicy: Retain") {
		t.Fatalf("message does not say the way out: %q", msg)
	}
	w.update("required", func(ste *v1alpha1.SoftwareTokenEnrollment) { ste.Spec.DeletionPolicy = v1alpha1.DeletionPolicyRetain })
	w.waitGone("required")
	if s := w.getSecret("required-totp"); len(s.Data[v1alpha1.KeySecret]) == 0 {
		t.Fatal("the Secret was not kept")
	}
}

// A deletion never hangs on an unreachable Cognito: after --deletion-timeout
// (3 s here) Disable falls back to Retain and keeps the Secret.
func TestDeletionDisableFallsBackToRetainWhenCognitoIsDown(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.enrollment("down", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) { s.DeletionPolicy = v1alpha1.DeletionPolicyDisable })
	w.waitReady("down")
	w.cognitoDown()
	w.deleteEnrollment("down")
	deleted := w.get("down").DeletionTimestamp.Time // whole seconds
	w.waitCondition("down", v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.ReasonCognitoUnavailable)
	w.waitGone("down")
	if took := time.Since(deleted); took < 3*time.Second {
		t.Fatalf("gave up after %s, before the timeout", took)
	}
	if s := w.getSecret("down-totp"); len(s.Data[v1alpha1.KeySecret]) == 0 || len(s.OwnerReferences) != 0 {
		t.Fatal("the Secret was not kept and released")
	}
	if !w.hasEvent("DisableAbandoned") {
		t.Fatal("no DisableAbandoned event")
	}
}

// Disable finishes whatever the error: a terminal sign-in failure falls back
// to Retain at the deletion timeout (3 s here).
func TestDisableDeletionFinishesOnTerminalError(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.enrollment("gone", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) { s.DeletionPolicy = v1alpha1.DeletionPolicyDisable })
	w.waitReady("gone")
	if s := w.getSecret("creds"); !contains(s.Finalizers, v1alpha1.FinalizerProtect) {
		t.Fatal("the credentials Secret is not protected while Disable needs it")
	}
	fake.UpdateUser(w.poolID, w.username, func(u *cognitofake.User) { u.Password = "changed-elsewhere" })
	w.deleteEnrollment("gone")
	w.waitGone("gone")
	// Released: only the seed's own protection stays (if the Secret is
	// deleted later, its seed goes to the seed store first).
	if s := w.getSecret("gone-totp"); len(s.Data[v1alpha1.KeySecret]) == 0 || !slices.Equal(s.Finalizers, []string{v1alpha1.FinalizerSeed}) {
		t.Fatalf("the Secret was not kept and released: finalizers %v", s.Finalizers)
	}
	if s := w.getSecret("creds"); contains(s.Finalizers, v1alpha1.FinalizerProtect) {
		t.Fatal("the credentials Secret's protection was not released")
	}
}

// A deletion with Disable while Cognito hangs (8 s per reply) falls back to
// Retain at the deletion timeout (3 s), not at the end of the reconcile
// timeout (30 s in the suite): the finalizer's Cognito work is bounded by
// the deletion timeout.
func TestDisableDeletionWithHungCognitoEndsAtDeletionTimeout(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.enrollment("hang", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) { s.DeletionPolicy = v1alpha1.DeletionPolicyDisable })
	w.waitReady("hang")
	fake.SetLatency(8 * time.Second)
	defer fake.SetLatency(0)
	start := time.Now()
	w.deleteEnrollment("hang")
	for time.Since(start) < 90*time.Second {
		err := k8s.Get(ctx(), keyOf(w.ns, "hang"), &v1alpha1.SoftwareTokenEnrollment{})
		if err != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	took := time.Since(start).Round(100 * time.Millisecond)
	t.Logf("deletion took %s with a 3 s deletion timeout (reconcile timeout 30 s)", took)
	if took > 10*time.Second {
		t.Errorf("Disable fell back to Retain only after %s, not after the 3 s deletion timeout", took)
	}
}

// Disable under a clock skew between the manager and Cognito (here 2
// minutes) keeps the seed or turns MFA off, never neither: every code is
// refused with CodeMismatchException, which proves nothing about the seed,
// so it is no proof that the seed is not the user's token.
func TestDisableKeepsSeedUnderClockSkew(t *testing.T) {
	for _, mfa := range []string{cognitofake.MFAOptional, cognitofake.MFAOn} {
		t.Run(mfa, func(t *testing.T) {
			w := newWorld(t, mfa)
			w.credentials()
			w.enrollment("skew", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) { s.DeletionPolicy = v1alpha1.DeletionPolicyDisable })
			w.waitReady("skew")
			seed := string(w.getSecret("skew-totp").Data[v1alpha1.KeySecret])
			fake.SetClock(func() time.Time { return time.Now().Add(2 * time.Minute) })
			defer fake.SetClock(time.Now)
			w.deleteEnrollment("skew")
			w.waitGone("skew")
			fake.SetClock(time.Now)
			w.expectSeedKeptOrMFAOff("skew-totp", seed)
		})
	}
}

// Disable keeps the seed or turns MFA off while Cognito holds a pending
// association nobody verified (the user started setting up another
// authenticator app, or the operator's own AssociateSoftwareToken reply was
// lost just before the deletion). In access-token mode, ReplaceOnVerify,
// VerifySoftwareToken checks the stored seed against the pending
// association and rejects it, although the user's verified, enabled token
// is still the stored seed: that rejection is no proof that the seed is not
// the user's.
func TestDisableKeepsSeedWithAssociationPending(t *testing.T) {
	for _, how := range []string{"abandoned association elsewhere", "operator's association reply lost"} {
		t.Run(how, func(t *testing.T) {
			w := newWorld(t, cognitofake.MFAOptional)
			w.secret("token", map[string]string{"token": fake.IssueAccessToken(w.clientID, w.username)})
			w.enrollment("pend", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) {
				accessTokenSpec(w, s)
				s.DeletionPolicy = v1alpha1.DeletionPolicyDisable
			})
			w.waitReady("pend")
			seed := string(w.getSecret("pend-totp").Data[v1alpha1.KeySecret])
			if how == "abandoned association elsewhere" {
				_, err := localenv.SDK(fake.URL()).AssociateSoftwareToken(ctx(), &cip.AssociateSoftwareTokenInput{
					AccessToken: aws.String(fake.IssueAccessToken(w.clientID, w.username))})
				must(t, err)
				w.deleteEnrollment("pend")
			} else {
				associated := make(chan struct{}, 1)
				user := w.username
				fake.SetHook(func(op, u string, served bool) bool {
					if op == "AssociateSoftwareToken" && u == user && served {
						select {
						case associated <- struct{}{}:
						default:
						}
					}
					return false
				})
				defer fake.SetHook(nil)
				fake.InjectFault("AssociateSoftwareToken", cognitofake.Fault{User: w.username, Code: "InternalErrorException", Message: "connection reset", AfterServing: true})
				w.requestRotation("pend", "r1")
				<-associated
				w.deleteEnrollment("pend")
			}
			if err := w.signInWithMFA(seed, 0); err != nil {
				t.Fatalf("the stored seed should still be the user's token: %v", err)
			}
			w.waitGone("pend")
			w.expectSeedKeptOrMFAOff("pend-totp", seed)
		})
	}
}

// Delete with Retain, re-create the same enrollment (a GitOps prune and
// re-sync): the retained Secret is adopted once its seed is proven, with no
// new association.
func TestRetainThenRecreateAdoptsWithoutAssociation(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOn)
	w.credentials()
	w.enrollment("again")
	w.waitReady("again")
	seed := string(w.getSecret("again-totp").Data[v1alpha1.KeySecret])
	w.deleteEnrollment("again")
	w.waitGone("again")
	before := fake.CallCounts()
	w.enrollment("again")
	w.waitReady("again")
	if got := callsSince(before)["AssociateSoftwareToken"]; got != 0 {
		t.Fatalf("%d associations on re-create", got)
	}
	s := w.getSecret("again-totp")
	if string(s.Data[v1alpha1.KeySecret]) != seed || s.Labels[v1alpha1.LabelEnrollmentUID] != string(w.get("again").UID) ||
		len(s.OwnerReferences) != 0 || recordOf(s).RetainedFrom != "" {
		t.Fatal("the retained Secret was not adopted as it was")
	}
}
