package enrollment_test

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/controllers/enrollment"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

func TestCredentialsFlow(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	before := fake.CallCounts()
	w.enrollment("ci-bot")
	s := w.expectEnrolled("ci-bot", true)
	if s.Name != "ci-bot-totp" {
		t.Fatalf("Secret name %q", s.Name)
	}
	// The expectEnrolled sign-ins add their own calls; count the operator's first.
	got := callsSince(before)
	got["InitiateAuth"] -= 2
	got["RespondToAuthChallenge"] -= 2
	// GetUser tells whether the user already has a token: no challenge showed it.
	expectCalls(t, got, map[string]int{"InitiateAuth": 1, "GetUser": 1, "AssociateSoftwareToken": 1, "VerifySoftwareToken": 1,
		"SetUserMFAPreference": 1, "RespondToAuthChallenge": 0})
	u := fake.User(w.poolID, w.username)
	if !u.TOTPEnabled || !u.TOTPPreferred || u.DeviceName != w.ns+"/ci-bot" {
		t.Fatalf("user state: %+v", u)
	}
}

func TestMFASetupSessionFlow(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOn)
	w.credentials()
	before := fake.CallCounts()
	w.enrollment("setup", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) {
		s.FriendlyDeviceName = "ci-bot"
		s.Issuer = "Example Corp"
	})
	s := w.expectEnrolled("setup", true)
	got := callsSince(before)
	got["InitiateAuth"] -= 2
	got["RespondToAuthChallenge"] -= 2
	expectCalls(t, got, map[string]int{"InitiateAuth": 1, "AssociateSoftwareToken": 1, "VerifySoftwareToken": 1,
		"RespondToAuthChallenge": 1, "SetUserMFAPreference": 1})
	if u := fake.User(w.poolID, w.username); u.DeviceName != "ci-bot" {
		t.Fatalf("device name %q", u.DeviceName)
	}
	if !strings.HasPrefix(string(s.Data[v1alpha1.KeyOTPAuthURL]), "otpauth://totp/Example%20Corp:"+w.username+"?") {
		t.Fatalf("otpauth-url %q", s.Data[v1alpha1.KeyOTPAuthURL])
	}
}

func TestAccessTokenFlow(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.secret("token", map[string]string{"access-token": fake.IssueAccessToken(w.clientID, w.username)})
	before := fake.CallCounts()
	w.enrollment("token-bot", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) {
		s.ClientID, s.CredentialsSecretRef = "", nil
		s.AccessTokenSecretRef = &v1alpha1.SecretKeySelector{Name: "token", Key: "access-token"}
		s.MFAPreference = v1alpha1.MFAPreferenceEnabled
	})
	w.expectEnrolled("token-bot", false)
	got := callsSince(before)
	got["InitiateAuth"] -= 2
	got["RespondToAuthChallenge"] -= 2
	expectCalls(t, got, map[string]int{"InitiateAuth": 0, "RespondToAuthChallenge": 0, "GetUser": 1, "AssociateSoftwareToken": 1,
		"VerifySoftwareToken": 1, "SetUserMFAPreference": 1})
	if u := fake.User(w.poolID, w.username); !u.TOTPEnabled || u.TOTPPreferred {
		t.Fatalf("mfaPreference Enabled: %+v", u)
	}
}

func TestClientSecret(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOn)
	fake.CreateClient(cognitofake.AppClient{ID: w.clientID + "s", PoolID: w.poolID, Secret: "client-secret-value-123"})
	w.clientID += "s"
	w.credentials()
	w.secret("client", map[string]string{"secret": "client-secret-value-123"})
	w.secret("wrong-client", map[string]string{"secret": "not-the-client-secret"})

	w.enrollment("no-ref")
	w.waitStalled("no-ref", v1alpha1.ReasonClientSecretRequired)
	w.enrollment("wrong", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) {
		s.ClientSecretRef = &v1alpha1.SecretKeySelector{Name: "wrong-client", Key: "secret"}
	})
	w.waitStalled("wrong", v1alpha1.ReasonClientSecretMismatch)

	w.enrollment("with-hash", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) {
		s.ClientSecretRef = &v1alpha1.SecretKeySelector{Name: "client", Key: "secret"}
	})
	ste := w.waitReady("with-hash")
	secret := string(w.getSecret(ste.Status.SecretName).Data[v1alpha1.KeySecret])
	if fake.User(w.poolID, w.username).TOTPSecret != secret {
		t.Fatal("the MFA_SETUP flow with SECRET_HASH did not verify the stored secret")
	}
}

// A spec change after Ready signs in again: Cognito challenges for the
// software token, the stored secret answers, and nothing is re-associated.
func TestResignInProvesStoredSecret(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOn)
	w.credentials()
	w.enrollment("again")
	first := w.waitReady("again")
	secret := string(w.getSecret(first.Status.SecretName).Data[v1alpha1.KeySecret])

	before := fake.CallCounts()
	ste := w.update("again", func(ste *v1alpha1.SoftwareTokenEnrollment) { ste.Spec.MFAPreference = v1alpha1.MFAPreferenceEnabled })
	waitGeneration(w, "again", ste.Generation)
	after := w.waitReady("again")
	expectCalls(t, callsSince(before), map[string]int{"InitiateAuth": 1, "RespondToAuthChallenge": 1, "SetUserMFAPreference": 1})
	if string(w.getSecret(after.Status.SecretName).Data[v1alpha1.KeySecret]) != secret || after.Status.SecretFingerprint != first.Status.SecretFingerprint {
		t.Fatal("the stored secret changed")
	}
	if u := fake.User(w.poolID, w.username); !u.TOTPEnabled || u.TOTPPreferred {
		t.Fatalf("preference not applied: %+v", u)
	}
}

// Once Ready, events that change nothing cost no Cognito call and no write.
func TestReadyIsIdempotent(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.enrollment("steady")
	ste := w.waitReady("steady")
	secretBefore := w.getSecret(ste.Status.SecretName)

	before := fake.CallCounts()
	// Touch every object the enrollment watches.
	w.update("steady", func(ste *v1alpha1.SoftwareTokenEnrollment) { ste.Annotations = map[string]string{"touched": "1"} })
	creds := w.getSecret("creds")
	creds.Labels = map[string]string{"touched": "1"}
	must(t, k8s.Update(ctx(), creds))
	quietFor(t, 2*time.Second)
	expectCalls(t, callsSince(before), map[string]int{})
	if after := w.get("steady"); after.ResourceVersion != w.get("steady").ResourceVersion ||
		after.Status.ObservedGeneration != ste.Generation || after.Annotations["touched"] != "1" {
		t.Fatal("status was rewritten")
	}
	if s := w.getSecret(ste.Status.SecretName); s.ResourceVersion != secretBefore.ResourceVersion {
		t.Fatal("the Secret was rewritten")
	}
}

// A transient failure after the secret is verified is retried without a new
// association: the stored secret is proven instead.
func TestTransientFailureRecoversWithoutReassociating(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	fault := cognitofake.Fault{User: w.username, Code: "InternalErrorException", Message: "boom"}
	fake.InjectFault("SetUserMFAPreference", fault, fault, fault)
	before := fake.CallCounts()
	w.enrollment("flaky")
	ste := w.waitCondition("flaky", v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.ReasonCognitoUnavailable)
	if ste.Status.FailedAttempts < 1 || ste.Status.LastFailureTime == nil {
		t.Fatalf("failure not recorded: %+v", ste.Status)
	}
	expectAbsent(t, ste, v1alpha1.ConditionStalled)
	// The retry proves the seed again, with a later step's code (this
	// step's were sent), and holds it until that step has passed.
	ste = w.waitReadyWithin("flaky", 100*time.Second)
	if ste.Status.FailedAttempts != 0 || ste.Status.LastFailureTime != nil {
		t.Fatalf("failures not reset: %+v", ste.Status)
	}
	got := callsSince(before)
	if got["AssociateSoftwareToken"] != 1 || got["SetUserMFAPreference"] != 4 {
		t.Fatalf("calls %v: want one association and a retried preference", got)
	}
	w.expectEnrolled("flaky", true)
}

// A Secret the enrollment does not own is never touched.
func TestSecretConflict(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	foreign := w.secret("taken", map[string]string{"secret": "SOMEONE-ELSES"})
	before := fake.CallCounts()
	w.enrollment("conflict", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) { s.SecretName = "taken" })
	ste := w.waitStalled("conflict", v1alpha1.ReasonSecretConflict)
	if !strings.Contains(conditionOf(ste, v1alpha1.ConditionReady).Message, `"taken"`) {
		t.Fatalf("message does not name the Secret: %q", conditionOf(ste, v1alpha1.ConditionReady).Message)
	}
	if s := w.getSecret("taken"); s.ResourceVersion != foreign.ResourceVersion {
		t.Fatal("the foreign Secret was modified")
	}
	if got := callsSince(before); got["AssociateSoftwareToken"] != 0 {
		t.Fatalf("associated despite the conflict: %v", got)
	}
	quietFor(t, time.Second)

	// Removing the stranger's Secret lets the enrollment proceed, no restart needed.
	must(t, k8s.Delete(ctx(), foreign))
	w.expectEnrolled("conflict", true)
}

// Two enrollments naming one Secret: the first owns it, the second stalls
// with SecretConflict and never touches it.
func TestTwoEnrollmentsOneSecret(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.enrollment("first", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) { s.SecretName = "shared" })
	w.waitReady("first")
	owned := w.getSecret("shared")
	before := fake.CallCounts()
	w.enrollment("second", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) { s.SecretName = "shared" })
	ste := w.waitStalled("second", v1alpha1.ReasonSecretConflict)
	if msg := conditionOf(ste, v1alpha1.ConditionStalled).Message; !strings.Contains(msg, `Secret "shared" exists and is not managed by this enrollment`) {
		t.Fatalf("message %q", msg)
	}
	quietFor(t, time.Second)
	expectCalls(t, callsSince(before), map[string]int{})
	if s := w.getSecret("shared"); s.ResourceVersion != owned.ResourceVersion {
		t.Fatal("the second enrollment wrote the first one's Secret")
	}
}

// A reconcile that runs out of --reconcile-timeout records it.
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
