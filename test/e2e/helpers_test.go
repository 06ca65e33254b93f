package e2e

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"
	pqtotp "github.com/pquerna/otp/totp"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	ktypes "k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/localenv"
)

func ctx() context.Context { return context.Background() }

// used collects every secret value the tests handle, for the log scan.
var used struct {
	sync.Mutex
	values []string
}

func remember(vs ...string) {
	used.Lock()
	defer used.Unlock()
	for _, v := range vs {
		if v != "" {
			used.values = append(used.values, v)
		}
	}
}

func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := cp.Kubectl(ctx(), args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// apply writes manifest to a file and applies it with kubectl, as a user would.
func apply(t *testing.T, manifest string) {
	t.Helper()
	if err := cp.Apply(ctx(), work, manifest); err != nil {
		t.Fatal(err)
	}
}

var k8sClient = sync.OnceValue(func() client.Client {
	scheme := runtime.NewScheme()
	_ = v1alpha1.AddToScheme(scheme)
	c, err := client.New(cp.Config, client.Options{Scheme: scheme})
	if err != nil {
		panic(err)
	}
	return c
})

func getSTE(t *testing.T, ns, name string) *v1alpha1.SoftwareTokenEnrollment {
	t.Helper()
	ste := &v1alpha1.SoftwareTokenEnrollment{}
	if err := k8sClient().Get(ctx(), ktypes.NamespacedName{Namespace: ns, Name: name}, ste); err != nil {
		t.Fatal(err)
	}
	return ste
}

// waitCondition polls until the enrollment has the condition with the reason.
func waitCondition(t *testing.T, ns, name, condType, status, reason string) *v1alpha1.SoftwareTokenEnrollment {
	t.Helper()
	var ste *v1alpha1.SoftwareTokenEnrollment
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		ste = getSTE(t, ns, name)
		c := meta.FindStatusCondition(ste.Status.Conditions, condType)
		if c != nil && string(c.Status) == status && c.Reason == reason && ste.Status.ObservedGeneration == ste.Generation {
			return ste
		}
	}
	t.Fatalf("%s/%s never had %s=%s (%s): %+v", ns, name, condType, status, reason, ste.Status.Conditions)
	return nil
}

// waitReady waits with kubectl, as a pipeline would.
func waitReady(t *testing.T, ns, name string) {
	t.Helper()
	kubectl(t, "wait", "-n", ns, "softwaretokenenrollment/"+name, "--for=condition=Ready", "--timeout=60s")
}

// storedSecret reads the Secret's seed with kubectl.
func storedSecret(t *testing.T, ns, name string) string {
	t.Helper()
	enc := kubectl(t, "get", "secret", "-n", ns, name, "-o", "jsonpath={.data.secret}")
	b, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(b) == 0 {
		t.Fatalf("Secret %s/%s has no secret: %v", ns, name, err)
	}
	remember(string(b))
	return string(b)
}

// signIn signs in with the SDK and answers the MFA challenge with a code
// that pquerna/otp computes from secret at now+offset: nothing of the
// operator's code takes part.
func signIn(clientID, clientSecret, username, password, secret string, offset time.Duration) (string, error) {
	code, err := pqtotp.GenerateCode(secret, time.Now().Add(offset))
	if err != nil {
		return "", err
	}
	remember(code)
	consumer := localenv.Consumer{API: cognito.API(), ClientID: clientID, ClientSecret: clientSecret, Username: username, Password: password}
	res, err := consumer.SignInWithMFA(ctx(), code)
	if err != nil {
		return "", err
	}
	remember(aws.ToString(res.AccessToken), aws.ToString(res.IdToken), aws.ToString(res.RefreshToken))
	return aws.ToString(res.AccessToken), nil
}

// proveMFA asserts that the stored secret passes a real MFA sign-in and that
// a stale code does not.
func proveMFA(t *testing.T, clientID, clientSecret, username, password, secret string) {
	t.Helper()
	if _, err := signIn(clientID, clientSecret, username, password, secret, 0); err != nil {
		t.Fatalf("MFA sign-in with the stored secret: %v", err)
	}
	_, err := signIn(clientID, clientSecret, username, password, secret, -10*time.Minute)
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "CodeMismatchException" {
		t.Fatalf("a wrong code was not rejected with CodeMismatchException: %v", err)
	}
}

// expectQuiet asserts cognito-local receives no call for d.
func expectQuiet(t *testing.T, d time.Duration) {
	t.Helper()
	if before, after, quiet := localenv.Quiet(d, cognito.CallCounts); !quiet {
		t.Fatalf("Cognito was called: before %v, after %v", before, after)
	}
}

func credentialsManifest(ns, name, username, password string) string {
	remember(password)
	return fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata: {name: %s, namespace: %s}
type: Opaque
stringData: {username: %q, password: %q}
`, name, ns, username, password)
}

func namespace(t *testing.T, name string) {
	t.Helper()
	kubectl(t, "create", "namespace", name)
}

// freeAddr is a loopback address nothing listens on (yet).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
