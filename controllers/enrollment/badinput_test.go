package enrollment_test

import (
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// Every terminal failure stalls with its own reason, and then Cognito hears
// nothing more until an input changes.
func TestTerminalFailuresStall(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mfa     string
		setup   func(w *world)
		spec    func(w *world, s *v1alpha1.SoftwareTokenEnrollmentSpec)
		reason  string
		message string
	}{
		{name: "wrong password", setup: func(w *world) {
			w.secret("creds", map[string]string{"username": w.username, "password": "wrong"})
		}, reason: v1alpha1.ReasonInvalidCredentials, message: "Incorrect username or password"},
		{name: "unknown client", setup: (*world).credentials, spec: func(w *world, s *v1alpha1.SoftwareTokenEnrollmentSpec) {
			s.ClientID = "nosuchclient"
		}, reason: v1alpha1.ReasonResourceNotFound, message: "User pool client nosuchclient does not exist"},
		{name: "unknown user", setup: func(w *world) {
			w.secret("creds", map[string]string{"username": "ghost", "password": w.password})
		}, reason: v1alpha1.ReasonUserNotFound},
		{name: "unconfirmed user", setup: func(w *world) {
			w.credentials()
			fake.UpdateUser(w.poolID, w.username, func(u *cognitofake.User) { u.Status = cognitofake.StatusUnconfirmed })
		}, reason: v1alpha1.ReasonUserNotConfirmed},
		{name: "password reset required", setup: func(w *world) {
			w.credentials()
			fake.UpdateUser(w.poolID, w.username, func(u *cognitofake.User) { u.Status = cognitofake.StatusResetRequired })
		}, reason: v1alpha1.ReasonPasswordResetRequired},
		{name: "new password required", setup: func(w *world) {
			w.credentials()
			fake.UpdateUser(w.poolID, w.username, func(u *cognitofake.User) { u.Status = cognitofake.StatusForceChangePassword })
		}, reason: "ChallengeNewPasswordRequired", message: "NEW_PASSWORD_REQUIRED"},
		{name: "sms mfa challenge", setup: func(w *world) {
			w.credentials()
			fake.UpdateUser(w.poolID, w.username, func(u *cognitofake.User) { u.SMSMFA = true })
		}, reason: "ChallengeSmsMfa", message: "SMS_MFA"},
		{name: "pool without TOTP", setup: func(w *world) {
			w.credentials()
			fake.CreatePool(w.poolID, cognitofake.MFAOptional, false)
			fake.CreateUser(w.poolID, cognitofake.User{Username: w.username, Password: w.password})
		}, reason: v1alpha1.ReasonSoftwareTokenMFANotEnabled},
		{name: "pool without TOTP, MFA_SETUP", mfa: cognitofake.MFAOn, setup: func(w *world) {
			w.credentials()
			fake.CreatePool(w.poolID, cognitofake.MFAOn, false)
			fake.CreateUser(w.poolID, cognitofake.User{Username: w.username, Password: w.password})
		}, reason: v1alpha1.ReasonSoftwareTokenMFANotEnabled},
		{name: "already enrolled elsewhere", mfa: cognitofake.MFAOn, setup: func(w *world) {
			w.credentials()
			w.enrollElsewhere()
		}, reason: v1alpha1.ReasonAlreadyEnrolled, message: "an administrator must reset the user's MFA"},
		{name: "expired access token", setup: func(w *world) {
			fake.CreateClient(cognitofake.AppClient{ID: w.clientID, PoolID: w.poolID, AccessTokenValidity: time.Millisecond})
			w.secret("token", map[string]string{"token": fake.IssueAccessToken(w.clientID, w.username)})
			time.Sleep(5 * time.Millisecond)
		}, spec: accessTokenSpec, reason: v1alpha1.ReasonAccessTokenRejected, message: "Access Token has expired"},
		// Refused before it is hashed or sent: not an access token at all.
		{name: "forged access token", setup: func(w *world) {
			w.secret("token", map[string]string{"token": "not-a-token-anyone-issued"})
		}, spec: accessTokenSpec, reason: v1alpha1.ReasonInvalidAccessTokenSecret, message: "does not hold a Cognito access token"},
		{name: "credentials Secret without username", setup: func(w *world) {
			w.secret("creds", map[string]string{"password": w.password})
		}, reason: v1alpha1.ReasonInvalidCredentialsSecret, message: `no value for key "username"`},
		{name: "client secret Secret without the key", setup: func(w *world) {
			w.credentials()
			w.secret("client", map[string]string{"other": "x"})
		}, spec: func(w *world, s *v1alpha1.SoftwareTokenEnrollmentSpec) {
			s.ClientSecretRef = &v1alpha1.SecretKeySelector{Name: "client", Key: "secret"}
		}, reason: v1alpha1.ReasonInvalidClientSecret, message: `no value for key "secret"`},
		{name: "client secret not given", setup: func(w *world) {
			w.credentials()
			fake.CreateClient(cognitofake.AppClient{ID: w.clientID, PoolID: w.poolID, Secret: "s3cr3t-of-the-client"})
		}, reason: v1alpha1.ReasonClientSecretRequired, message: "configured for secret"},
		{name: "client secret wrong", setup: func(w *world) {
			w.credentials()
			w.secret("client", map[string]string{"secret": "not-the-secret"})
			fake.CreateClient(cognitofake.AppClient{ID: w.clientID, PoolID: w.poolID, Secret: "s3cr3t-of-the-client"})
		}, spec: func(w *world, s *v1alpha1.SoftwareTokenEnrollmentSpec) {
			s.ClientSecretRef = &v1alpha1.SecretKeySelector{Name: "client", Key: "secret"}
		}, reason: v1alpha1.ReasonClientSecretMismatch, message: "Unable to verify secret hash"},
		{name: "credentials Secret without password", setup: func(w *world) {
			w.secret("creds", map[string]string{"username": w.username})
		}, reason: v1alpha1.ReasonInvalidCredentialsSecret, message: `no value for key "password"`},
		{name: "access token Secret without the key", setup: func(w *world) {
			w.secret("token", map[string]string{"other": "x"})
		}, spec: accessTokenSpec, reason: v1alpha1.ReasonInvalidAccessTokenSecret, message: `no value for key "token"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mfa := tc.mfa
			if mfa == "" {
				mfa = cognitofake.MFAOptional
			}
			w := newWorld(t, mfa)
			tc.setup(w)
			w.enrollment("bad", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) {
				if tc.spec != nil {
					tc.spec(w, s)
				}
			})
			ste := w.waitStalled("bad", tc.reason)
			msg := conditionOf(ste, v1alpha1.ConditionStalled).Message
			if !strings.Contains(msg, tc.message) {
				t.Fatalf("message %q does not say %q", msg, tc.message)
			}
			for _, secret := range []string{w.password} {
				if strings.Contains(msg, secret) {
					t.Fatalf("message leaks a secret: %q", msg)
				}
			}
			// No hot loop: a reconcile triggered by an unrelated change makes no call either.
			w.update("bad", func(ste *v1alpha1.SoftwareTokenEnrollment) { ste.Annotations = map[string]string{"poke": "1"} })
			quietFor(t, 700*time.Millisecond)
		})
	}
}

// Fixing the input recovers without a restart: a wrong password stalls, the
// corrected Secret makes it Ready.
func TestStallRecoversWhenSecretIsFixed(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	creds := w.secret("creds", map[string]string{"username": w.username, "password": "wrong"})
	w.enrollment("fixme")
	w.waitStalled("fixme", v1alpha1.ReasonInvalidCredentials)
	creds.StringData = map[string]string{"password": w.password}
	must(t, k8s.Update(ctx(), creds))
	w.expectEnrolled("fixme", true)
}

// A missing referenced Secret is a wait, not a failure: Reconciling, and the
// enrollment proceeds as soon as the Secret appears.
func TestMissingSecretsAreWaitedFor(t *testing.T) {
	for _, tc := range []struct {
		name   string
		spec   func(w *world, s *v1alpha1.SoftwareTokenEnrollmentSpec)
		reason string
		create func(w *world)
	}{
		{"credentials", nil, v1alpha1.ReasonCredentialsSecretNotFound, (*world).credentials},
		{"access token", accessTokenSpec, v1alpha1.ReasonAccessTokenSecretNotFound, func(w *world) {
			w.secret("token", map[string]string{"token": fake.IssueAccessToken(w.clientID, w.username)})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, cognitofake.MFAOptional)
			before := fake.TotalCalls()
			w.enrollment("later", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) {
				if tc.spec != nil {
					tc.spec(w, s)
				}
			})
			ste := w.waitCondition("later", v1alpha1.ConditionReconciling, metav1.ConditionTrue, tc.reason)
			expectCondition(t, ste, v1alpha1.ConditionReady, metav1.ConditionFalse, tc.reason)
			expectAbsent(t, ste, v1alpha1.ConditionStalled)
			if ste.Status.FailedAttempts != 0 {
				t.Fatalf("a wait counted as a failure: %+v", ste.Status)
			}
			if fake.TotalCalls() != before {
				t.Fatal("Cognito was called without credentials")
			}
			tc.create(w)
			w.waitReady("later")
		})
	}
}

func TestMissingClientSecretIsWaitedFor(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.enrollment("hash", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) {
		s.ClientSecretRef = &v1alpha1.SecretKeySelector{Name: "client", Key: "secret"}
	})
	w.waitCondition("hash", v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.ReasonClientSecretNotFound)
}

// The API server itself refuses specs the API forbids.
func TestAPIServerRejectsInvalidSpecs(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	for _, tc := range []struct {
		name string
		spec func(s *v1alpha1.SoftwareTokenEnrollmentSpec)
		want string
	}{
		{"both auth refs", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) {
			s.AccessTokenSecretRef = &v1alpha1.SecretKeySelector{Name: "t", Key: "k"}
		}, "exactly one of credentialsSecretRef and accessTokenSecretRef must be set"},
		{"neither auth ref", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) {
			s.CredentialsSecretRef = nil
		}, "exactly one of credentialsSecretRef and accessTokenSecretRef must be set"},
		{"credentials without client", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) {
			s.ClientID = ""
		}, "clientID is required with credentialsSecretRef"},
		{"malformed pool id", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) {
			s.UserPoolID = "not a pool"
		}, "spec.userPoolID"},
		{"unknown preference", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) {
			s.MFAPreference = "Always"
		}, "spec.mfaPreference"},
		{"secret name not a DNS name", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) {
			s.SecretName = "Not_Valid"
		}, "spec.secretName"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ste := &v1alpha1.SoftwareTokenEnrollment{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "invalid"},
				Spec: v1alpha1.SoftwareTokenEnrollmentSpec{UserPoolID: w.poolID, ClientID: w.clientID,
					CredentialsSecretRef: &v1alpha1.LocalObjectReference{Name: "creds"}}}
			tc.spec(&ste.Spec)
			err := k8s.Create(ctx(), ste)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("create: %v; want an error saying %q", err, tc.want)
			}
		})
	}
	t.Run("secretName is immutable", func(t *testing.T) {
		w.credentials()
		w.enrollment("fixed", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) { s.SecretName = "first" })
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			ste := w.get("fixed") // the controller adds its finalizer meanwhile
			ste.Spec.SecretName = "second"
			return k8s.Update(ctx(), ste)
		})
		if err == nil || !strings.Contains(err.Error(), "secretName is immutable") {
			t.Fatalf("update: %v", err)
		}
	})
	t.Run("cognito-local pool ids are accepted", func(t *testing.T) {
		ste := &v1alpha1.SoftwareTokenEnrollment{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "local"},
			Spec: v1alpha1.SoftwareTokenEnrollmentSpec{UserPoolID: "local_AbCd1234", ClientID: w.clientID,
				CredentialsSecretRef: &v1alpha1.LocalObjectReference{Name: "creds"}}}
		must(t, k8s.Create(ctx(), ste))
	})
}

// A pruned credentials Secret does not make a working enrollment unready
// through a local spec edit or a rotation request.
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

// secretTemplate cannot set the operator's own annotations or labels.
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

// An invalid label value is terminal before any Cognito call.
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

// A secretTemplate annotation whose value makes the Secret's annotations
// exceed the API server's 256 KiB limit (the CRD sets no size limit) is
// terminal before any Cognito call too: the Secret write would be refused
// only after a sign-in, a claim and an association.
func TestOversizedTemplateAnnotationStallsWithoutCognito(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	before := fake.CallCounts()
	w.enrollment("big", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) {
		s.SecretTemplate = &v1alpha1.SecretTemplate{Annotations: map[string]string{"example.com/blob": strings.Repeat("x", 270*1024)}}
	})
	ste := w.waitCondition("big", v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonInvalidSpec)
	time.Sleep(500 * time.Millisecond)
	got := callsSince(before)
	t.Logf("stalled: %.200s; Cognito calls %v", findCond(ste, v1alpha1.ConditionStalled).Message, got)
	if len(got) != 0 {
		t.Errorf("an invalid secretTemplate made Cognito calls before stalling: %v", got)
	}
}
