package e2e

import (
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// Cognito unreachable: Reconciling/CognitoUnavailable with backoff, never
// Stalled; when Cognito comes up on that address, the enrollment proceeds
// without a restart.
func TestCognitoUnreachable(t *testing.T) {
	addr := freeAddr(t) // nothing listens there yet
	r := &crashRig{t: t, ns: "unreachable", fake: cognitofake.New(), endpoint: "http://" + addr}
	r.launch()
	c := r.user("offline", cognitofake.MFAOptional)
	ste := waitCondition(t, r.ns, "offline", v1alpha1.ConditionReconciling, "True", v1alpha1.ReasonCognitoUnavailable)
	if msg := ste.Status.Conditions[0].Message; !strings.Contains(msg, "connection refused") {
		t.Fatalf("message does not say why: %q", msg)
	}
	time.Sleep(3 * time.Second)
	// Still retrying, never stalled: Stalled is absent while not True.
	ste = waitCondition(t, r.ns, "offline", v1alpha1.ConditionReconciling, "True", v1alpha1.ReasonCognitoUnavailable)
	for _, c := range ste.Status.Conditions {
		if c.Type == v1alpha1.ConditionStalled {
			t.Fatalf("stalled on a transient failure: %+v", c)
		}
	}
	if n := ste.Status.FailedAttempts; n < 2 || n > 6 {
		t.Fatalf("%d attempts in about 3 s with a 200ms base delay: want a doubling backoff", n)
	}
	if err := r.fake.StartOn(addr); err != nil {
		t.Fatal(err)
	}
	r.proven("offline", c)
}

// TLS failure: an endpoint whose certificate the manager does not trust is
// Reconciling/TLSError, retried with backoff; given the CA via AWS_CA_BUNDLE
// the same endpoint works.
func TestTLSFailureAndCABundle(t *testing.T) {
	fake := cognitofake.New()
	var handshakes atomic.Int32
	srv := httptest.NewUnstartedServer(fake)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			handshakes.Add(1)
		}
	}
	srv.StartTLS()
	defer srv.Close()
	r := &crashRig{t: t, ns: "tls", fake: fake, endpoint: srv.URL, api: cip.New(cip.Options{Region: "us-east-1",
		BaseEndpoint: aws.String(srv.URL), Credentials: aws.AnonymousCredentials{}, HTTPClient: srv.Client()})}
	r.launch()
	c := r.user("secure", cognitofake.MFAOptional)
	ste := waitCondition(t, r.ns, "secure", v1alpha1.ConditionReconciling, "True", v1alpha1.ReasonTLSError)
	if msg := ste.Status.Conditions[0].Message; !strings.Contains(msg, "certificate") {
		t.Fatalf("message does not say why: %q", msg)
	}
	time.Sleep(3 * time.Second)
	if n := handshakes.Load(); n > 20 {
		t.Fatalf("%d connections in about 3 s: no backoff", n)
	}

	bundle := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(bundle, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	r.manager().Stop()
	r.env = []string{"AWS_CA_BUNDLE=" + bundle}
	r.start()
	r.proven("secure", c)
}
