package conformance

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/localenv"
)

// Target names, as COGNITO_CONFORMANCE_TARGET and the subtests spell them.
const (
	targetFake         = "fake"
	targetCognitoLocal = "cognito-local"
	targetReal         = "real"
)

// target is one Cognito the suite runs against.
type target struct {
	name string
	// api is unsigned, as the operator sends the public operations.
	api  *cip.Client
	prov provisioner
	// fake is set on the fake target: its injections and modes.
	fake *cognitofake.Server
	// calls is set on the cognito-local target: it counts signatures.
	calls *callCounter
	// gaps are the behaviours the target is declared to lack.
	gaps map[string]string
	// region of the real target, for the expected token issuer.
	region string
	// rec holds what the target answered; a real-account run writes it to
	// recordDir as a recording of recordAs ("aws").
	rec                 *recorder
	recordAs, recordDir string
	// onFake is the fake under the real target's path in make test
	// (TestConformanceRealPathOnFake), for its call counts.
	onFake *cognitofake.Server

	mu      sync.Mutex
	pools   map[poolKind]*pool
	checked map[string]bool // gaps some behaviour looked at
}

func (tg *target) isReal() bool { return tg.name == targetReal }

// TestConformance runs every behaviour against the fake and cognito-local,
// or the ones COGNITO_CONFORMANCE_TARGET names.
func TestConformance(t *testing.T) {
	names, err := selectedTargets(os.Getenv("COGNITO_CONFORMANCE_TARGET"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel() // separate servers: nothing shared, and waits for a TOTP step overlap
			var tg *target
			switch name {
			case targetFake:
				tg = startFake(t)
			case targetCognitoLocal:
				tg = startCognitoLocal(t)
			}
			runBehaviours(t, tg)
		})
	}
}

// TestConformanceReal runs every behaviour against real Cognito in
// COGNITO_CONFORMANCE_REGION, with the default AWS credential chain.
func TestConformanceReal(t *testing.T) {
	region := os.Getenv("COGNITO_CONFORMANCE_REGION")
	if region == "" {
		t.Skip("real target not selected: set COGNITO_CONFORMANCE_REGION (and AWS credentials) to run the suite against a throw-away user pool")
	}
	tg := startReal(t, region) // skips this test, not a subtest, without credentials
	t.Run(targetReal, func(t *testing.T) { runBehaviours(t, tg) })
}

func selectedTargets(env string) ([]string, error) {
	if strings.TrimSpace(env) == "" {
		return []string{targetFake, targetCognitoLocal}, nil
	}
	var names []string
	for _, n := range strings.Split(env, ",") {
		switch n = strings.TrimSpace(n); n {
		case targetFake, targetCognitoLocal:
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		case targetReal:
			return nil, fmt.Errorf("COGNITO_CONFORMANCE_TARGET=%s: the real target is chosen by COGNITO_CONFORMANCE_REGION (run -run Real)", env)
		default:
			return nil, fmt.Errorf("COGNITO_CONFORMANCE_TARGET=%s: want %s, %s or both, comma-separated", env, targetFake, targetCognitoLocal)
		}
	}
	return names, nil
}

func startFake(t *testing.T) *target {
	fake := cognitofake.New()
	if err := fake.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fake.Close() })
	// Strictest: real Cognito refuses a code it accepted before, and the
	// suite is written never to reuse one, so one-time codes stay on for
	// every behaviour, not only the one that tests them.
	fake.SetOneTimeCodes(true)
	return newTarget(targetFake, localSDK(fake.URL()), &fakeProvisioner{fake: fake}, func(tg *target) { tg.fake = fake })
}

func startCognitoLocal(t *testing.T) *target {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "hack", "cognito-local", "node_modules", "cognito-local")); err != nil {
		t.Skip("cognito-local is not installed (hack/cognito-local/node_modules is missing): run `make cognito-local` at the repository root")
	}
	local, err := localenv.StartCognitoLocal(root, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(local.Stop)
	// cognito-local itself (Upstream), not localenv's proxy, which may grow
	// shims of AWS behaviour for other tests: the gaps are cognito-local's.
	calls := countCalls(t, local.Upstream)
	// Admin calls signed with dummy keys: the provisioning code is the real
	// target's, signature and all.
	admin := cip.New(cip.Options{Region: "us-east-1", BaseEndpoint: aws.String(calls.url),
		Credentials: dummyCredentials, RetryMaxAttempts: 1})
	tg := newTarget(targetCognitoLocal, localSDK(calls.url), &sdkProvisioner{api: admin}, func(tg *target) {
		tg.calls = calls
		tg.gaps = cognitoLocalGaps
	})
	t.Cleanup(func() { tg.prov.(*sdkProvisioner).teardown(t) })
	return tg
}

// startReal is the real target in COGNITO_CONFORMANCE_REGION with the
// default credential chain; it records into testdata/.
func startReal(t *testing.T, region string) *target {
	admin, public := realClients(t, region) // skips this test, not a subtest, without credentials
	tg := startRealPath(t, region, admin, public)
	tg.recordAs, tg.recordDir = recordingTargetAWS, "testdata"
	t.Logf("real target: region %s; pools are deleted at the end of the run", region)
	return tg
}

// startRealPath is the real target's path on the clients given: AWS's, or
// the fake's in TestConformanceRealPathOnFake.
func startRealPath(t *testing.T, region string, admin, public *cip.Client) *target {
	tg := newTarget(targetReal, public, &sdkProvisioner{api: admin}, func(tg *target) { tg.region = region })
	t.Cleanup(func() { tg.prov.(*sdkProvisioner).teardown(t) })
	return tg
}

func newTarget(name string, api *cip.Client, prov provisioner, with func(*target)) *target {
	tg := &target{name: name, api: api, prov: prov, pools: map[poolKind]*pool{}, checked: map[string]bool{}, rec: newRecorder()}
	with(tg)
	return tg
}

// localSDK is an unsigned client for a loopback endpoint.
func localSDK(endpoint string) *cip.Client {
	return cip.New(cip.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1})
}

// dummyCredentials sign cognito-local's Admin calls; it checks no signature.
var dummyCredentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: "AKIDCONFORMANCE", SecretAccessKey: "conformance-dummy", Source: "conformance"}, nil
})

// runBehaviours runs each behaviour in turn: the fake's modes are server-wide
// and real Cognito's quotas are per account, so nothing runs in parallel
// within a target.
func runBehaviours(t *testing.T, tg *target) {
	start := time.Now()
	for _, b := range behaviours {
		t.Run(b.name, func(t *testing.T) {
			tg.rec.ran(b.name)
			if reason := b.fakeOnly; reason != "" && tg.fake == nil {
				t.Skipf("fake-only: %s, which this run does not provision", reason)
			}
			b.run(t, tg)
		})
	}
	t.Run("RequestSigning", func(t *testing.T) { checkSigning(t, tg) })
	if tg.gaps != nil && flag.Lookup("test.run").Value.String() == "" {
		// Only a full run has visited every behaviour.
		for name := range tg.gaps {
			if !tg.checked[name] {
				t.Errorf("%s: gap %q is declared but no behaviour checks it: remove it or test it", tg.name, name)
			}
		}
	}
	t.Logf("%s: behaviours took %s", tg.name, time.Since(start).Round(time.Millisecond))
	if tg.recordDir != "" {
		path, err := writeRecording(tg.recordDir, tg.rec.recording(tg.recordAs, tg.region, time.Now()))
		if err != nil {
			t.Errorf("writing what %s answered: %v", tg.name, err)
		} else {
			t.Logf("RECORDED every answer in %s", path)
		}
	}
}

// publicOps are the operations the operator uses: Cognito authorises them
// without IAM, and the SDK must send them unsigned.
var publicOps = []string{"InitiateAuth", "RespondToAuthChallenge", "AssociateSoftwareToken",
	"VerifySoftwareToken", "SetUserMFAPreference", "GetUser"}

// checkSigning proves the suite spoke to the target as the operator and an
// administrator would: public operations unsigned, Admin ones signed.
// Source: [SDK] api_op_AssociateSoftwareToken.go ("Amazon Cognito doesn't
// evaluate Identity and Access Management (IAM) policies"); fidelity
// "The user operations … are public and sent unsigned".
func checkSigning(t *testing.T, tg *target) {
	switch {
	case tg.fake != nil:
		if n := tg.fake.SignedRequests(); n != 0 {
			t.Errorf("the fake received %d signed requests; the public operations must go unsigned", n)
		}
	case tg.calls != nil:
		calls, signed := tg.calls.counts()
		for op, n := range calls {
			public := slices.Contains(publicOps, op)
			switch {
			case public && signed[op] != 0:
				t.Errorf("%s: %d of %d calls were signed; public operations must go unsigned", op, signed[op], n)
			case !public && signed[op] != n:
				t.Errorf("%s: %d of %d calls were signed; Admin operations need SigV4", op, signed[op], n)
			}
		}
		t.Logf("calls per operation %v, signed %v", calls, signed)
	case tg.onFake != nil:
		// The real path on the fake: the fake refuses unsigned Admin calls.
		if n := tg.onFake.SignedRequests(); n != 0 {
			t.Errorf("the real path sent %d signed public requests", n)
		}
	default:
		t.Skip("real target: nothing counts signatures, but Cognito refuses unsigned Admin calls, and the public client has anonymous credentials, which cannot sign")
	}
}

// callCounter is a reverse proxy in front of cognito-local that counts calls
// per operation, and those signed: cognito-local checks no signature, so
// this is where the suite proves it sent the public operations unsigned and
// the Admin ones signed, as real Cognito needs.
type callCounter struct {
	url           string
	mu            sync.Mutex
	calls, signed map[string]int
}

func countCalls(t *testing.T, upstream string) *callCounter {
	up, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(up)
	c := &callCounter{calls: map[string]int{}, signed: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AWSCognitoIdentityProviderService.")
		c.mu.Lock()
		c.calls[op]++
		if r.Header.Get("Authorization") != "" {
			c.signed[op]++
		}
		c.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c.url = srv.URL
	return c
}

func (c *callCounter) counts() (calls, signed map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.calls), maps.Clone(c.signed)
}
