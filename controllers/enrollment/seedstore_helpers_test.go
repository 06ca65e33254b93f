package enrollment_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	cipt "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/kube"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/localenv"
)

// challenged says a sign-in with the user's password is challenged for a
// software token (an MFA_SETUP or no challenge at all is not).
func (w *world) challenged() bool {
	w.t.Helper()
	consumer := localenv.Consumer{ClientID: w.clientID, ClientSecret: w.clientSecret, Username: w.username}
	out, err := localenv.SDK(fake.URL()).InitiateAuth(ctx(), &cip.InitiateAuthInput{AuthFlow: cipt.AuthFlowTypeUserPasswordAuth,
		ClientId: aws.String(w.clientID), AuthParameters: consumer.Params("PASSWORD", w.password)})
	must(w.t, err)
	return out.ChallengeName == cipt.ChallengeNameTypeSoftwareTokenMfa || out.ChallengeName == cipt.ChallengeNameTypeSelectMfaType
}

// operatorSecrets are every Secret of the operator's, in any namespace: the
// enrollments' Secrets, retained ones, and the seed store.
func operatorSecrets(t *testing.T) []corev1.Secret {
	var list corev1.SecretList
	must(t, k8s.List(ctx(), &list, client.MatchingLabels{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue}))
	return list.Items
}

// stored is the seed store's Secret kept for an enrollment of w's
// namespace, or nil.
func (w *world) stored(enrollment string) *corev1.Secret {
	for _, s := range operatorSecrets(w.t) {
		if s.Namespace == claimNamespace && s.Labels[v1alpha1.LabelSeedState] != "" &&
			kube.OriginOf(&s).Namespace == w.ns && kube.OriginOf(&s).Enrollment == enrollment {
			return &s
		}
	}
	return nil
}

// expectSafe is the deletion invariant: once the enrollment is gone,
// either a sign-in shows no MFA, or a Secret of the operator's holds the
// seed of the user's registered token, and it answers the challenge. (Only
// that one seed is tried: wrong codes would lock the user out.)
func (w *world) expectSafe(what string) {
	w.t.Helper()
	if !w.challenged() {
		return
	}
	registered := fake.User(w.poolID, w.username).TOTPSecret
	for _, s := range operatorSecrets(w.t) {
		for _, k := range []string{v1alpha1.KeySecret, v1alpha1.KeyPendingSecret} {
			if seed := string(s.Data[k]); seed != "" && seed == registered {
				if err := w.signInWithMFA(seed, 0); err != nil {
					w.t.Fatalf("%s: Secret %s/%s holds the user's registered seed, and it does not answer: %v", what, s.Namespace, s.Name, err)
				}
				w.t.Logf("%s: the user's seed is kept in Secret %s/%s (%s)", what, s.Namespace, s.Name, k)
				return
			}
		}
	}
	w.t.Fatalf("%s: the user is challenged for a software token and no Secret of the operator's holds its seed", what)
}

// turnTOTPOnAgain enables the user's software token through the public API,
// as the user or an application might after Disable.
func (w *world) turnTOTPOnAgain() {
	w.t.Helper()
	api := localenv.SDK(fake.URL())
	out, err := api.InitiateAuth(ctx(), &cip.InitiateAuthInput{AuthFlow: cipt.AuthFlowTypeUserPasswordAuth,
		ClientId: aws.String(w.clientID), AuthParameters: map[string]string{"USERNAME": w.username, "PASSWORD": w.password}})
	must(w.t, err)
	if out.AuthenticationResult == nil {
		w.t.Fatalf("sign-in was challenged (%s): TOTP is not off", out.ChallengeName)
	}
	_, err = api.SetUserMFAPreference(ctx(), &cip.SetUserMFAPreferenceInput{AccessToken: out.AuthenticationResult.AccessToken,
		SoftwareTokenMfaSettings: &cipt.SoftwareTokenMfaSettingsType{Enabled: true, PreferredMfa: true}})
	must(w.t, err)
}

// trySecret reads a Secret of w's namespace, which may not exist.
func (w *world) trySecret(name string) (*corev1.Secret, error) {
	s := &corev1.Secret{}
	return s, k8s.Get(ctx(), keyOf(w.ns, name), s)
}
