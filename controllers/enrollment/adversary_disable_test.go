package enrollment_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ktypes "k8s.io/apimachinery/pkg/types"

	corev1 "k8s.io/api/core/v1"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/localenv"
)

// zzExpectSeedKeptOrMFAOff fails when the Secret is gone while Cognito still
// holds the deleted seed as the user's enabled token.
func (w *world) zzExpectSeedKeptOrMFAOff(secretName, seed string) {
	w.t.Helper()
	err := k8s.Get(ctx(), ktypes.NamespacedName{Namespace: w.ns, Name: secretName}, &corev1.Secret{})
	u := fake.User(w.poolID, w.username)
	w.t.Logf("secret exists: %v; cognito: token is the stored seed %v, enabled %v; events Disabled=%v DisableAbandoned=%v",
		err == nil, u.TOTPSecret == seed, u.TOTPEnabled, w.hasEvent("Disabled"), w.hasEvent("DisableAbandoned"))
	if apierrors.IsNotFound(err) && u.TOTPSecret == seed && u.TOTPEnabled {
		w.t.Errorf("Secret %q was deleted although Cognito still holds its seed as the user's enabled token (the user is locked out)", secretName)
	}
}

// Promise 2 / 7. deletionPolicy Disable under a clock skew between the
// manager and Cognito (here 2 minutes): every code is refused with
// CodeMismatchException, which proves nothing about the seed, yet the
// operator reads "SOFTWARE_TOKEN_MFA challenge + no stored seed answered" as
// proof that the seed is not the user's token, skips turning MFA off and
// deletes the Secret. The user keeps TOTP MFA on, with its only seed gone.
func TestAdversaryDisableUnderClockSkewDeletesLiveSeed(t *testing.T) {
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
			w.zzExpectSeedKeptOrMFAOff("skew-totp", seed)
		})
	}
}

// Promise 2 / 7, without any clock problem. Access-token mode, ReplaceOnVerify
// (today's documented rule): Cognito holds a pending association nobody
// verified (the user started setting up another authenticator app, or the
// operator's own AssociateSoftwareToken reply was lost just before the
// deletion); the user's verified, enabled token is still the stored seed.
// Deleting the enrollment with Disable proves the stored seed with
// VerifySoftwareToken, which Cognito checks against the pending association
// and rejects; disable() takes "hasToken && nothing proven" as proof that
// the seed is not the user's, skips turning MFA off, and deletes the Secret.
func TestAdversaryDisableWithPendingAssociationDeletesLiveSeed(t *testing.T) {
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
			w.zzExpectSeedKeptOrMFAOff("pend-totp", seed)
		})
	}
}
