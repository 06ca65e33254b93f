package conformance

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// realClients are the real target's clients: Admin calls signed with the
// default credential chain (retried by the SDK through throttling), public
// ones unsigned and tried once, so that every answer is Cognito's own.
func realClients(t *testing.T, region string) (admin, public *cip.Client) {
	t.Helper()
	guardEndpoints(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err != nil {
		t.Skipf("COGNITO_CONFORMANCE_REGION=%s is set but the AWS configuration cannot be loaded: %v", region, err)
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		t.Skipf("COGNITO_CONFORMANCE_REGION=%s is set but no AWS credentials were found by the default chain "+
			"(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, SSO, web identity, instance or container role): %v", region, err)
	}
	admin = cip.NewFromConfig(cfg)
	public = cip.NewFromConfig(cfg, func(o *cip.Options) {
		o.Credentials = aws.AnonymousCredentials{}
		o.RetryMaxAttempts = 1
	})
	for _, c := range []*cip.Client{admin, public} {
		// endpoint_url in the shared config file reaches the clients without an environment variable.
		if ep := c.Options().BaseEndpoint; ep != nil {
			t.Fatalf("COGNITO_CONFORMANCE_REGION asks for real Cognito, but the AWS configuration sets the endpoint %s: remove endpoint_url from the profile", *ep)
		}
	}
	return admin, public
}

// guardEndpoints fails a real-path run whose environment would redirect the
// SDK, or the manager it starts, away from AWS: the only way to run the
// real path elsewhere is the explicit endpoint of the OnFake tests.
func guardEndpoints(t *testing.T) {
	t.Helper()
	if vars := endpointOverrides(os.Environ()); len(vars) > 0 {
		t.Fatalf("the real path must reach Cognito itself, but %s would send it elsewhere: unset it", strings.Join(vars, ", "))
	}
}

// endpointOverrides are the variables of environ that redirect the SDK, or
// a manager started with this environment, away from AWS: AWS_ENDPOINT_URL
// and its per-service forms.
func endpointOverrides(environ []string) []string {
	var out []string
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "AWS_ENDPOINT_URL") && value != "" {
			out = append(out, name)
		}
	}
	return out
}

func TestEndpointOverridesAreFound(t *testing.T) {
	for _, tc := range []struct {
		env  []string
		want []string
	}{
		{[]string{"HOME=/root", "AWS_REGION=eu-west-1"}, nil},
		{[]string{"AWS_ENDPOINT_URL=http://127.0.0.1:9229"}, []string{"AWS_ENDPOINT_URL"}},
		{[]string{"AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER=http://localhost:9229", "AWS_ENDPOINT_URL_STS="},
			[]string{"AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER"}},
	} {
		if got := endpointOverrides(tc.env); strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("endpointOverrides(%q) = %q, want %q", tc.env, got, tc.want)
		}
	}
}

// realPathRegion is where the real path runs on the fake: a China Region, so
// that the issuer outside the aws partition is checked there too.
const realPathRegion = "cn-north-1"

// realPathOnFake is the real target's path against a fake reached by an
// explicit endpoint, in its default modes with one-time codes on, as AWS is;
// admin is its signed client.
func realPathOnFake(t *testing.T) (tg *target, admin *cip.Client) {
	t.Helper()
	guardEndpoints(t)
	fake := cognitofake.New()
	if err := fake.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fake.Close() })
	fake.SetOneTimeCodes(true)
	admin = cip.New(cip.Options{Region: realPathRegion, BaseEndpoint: aws.String(fake.URL()), Credentials: dummyCredentials})
	public := cip.New(cip.Options{Region: realPathRegion, BaseEndpoint: aws.String(fake.URL()),
		Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1})
	tg = startRealPath(t, realPathRegion, admin, public)
	tg.onFake = fake
	return tg, admin
}

// TestConformanceRealPathOnFake runs the real target's path — provisioning
// through the Admin API, every behaviour as against AWS, teardown, the
// recording — in make test, against the fake reached by an explicit
// endpoint (never AWS_ENDPOINT_URL…). The fake runs in its default modes
// with one-time codes on, as AWS is. Then the newest aws recording is
// replayed against what the fake answered, and the IAM policy of doc.go is
// checked against every Admin call the path made.
func TestConformanceRealPathOnFake(t *testing.T) {
	t.Parallel() // its waits for TOTP steps overlap TestConformance's
	tg, admin := realPathOnFake(t)
	fake := tg.onFake
	tg.recordAs, tg.recordDir = "fake", t.TempDir()
	t.Run(targetReal, func(t *testing.T) { runBehaviours(t, tg) })

	rec, _, ok, err := newestRecording(tg.recordDir, "fake")
	if err != nil || !ok {
		t.Fatalf("the real path wrote no recording: %v", err)
	}
	replayAgainstFake(t, rec)
	t.Run("IAMPolicyCoversEveryAdminCall", func(t *testing.T) {
		allowed := iamPolicyActions(t)
		for op, n := range fake.CallCounts() {
			if !isPublic(op) && n > 0 && !allowed[op] {
				t.Errorf("the real path called %s, which doc.go's IAM policy does not allow", op)
			}
		}
	})
	t.Run("CleanupAfterAFailedProvisioning", func(t *testing.T) {
		// A pool whose configuration fails is still deleted by the teardown.
		sp := &sdkProvisioner{api: admin}
		fake.InjectFault("SetUserPoolMfaConfig", cognitofake.Fault{Code: "InvalidParameterException", Message: "injected by the test"})
		if _, err := sp.createPool(t.Context(), poolRequired); err == nil {
			t.Fatal("the injected fault did not fail the provisioning")
		}
		if len(sp.pools) != 1 {
			t.Fatalf("the half-made pool was not recorded for the teardown: %v", sp.pools)
		}
		id := sp.pools[0]
		sp.teardown(t)
		if _, err := admin.DescribeUserPool(t.Context(), &cip.DescribeUserPoolInput{UserPoolId: aws.String(id)}); errCode(err) != "ResourceNotFoundException" {
			t.Errorf("the half-made pool %s survived the teardown: %s", id, outcome(err))
		}
	})
	t.Run("Teardown", func(t *testing.T) {
		// The cleanup that deletes the pools runs after this test: check
		// that it would, by running it now; a second run finds nothing.
		tg.prov.(*sdkProvisioner).teardown(t)
		for kind, p := range tg.pools {
			if _, err := admin.DescribeUserPool(t.Context(), &cip.DescribeUserPoolInput{UserPoolId: aws.String(p.id)}); errCode(err) != "ResourceNotFoundException" {
				t.Errorf("the %s pool %s survived the teardown: %s", kind, p.id, outcome(err))
			}
		}
	})
}
