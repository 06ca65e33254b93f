package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	pqtotp "github.com/pquerna/otp/totp"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
)

// pool is one cognito-local user pool with two app clients, one with a secret.
type pool struct {
	id, client, secretClient, clientSecret string
}

func newPool(t *testing.T, name string, mfa types.UserPoolMfaType) pool {
	t.Helper()
	var p pool
	var err error
	if p.id, err = cognito.CreatePool(ctx(), name, mfa); err != nil {
		t.Fatal(err)
	}
	if p.client, _, err = cognito.CreateClient(ctx(), p.id, name+"-plain", false); err != nil {
		t.Fatal(err)
	}
	if p.secretClient, p.clientSecret, err = cognito.CreateClient(ctx(), p.id, name+"-secret", true); err != nil {
		t.Fatal(err)
	}
	remember(p.clientSecret)
	return p
}

func (p pool) user(t *testing.T, username string) string {
	t.Helper()
	password := "Pw-" + username + "-Correct-Horse-9"
	if err := cognito.CreateUser(ctx(), p.id, username, password); err != nil {
		t.Fatal(err)
	}
	remember(password)
	return password
}

func enrollmentManifest(ns, name string, spec string) string {
	return fmt.Sprintf(`apiVersion: mfa.cognito-operator.dev/v1alpha1
kind: SoftwareTokenEnrollment
metadata: {name: %s, namespace: %s}
spec:
%s
`, name, ns, spec)
}

// The scenarios run in order: the restart and the log scan look back at
// everything the earlier ones did.
func TestEndToEnd(t *testing.T) {
	p := newPool(t, "e2e", types.UserPoolMfaTypeOptional)
	ns := "e2e"
	var earlyPassword string
	namespace(t, ns)

	t.Run("credentials flow", func(t *testing.T) {
		password := p.user(t, "ci-bot")
		apply(t, credentialsManifest(ns, "ci-bot-credentials", "ci-bot", password)+"---\n"+
			enrollmentManifest(ns, "ci-bot", fmt.Sprintf("  userPoolID: %s\n  clientID: %s\n  credentialsSecretRef: {name: ci-bot-credentials}\n  friendlyDeviceName: ci-bot", p.id, p.client)))
		waitReady(t, ns, "ci-bot")
		ste := waitCondition(t, ns, "ci-bot", v1alpha1.ConditionReady, "True", v1alpha1.ReasonEnrolled)
		if ste.Status.SecretName != "ci-bot-totp" || ste.Status.VerificationStatus != "SUCCESS" || ste.Status.SecretFingerprint == "" {
			t.Fatalf("status %+v", ste.Status)
		}
		proveMFA(t, p.client, "", "ci-bot", password, storedSecret(t, ns, "ci-bot-totp"))
	})

	t.Run("credentials flow with a client secret", func(t *testing.T) {
		password := p.user(t, "partner")
		apply(t, credentialsManifest(ns, "partner-credentials", "partner", password)+"---\n"+
			fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata: {name: app-client, namespace: %s}\nstringData: {secret: %q}\n---\n", ns, p.clientSecret)+
			enrollmentManifest(ns, "partner", fmt.Sprintf("  userPoolID: %s\n  clientID: %s\n  clientSecretRef: {name: app-client, key: secret}\n  credentialsSecretRef: {name: partner-credentials}", p.id, p.secretClient)))
		waitReady(t, ns, "partner")
		proveMFA(t, p.secretClient, p.clientSecret, "partner", password, storedSecret(t, ns, "partner-totp"))
	})

	t.Run("access token flow", func(t *testing.T) {
		password := p.user(t, "token-bot")
		out, err := cognito.API().InitiateAuth(ctx(), &cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeUserPasswordAuth,
			ClientId: aws.String(p.client), AuthParameters: map[string]string{"USERNAME": "token-bot", "PASSWORD": password}})
		if err != nil {
			t.Fatal(err)
		}
		token := aws.ToString(out.AuthenticationResult.AccessToken)
		remember(token, aws.ToString(out.AuthenticationResult.IdToken), aws.ToString(out.AuthenticationResult.RefreshToken))
		apply(t, fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata: {name: token, namespace: %s}\nstringData: {access-token: %q}\n---\n", ns, token)+
			enrollmentManifest(ns, "token-bot", fmt.Sprintf("  userPoolID: %s\n  accessTokenSecretRef: {name: token, key: access-token}", p.id)))
		waitReady(t, ns, "token-bot")
		proveMFA(t, p.client, "", "token-bot", password, storedSecret(t, ns, "token-bot-totp"))
	})

	t.Run("bad inputs stall or wait, and stalls make no calls", func(t *testing.T) {
		password := p.user(t, "typo")
		apply(t, credentialsManifest(ns, "typo-credentials", "typo", "not-"+password)+"---\n"+
			enrollmentManifest(ns, "typo", fmt.Sprintf("  userPoolID: %s\n  clientID: %s\n  credentialsSecretRef: {name: typo-credentials}", p.id, p.client)))
		waitCondition(t, ns, "typo", v1alpha1.ConditionStalled, "True", v1alpha1.ReasonInvalidCredentials)

		p.user(t, "lost")
		apply(t, enrollmentManifest(ns, "unknown-client", fmt.Sprintf("  userPoolID: %s\n  clientID: nosuchclient\n  credentialsSecretRef: {name: typo-credentials}", p.id)))
		ste := waitCondition(t, ns, "unknown-client", v1alpha1.ConditionStalled, "True", v1alpha1.ReasonResourceNotFound)
		if msg := ste.Status.Conditions[0].Message; !strings.Contains(msg, "nosuchclient") {
			t.Fatalf("message does not name the client: %q", msg)
		}

		apply(t, enrollmentManifest(ns, "early", fmt.Sprintf("  userPoolID: %s\n  clientID: %s\n  credentialsSecretRef: {name: early-credentials}", p.id, p.client)))
		waitCondition(t, ns, "early", v1alpha1.ConditionReconciling, "True", v1alpha1.ReasonCredentialsSecretNotFound)

		// Stalled and waiting enrollments cost nothing, even when poked.
		kubectl(t, "annotate", "-n", ns, "ste/typo", "ste/unknown-client", "ste/early", "poked=1")
		expectQuiet(t, 2*time.Second)

		// The missing Secret arrives: it proceeds, no restart needed.
		earlyPassword = p.user(t, "early")
		apply(t, credentialsManifest(ns, "early-credentials", "early", earlyPassword))
		waitReady(t, ns, "early")
		proveMFA(t, p.client, "", "early", earlyPassword, storedSecret(t, ns, "early-totp"))

		// The corrected password recovers the stalled one.
		apply(t, credentialsManifest(ns, "typo-credentials", "typo", password))
		waitReady(t, ns, "typo")
		proveMFA(t, p.client, "", "typo", password, storedSecret(t, ns, "typo-totp"))
	})

	t.Run("kubectl mfa plugin", func(t *testing.T) {
		secret := storedSecret(t, ns, "ci-bot-totp")
		before := time.Now()
		code := strings.TrimSpace(kubectl(t, "mfa", "code", "ci-bot", "-n", ns))
		remember(code)
		if !pqtotp.Validate(code, secret) {
			now, _ := pqtotp.GenerateCode(secret, before)
			t.Fatalf("kubectl mfa code printed %q; pquerna says %q", code, now)
		}
		// --next 29 waits for a fresh step unless more than 29 s are left.
		start := time.Now()
		code = strings.TrimSpace(kubectl(t, "mfa", "code", "ci-bot", "-n", ns, "--next", "29"))
		if left := 30 - time.Now().Unix()%30; left < 28 || time.Since(start) > 31*time.Second || !regexp.MustCompile(`^\d{6}$`).MatchString(code) {
			t.Fatalf("--next returned %q with %d s of its step left", code, left)
		}

		status := kubectl(t, "mfa", "status", "ci-bot", "-n", ns)
		for _, want := range []string{"Ready:", "True (Enrolled)", "Keys:", "otpauth-url, secret, username",
			getSTE(t, ns, "ci-bot").Status.SecretFingerprint, "Events:", "Verified"} {
			if !strings.Contains(status, want) {
				t.Errorf("status lacks %q:\n%s", want, status)
			}
		}
		if strings.Contains(status, secret) {
			t.Fatal("status prints the secret")
		}

		out := kubectl(t, "mfa", "login", "ci-bot", "-n", ns, "--cognito-endpoint", cognito.Upstream, "--region", "us-east-1")
		var tokens map[string]any
		if err := json.Unmarshal([]byte(out), &tokens); err != nil {
			t.Fatalf("login output is not JSON: %v", err)
		}
		access, _ := tokens["AccessToken"].(string)
		remember(access, fmt.Sprint(tokens["IdToken"]), fmt.Sprint(tokens["RefreshToken"]))
		user, err := cognito.API().GetUser(ctx(), &cip.GetUserInput{AccessToken: aws.String(access)})
		if err != nil || aws.ToString(user.Username) != "ci-bot" {
			t.Fatalf("the login token does not work: %v", err)
		}
		fpBefore := getSTE(t, ns, "early").Status.SecretFingerprint
		out = kubectl(t, "mfa", "rotate", "early", "-n", ns)
		if !strings.Contains(out, "rotation requested: mfa.cognito-operator.dev/rotate=") {
			t.Fatalf("rotate said %q", out)
		}
		for deadline := time.Now().Add(30 * time.Second); getSTE(t, ns, "early").Status.SecretFingerprint == fpBefore; time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("kubectl mfa rotate did not rotate")
			}
		}
		waitReady(t, ns, "early")
		proveMFA(t, p.client, "", "early", earlyPassword, storedSecret(t, ns, "early-totp"))

		if _, err := cp.Kubectl(ctx(), "mfa", "login", "token-bot", "-n", ns, "--cognito-endpoint", cognito.Upstream); err == nil ||
			!strings.Contains(err.Error(), "uses an access token") {
			t.Fatalf("login of an access-token enrollment: %v", err)
		}
	})

	t.Run("restart re-enrolls nothing", func(t *testing.T) {
		names := []string{"ci-bot", "partner", "token-bot", "early", "typo"}
		fingerprints := map[string]string{}
		for _, n := range names {
			fingerprints[n] = getSTE(t, ns, n).Status.SecretFingerprint
		}
		before := cognito.CallCounts()
		manager.Stop()
		if err := startManager(); err != nil {
			t.Fatal(err)
		}
		waitForLog(t, "Starting workers", 2)
		time.Sleep(3 * time.Second)
		for _, n := range names {
			if fp := getSTE(t, ns, n).Status.SecretFingerprint; fp != fingerprints[n] {
				t.Fatalf("%s's secret changed across the restart", n)
			}
		}
		if after := cognito.CallCounts(); after["AssociateSoftwareToken"] != before["AssociateSoftwareToken"] ||
			fmt.Sprint(after) != fmt.Sprint(before) {
			t.Fatalf("the restarted manager called Cognito: before %v, after %v", before, after)
		}
	})

	t.Run("config/default is valid against the API server", func(t *testing.T) {
		namespace(t, "cognito-mfa-operator-system")
		out := kubectl(t, "apply", "--dry-run=server", "-k", filepath.Join(root, "config/default"))
		for _, want := range []string{"deployment.apps/cognito-mfa-operator-controller-manager", "clusterrole.rbac.authorization.k8s.io/cognito-mfa-operator-manager-role",
			"service/cognito-mfa-operator-controller-manager-metrics", "serviceaccount/cognito-mfa-operator-controller-manager"} {
			if !strings.Contains(out, want) {
				t.Errorf("dry run lacks %s:\n%s", want, out)
			}
		}
	})

	t.Run("config/prometheus builds a ServiceMonitor for the metrics Service", func(t *testing.T) {
		out := kubectl(t, "kustomize", filepath.Join(root, "config/prometheus"))
		for _, want := range []string{"kind: ServiceMonitor", "namespace: cognito-mfa-operator-system", "port: metrics",
			"app.kubernetes.io/component: manager"} {
			if !strings.Contains(out, want) {
				t.Errorf("lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("no secret in the manager's log", func(t *testing.T) {
		log := manager.Log()
		used.Lock()
		values := append([]string(nil), used.values...)
		used.Unlock()
		hits := 0
		for _, v := range values {
			if regexp.MustCompile(`\b` + regexp.QuoteMeta(v) + `\b`).MatchString(log) {
				hits++
				t.Errorf("a secret value of %d characters appears in the manager's log", len(v))
			}
		}
		t.Logf("searched %d bytes of manager log for %d secret values: %d hits", len(log), len(values), hits)
		if len(log) == 0 || len(values) < 10 {
			t.Fatal("nothing to scan")
		}
	})
}

// waitForLog waits until the manager's log holds a line n times.
func waitForLog(t *testing.T, line string, n int) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if strings.Count(manager.Log(), line) >= n {
			return
		}
	}
	t.Fatalf("the manager never logged %q %d times", line, n)
}
