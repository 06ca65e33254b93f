package enrollment_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/controllers/enrollment"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// Each test here reproduces a failure an independent review found in the
// previous reconciler, and is named for what it prevents.

// warnings counts the Warning Events with a reason for an enrollment.
func (w *world) warnings(name, reason string) int {
	var list corev1.EventList
	must(w.t, k8s.List(ctx(), &list, client.InNamespace(w.ns)))
	n := 0
	for _, e := range list.Items {
		if e.InvolvedObject.Name == name && e.Type == corev1.EventTypeWarning && e.Reason == reason {
			n++
		}
	}
	return n
}

// rejectEveryCode makes VerifySoftwareToken refuse the user's codes for the
// rest of the test, as a manager whose clock is wrong would see.
func (w *world) rejectEveryCode() {
	faults := make([]cognitofake.Fault, 1000)
	for i := range faults {
		faults[i] = cognitofake.Fault{User: w.username, Code: "EnableSoftwareTokenMFAException", Message: "Code mismatch"}
	}
	fake.InjectFault("VerifySoftwareToken", faults...)
	w.t.Cleanup(func() { fake.ResetFaults(w.username) })
}

// The user's verified seed at Cognito is stored in the enrollment's Secret.
func (w *world) expectSeedStored(secretName string) {
	w.t.Helper()
	u := fake.User(w.poolID, w.username)
	if u.TOTPSecret == "" {
		return
	}
	s := w.getSecret(secretName)
	if string(s.Data[v1alpha1.KeySecret]) != u.TOTPSecret && string(s.Data[v1alpha1.KeyPendingSecret]) != u.TOTPSecret {
		w.t.Fatal("the seed Cognito holds for the user is stored nowhere")
	}
}

// Item 1: a verification that keeps failing backs off instead of looping on
// the operator's own Secret writes: a handful of associations in 5 s with
// a 200 ms base delay (hundreds before), failedAttempts counting up, and
// one Warning Event.
func TestPersistentVerifyFailureBacksOffNoHotLoop(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.rejectEveryCode()
	before := fake.CallCounts()
	w.enrollment("skew")
	time.Sleep(5 * time.Second)
	got := callsSince(before)
	if got["AssociateSoftwareToken"] > 6 {
		t.Fatalf("%d associations in 5 s: no backoff (%v)", got["AssociateSoftwareToken"], got)
	}
	ste := w.get("skew")
	if ste.Status.FailedAttempts < 3 {
		t.Fatalf("failedAttempts %d does not count up", ste.Status.FailedAttempts)
	}
	expectCondition(t, ste, v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.ReasonVerificationFailed)
	if n := w.warnings("skew", v1alpha1.ReasonVerificationFailed); n != 1 {
		t.Fatalf("%d VerificationFailed events for one persistent failure", n)
	}
	w.expectSeedStored("skew-totp")
}

// Item 2: a rotation whose VerifySoftwareToken reply is lost, followed by a
// terminal error, keeps the now-active seed; the next sign-in promotes it.
func TestLostRotationReplyThenTerminalErrorKeepsActiveSeed(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.enrollment("lost")
	w.waitReady("lost")
	fake.InjectFault("VerifySoftwareToken", cognitofake.Fault{User: w.username, Code: "InternalErrorException", Message: "lost", AfterServing: true})
	// Once the lost verification is served, the next sign-in fails
	// terminally (as after an expired token or a changed password).
	user := w.username
	var once sync.Once
	fake.SetHook(func(op, u string, served bool) bool {
		if op == "VerifySoftwareToken" && u == user && served {
			once.Do(func() {
				go fake.InjectFault("InitiateAuth", cognitofake.Fault{User: user, Code: "NotAuthorizedException", Message: "Incorrect username or password."})
			})
		}
		return false
	})
	defer fake.SetHook(nil)
	w.requestRotation("lost", "r1")
	ste := w.waitStalled("lost", v1alpha1.ReasonInvalidCredentials)
	w.expectSeedStored("lost-totp")
	if isReady(ste) {
		t.Fatal("Ready while the stored secret is not the user's token")
	}
	// Fixing the input lets the next sign-in prove and promote the active seed, with no new association.
	before := fake.CallCounts()
	creds := w.getSecret("creds")
	creds.Data["password"] = []byte(w.password + "-2")
	fake.UpdateUser(w.poolID, w.username, func(u *cognitofake.User) { u.Password = w.password + "-2" })
	must(t, k8s.Update(ctx(), creds))
	w.waitReady("lost")
	s := w.getSecret("lost-totp")
	if string(s.Data[v1alpha1.KeySecret]) != fake.User(w.poolID, w.username).TOTPSecret || len(s.Data[v1alpha1.KeyPendingSecret]) != 0 {
		t.Fatal("the active seed was not promoted")
	}
	if got := callsSince(before)["AssociateSoftwareToken"]; got != 0 {
		t.Fatalf("%d associations: the verified seed was thrown away", got)
	}
}

func isReady(ste *v1alpha1.SoftwareTokenEnrollment) bool {
	for _, c := range ste.Status.Conditions {
		if c.Type == v1alpha1.ConditionReady && c.Status == metav1.ConditionTrue && ste.Status.ObservedGeneration == ste.Generation {
			return true
		}
	}
	return false
}

// Item 3: pointing an enrollment at another user never overwrites the first
// user's only seed: Stalled/IdentityChanged, the other user untouched.
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

// Item 3, pool: a new pool id is another identity, refused with no call.
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

// Item 4: access-token mode checks for an existing token before associating:
// a person's authenticator is never silently replaced.
func TestAccessTokenModeNeverReplacesAnExistingToken(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.enrollElsewhere()
	w.secret("token", map[string]string{"token": fake.IssueAccessToken(w.clientID, w.username)})
	before := fake.CallCounts()
	w.enrollment("human", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) { accessTokenSpec(w, s) })
	w.waitStalled("human", v1alpha1.ReasonAlreadyEnrolled)
	if got := callsSince(before)["AssociateSoftwareToken"]; got != 0 {
		t.Fatalf("%d associations over a person's token", got)
	}
	if u := fake.User(w.poolID, w.username); u.TOTPSecret != "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" {
		t.Fatal("the person's token was replaced")
	}
}

// Item 4: two enrollments for one user, applied together in a pool that
// requires MFA: exactly one proceeds; the other is DuplicateEnrollment and
// names the first (same namespace).
func TestTwoEnrollmentsForOneUserExactlyOneProceeds(t *testing.T) {
	for _, mode := range []string{"credentials", "access-token"} {
		t.Run(mode, func(t *testing.T) {
			mfa := cognitofake.MFAOn
			if mode == "access-token" {
				mfa = cognitofake.MFAOptional
			}
			w := newWorld(t, mfa)
			w.credentials()
			w.secret("token", map[string]string{"token": fake.IssueAccessToken(w.clientID, w.username)})
			spec := func(s *v1alpha1.SoftwareTokenEnrollmentSpec) {
				if mode == "access-token" {
					accessTokenSpec(w, s)
				}
			}
			w.enrollment("one", spec)
			w.enrollment("two", spec)
			var ready, dup string
			deadline := time.Now().Add(20 * time.Second)
			for time.Now().Before(deadline) && (ready == "" || dup == "") {
				ready, dup = "", ""
				for _, n := range []string{"one", "two"} {
					ste := w.get(n)
					if isReady(ste) {
						ready = n
					}
					if c := findCond(ste, v1alpha1.ConditionStalled); c != nil && c.Reason == v1alpha1.ReasonDuplicateEnrollment {
						dup = n
					}
				}
				time.Sleep(50 * time.Millisecond)
			}
			if ready == "" || dup == "" || ready == dup {
				t.Fatalf("want one Ready and one DuplicateEnrollment, got ready=%q duplicate=%q", ready, dup)
			}
			if msg := findCond(w.get(dup), v1alpha1.ConditionStalled).Message; !strings.Contains(msg, `"`+ready+`"`) {
				t.Fatalf("the message does not name the winner in the same namespace: %s", msg)
			}
			if got := string(w.getSecret(ready + "-totp").Data[v1alpha1.KeySecret]); got != fake.User(w.poolID, w.username).TOTPSecret {
				t.Fatal("the Ready enrollment's secret is not the user's token")
			}
		})
	}
}

func findCond(ste *v1alpha1.SoftwareTokenEnrollment, t string) *metav1.Condition {
	for i := range ste.Status.Conditions {
		if ste.Status.Conditions[i].Type == t {
			return &ste.Status.Conditions[i]
		}
	}
	return nil
}

// Item 5: secretTemplate cannot set the operator's own annotations or labels.
func TestTemplateCannotOverrideOperatorAnnotations(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	for _, tmpl := range []v1alpha1.SecretTemplate{
		{Annotations: map[string]string{v1alpha1.AnnotationRecord: "{}"}},
		{Labels: map[string]string{v1alpha1.LabelManagedBy: "me"}},
	} {
		ste := &v1alpha1.SoftwareTokenEnrollment{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "pin"},
			Spec: v1alpha1.SoftwareTokenEnrollmentSpec{UserPoolID: w.poolID, ClientID: w.clientID,
				CredentialsSecretRef: &v1alpha1.LocalObjectReference{Name: "creds"}, SecretTemplate: &tmpl}}
		if err := k8s.Create(ctx(), ste); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "operator's own") {
			t.Fatalf("want the API server to refuse it, got %v", err)
		}
	}
}

// Item 10: an invalid label value is terminal before any Cognito call.
func TestInvalidTemplateLabelIsTerminalWithoutCognito(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	before := fake.CallCounts()
	w.enrollment("label", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) {
		s.SecretTemplate = &v1alpha1.SecretTemplate{Labels: map[string]string{"team": "not a valid value!"}}
	})
	w.waitStalled("label", v1alpha1.ReasonInvalidSpec)
	quietFor(t, time.Second)
	expectCalls(t, callsSince(before), map[string]int{})
}

// Item 7: Disable finishes whatever the error: a terminal sign-in failure
// falls back to Retain at the deletion timeout (3 s here).
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
	if s := w.getSecret("gone-totp"); len(s.Data[v1alpha1.KeySecret]) == 0 || len(s.Finalizers) != 0 {
		t.Fatal("the Secret was not kept and released")
	}
	if s := w.getSecret("creds"); contains(s.Finalizers, v1alpha1.FinalizerProtect) {
		t.Fatal("the credentials Secret's protection was not released")
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Item 8: a pruned credentials Secret does not make a working enrollment
// unready through a local spec edit or a rotation request.
func TestPrunedCredentialsKeepReady(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.enrollment("pruned")
	w.waitReady("pruned")
	must(t, k8s.Delete(ctx(), w.getSecret("creds")))
	ste := w.update("pruned", func(ste *v1alpha1.SoftwareTokenEnrollment) {
		ste.Spec.SecretTemplate = &v1alpha1.SecretTemplate{Labels: map[string]string{"team": "ci"}}
	})
	waitGeneration(w, "pruned", ste.Generation)
	w.waitReady("pruned")
	if w.getSecret("pruned-totp").Labels["team"] != "ci" {
		t.Fatal("the local edit was not applied")
	}
	w.requestRotation("pruned", "now")
	ste = w.waitCondition("pruned", v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.ReasonCredentialsSecretNotFound)
	expectCondition(t, ste, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonEnrolled)
}

// Item 9: delete with Retain, re-create the same enrollment (a GitOps prune
// and re-sync): the retained Secret is adopted once its seed is proven,
// with no new association.
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
	if string(s.Data[v1alpha1.KeySecret]) != seed || len(s.OwnerReferences) != 1 || recordOf(s).RetainedFrom != "" {
		t.Fatal("the retained Secret was not adopted as it was")
	}
}

// Item 11: a reconcile that runs out of --reconcile-timeout records it.
func TestReconcileTimeoutIsRecorded(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.enrollment("slow")
	w.waitReady("slow")
	provider, err := cognito.NewProvider(ctx(), cognito.Options{Endpoint: fake.URL(), DefaultRegion: "us-east-1", MaxAttempts: 1})
	must(t, err)
	r := &enrollment.Reconciler{Client: k8s, APIReader: k8s, Recorder: nopRecorder{}, Cognito: provider, Now: time.Now,
		RetryBase: time.Second, RetryMax: time.Minute, Timeout: 200 * time.Millisecond, DeletionTimeout: time.Minute,
		ClaimNamespace: claimNamespace}
	fake.SetLatency(time.Second)
	defer fake.SetLatency(0)
	ste := w.get("slow")
	ste.Spec.MFAPreference = v1alpha1.MFAPreferenceEnabled
	must(t, k8s.Update(ctx(), ste))
	if _, err := r.Reconcile(ctx(), reconcile.Request{NamespacedName: types.NamespacedName{Namespace: w.ns, Name: "slow"}}); err != nil {
		t.Fatal(err)
	}
	got := w.get("slow")
	c := findCond(got, v1alpha1.ConditionReconciling)
	if c == nil || c.Reason != v1alpha1.ReasonCognitoUnavailable || got.Status.ObservedGeneration != got.Generation {
		t.Fatalf("the timeout was not recorded: %+v", got.Status.Conditions)
	}
}

// nopRecorder drops Events, for a reconciler driven by hand.
type nopRecorder struct{}

func (nopRecorder) Eventf(runtime.Object, runtime.Object, string, string, string, string, ...interface{}) {
}
