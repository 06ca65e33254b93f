package node

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	pqtotp "github.com/pquerna/otp/totp"
	corev1 "k8s.io/api/core/v1"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/localenv"
)

// cognitoPool is the suite's user pool in cognito-local (MFA optional,
// software tokens enabled) and its app client.
type cognitoPool struct{ id, client string }

// enrollment is a SoftwareTokenEnrollment the test applied, for a Cognito
// user of the same name.
type enrollment struct {
	ns, name, password string
}

// enroll creates the user in cognito-local and applies its credentials
// Secret and its enrollment, naming the suite's pool and client inline with
// the deletion policy, as a user would.
func enroll(t *testing.T, ns, name string, policy v1alpha1.DeletionPolicy) enrollment {
	t.Helper()
	return enrollSpec(t, ns, name, "userPoolID: "+pool.id, "clientID: "+pool.client, "deletionPolicy: "+string(policy))
}

// enrollSpec is enroll with the spec's pool fields (and more) given.
func enrollSpec(t *testing.T, ns, name string, spec ...string) enrollment {
	t.Helper()
	e := enrollment{ns: ns, name: name, password: "Pw-" + name + "-Correct-Horse-9"}
	if err := cognito.CreateUser(context.Background(), pool.id, name, e.password); err != nil {
		t.Fatalf("creating the Cognito user %s: %v", name, err)
	}
	apply(t, localenv.CredentialsEnrollment(ns, name, e.password, spec...))
	return e
}

// waitReady waits with kubectl, as a pipeline would, for the enrollments
// (all in one namespace) to be Ready.
func waitReady(t *testing.T, timeout time.Duration, es ...enrollment) {
	t.Helper()
	args := []string{"wait", "-n", es[0].ns, "--for=condition=Ready", fmt.Sprintf("--timeout=%ds", int(timeout.Seconds()))}
	for _, e := range es {
		args = append(args, "softwaretokenenrollment/"+e.name)
	}
	kubectl(t, args...)
}

func (e enrollment) secretName() string { return e.name + "-totp" }

// seed is the verified seed the enrollment's Secret stores.
func (e enrollment) seed(t *testing.T) string {
	t.Helper()
	enc := kubectl(t, "get", "secret", "-n", e.ns, e.secretName(), "-o", "jsonpath={.data.secret}")
	b, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(b) == 0 {
		t.Fatalf("Secret %s/%s has no seed: %v", e.ns, e.secretName(), err)
	}
	return string(b)
}

// seeds are the enrollments' stored seeds, by name.
func seeds(t *testing.T, es []enrollment) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, e := range es {
		out[e.name] = e.seed(t)
	}
	return out
}

// proveMFA signs in as the user with the SDK and a code pquerna/otp computes
// from the stored seed: none of the operator's code takes part.
func (e enrollment) proveMFA(t *testing.T) {
	t.Helper()
	code, err := pqtotp.GenerateCode(e.seed(t), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	consumer := localenv.Consumer{API: cognito.API(), ClientID: pool.client, Username: e.name, Password: e.password}
	if _, err := consumer.SignInWithMFA(context.Background(), code); err != nil {
		t.Fatalf("%s: MFA sign-in with the stored seed: %v", e.name, err)
	}
}

// mfaOn says whether Cognito asks the user for a software-token code at
// sign-in: what "the user has MFA on" means to whoever signs in.
func (e enrollment) mfaOn(t *testing.T) bool {
	t.Helper()
	out, err := cognito.API().InitiateAuth(context.Background(), &cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeUserPasswordAuth,
		ClientId: aws.String(pool.client), AuthParameters: map[string]string{"USERNAME": e.name, "PASSWORD": e.password}})
	if err != nil {
		t.Fatalf("%s: signing in: %v", e.name, err)
	}
	switch {
	case out.ChallengeName == types.ChallengeNameTypeSoftwareTokenMfa:
		return true
	case out.AuthenticationResult != nil:
		return false
	}
	t.Fatalf("%s: sign-in answered challenge %q", e.name, out.ChallengeName)
	return false
}

// associations is how many AssociateSoftwareToken calls the operator has
// made (the counting proxy sees every call it makes; the tests' own sign-ins
// go to cognito-local directly).
func associations() int { return cognito.CallCounts()["AssociateSoftwareToken"] }

// storedSeeds counts the enrollments of ns whose Secret holds a seed,
// verified or staged: what the operator will not associate again.
func storedSeeds(t *testing.T, ns string) int {
	t.Helper()
	var list corev1.SecretList
	out := kubectl(t, "get", "secrets", "-n", ns, "-l", v1alpha1.LabelEnrollment, "-o", "json")
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range list.Items {
		if len(s.Data[v1alpha1.KeySecret]) > 0 || len(s.Data[v1alpha1.KeyPendingSecret]) > 0 {
			n++
		}
	}
	return n
}

// condition is the enrollment's condition as status/reason, "" when absent.
func (e enrollment) condition(t *testing.T, condType string) string {
	t.Helper()
	out := kubectl(t, "get", "softwaretokenenrollment", "-n", e.ns, e.name, "-o",
		fmt.Sprintf(`jsonpath={.status.conditions[?(@.type=="%s")].status}/{.status.conditions[?(@.type=="%s")].reason}`, condType, condType))
	return strings.Trim(out, "/")
}
