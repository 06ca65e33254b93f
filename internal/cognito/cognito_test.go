package cognito_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

func TestSecretHashMatchesAWSFormula(t *testing.T) {
	// Base64(HMAC-SHA256(key="secret", "user"+"client")), computed independently with Python's hmac.
	if got, want := cognito.SecretHash("secret", "user", "client"), "wvW87lzZoI+qQCVGmWVBJLlucdJ65huAVP1z+0MgA6E="; got != want {
		t.Fatalf("SecretHash = %s, want %s", got, want)
	}
}

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, out string }{
		{"bad password hunter2-long", "bad password " + "[REDACTED]"},
		{"token eyJhbGciOi.eyJzdWIiOi.sig_part here", "token [REDACTED] here"},
		{"seed JBSWY3DPEHPK3PXPJBSWY3DP", "seed [REDACTED]"},
		{"Value '123456' at 'userCode'", "Value '[REDACTED]' at 'userCode'"},
		{"User pool client abc does not exist.", "User pool client abc does not exist."},
		// A base64 token, mixed case, is redacted; a Kubernetes name of 64
		// characters or more (lower case) is not.
		{"session AYABeLs0mJ4Zq9X2nMdYy1WcKzPqRtUvWxYz0123456789abcdefghijklmnopqrstuvwx end", "session [REDACTED] end"},
		{"Secret \"a-very-long-enrollment-name-that-is-longer-than-sixty-four-characters-totp\" exists",
			"Secret \"a-very-long-enrollment-name-that-is-longer-than-sixty-four-characters-totp\" exists"},
	} {
		if got := cognito.Redact(tc.in, "hunter2-long"); got != tc.out {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.out)
		}
	}
}

// The classification table, exercised through the real SDK client against
// the fake answering each exception as AWS words it.
func TestErrorClassification(t *testing.T) {
	fake, api := newFake(t)
	for _, tc := range []struct {
		op, code, message string
		class             cognito.Class
		reason            string
	}{
		{"InitiateAuth", "NotAuthorizedException", "Incorrect username or password.", cognito.Terminal, cognito.ReasonInvalidCredentials},
		{"InitiateAuth", "NotAuthorizedException", "Password attempts exceeded", cognito.Throttled, cognito.ReasonThrottled},
		{"InitiateAuth", "InvalidParameterException", "USER_PASSWORD_AUTH flow not enabled for this client", cognito.Terminal, cognito.ReasonUserPasswordAuthNotEnabled},
		{"InitiateAuth", "NotAuthorizedException", "Client abc is configured for secret but secret was not received", cognito.Terminal, cognito.ReasonClientSecretRequired},
		{"InitiateAuth", "NotAuthorizedException", "Unable to verify secret hash for client abc", cognito.Terminal, cognito.ReasonClientSecretMismatch},
		{"InitiateAuth", "ResourceNotFoundException", "User pool client abc does not exist.", cognito.Terminal, cognito.ReasonResourceNotFound},
		{"InitiateAuth", "UserNotFoundException", "User does not exist.", cognito.Terminal, cognito.ReasonUserNotFound},
		{"InitiateAuth", "UserNotConfirmedException", "User is not confirmed.", cognito.Terminal, cognito.ReasonUserNotConfirmed},
		{"InitiateAuth", "PasswordResetRequiredException", "Password reset required", cognito.Terminal, cognito.ReasonPasswordResetRequired},
		{"InitiateAuth", "TooManyRequestsException", "Rate exceeded", cognito.Throttled, cognito.ReasonThrottled},
		{"InitiateAuth", "InternalErrorException", "boom", cognito.Retryable, cognito.ReasonCognitoUnavailable},
		{"InitiateAuth", "ForbiddenException", "waf", cognito.Retryable, cognito.ReasonForbidden},
		{"InitiateAuth", "SomethingNewException", "?", cognito.Retryable, cognito.ReasonCognitoError},
		{"InitiateAuth", "InvalidPasswordException", "Invalid password", cognito.Terminal, cognito.ReasonInvalidCredentials},
		// Refusals that are not the password's: threat protection, a disabled user.
		{"InitiateAuth", "NotAuthorizedException", "Unable to login because of security reasons.", cognito.Terminal, cognito.ReasonSignInRefused},
		{"InitiateAuth", "NotAuthorizedException", "User is disabled.", cognito.Terminal, cognito.ReasonSignInRefused},
		{"InitiateAuth", "UserLambdaValidationException", "PreAuthentication failed with error no bots.", cognito.Terminal, cognito.ReasonLambdaRejected},
		{"RespondToAuthChallenge", "InvalidLambdaResponseException", "Unrecognizable lambda output", cognito.Terminal, cognito.ReasonLambdaMisconfigured},
		{"InitiateAuth", "UnexpectedLambdaException", "PreTokenGeneration invocation failed due to error AccessDeniedException.", cognito.Terminal, cognito.ReasonLambdaMisconfigured},
		{"GetUser", "NotAuthorizedException", "Access Token does not have required scopes", cognito.Terminal, cognito.ReasonAccessTokenScopeMissing},
		{"AssociateSoftwareToken", "NotAuthorizedException", "Access Token has expired", cognito.Terminal, cognito.ReasonAccessTokenRejected},
		{"AssociateSoftwareToken", "SoftwareTokenMFANotFoundException", "not enabled", cognito.Terminal, cognito.ReasonSoftwareTokenMFANotEnabled},
		{"AssociateSoftwareToken", "ConcurrentModificationException", "busy", cognito.Retryable, cognito.ReasonCognitoUnavailable},
		{"VerifySoftwareToken", "EnableSoftwareTokenMFAException", "Code mismatch", cognito.Retryable, cognito.ReasonVerificationFailed},
		{"VerifySoftwareToken", "CodeMismatchException", "Invalid code", cognito.Retryable, cognito.ReasonVerificationFailed},
		{"VerifySoftwareToken", "InvalidUserPoolConfigurationException", "no", cognito.Terminal, cognito.ReasonInvalidUserPoolConfig},
		{"SetUserMFAPreference", "NotAuthorizedException", "Invalid Access Token", cognito.Terminal, cognito.ReasonAccessTokenRejected},
		{"GetUser", "NotAuthorizedException", "Access Token has expired", cognito.Terminal, cognito.ReasonAccessTokenRejected},
		{"GetUser", "TooManyRequestsException", "Rate exceeded", cognito.Throttled, cognito.ReasonThrottled},
		{"RespondToAuthChallenge", "NotAuthorizedException", "Invalid session for the user, session is expired.", cognito.Retryable, cognito.ReasonSessionExpired},
	} {
		t.Run(tc.op+"/"+tc.code+"/"+tc.message, func(t *testing.T) {
			fake.InjectFault(tc.op, cognitofake.Fault{Code: tc.code, Message: tc.message})
			err := call(api, tc.op)
			e, ok := cognito.AsError(err)
			if !ok {
				t.Fatalf("error %v is not a *cognito.Error", err)
			}
			if e.Code != tc.code || e.Class != tc.class || e.Reason != tc.reason || e.Op != tc.op || e.RequestID == "" {
				t.Fatalf("got %+v, want code %s class %s reason %s", e, tc.code, tc.class, tc.reason)
			}
		})
	}
}

// newFake starts a Cognito fake and returns it with an SDK client aimed at it.
func newFake(t *testing.T) (*cognitofake.Server, cognito.Client) {
	t.Helper()
	fake := cognitofake.New()
	if err := fake.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fake.Close() })
	return fake, clientFor(t, fake.URL())
}

func clientFor(t *testing.T, endpoint string) cognito.Client {
	t.Helper()
	p, err := cognito.NewProvider(context.Background(), cognito.Options{Endpoint: endpoint, DefaultRegion: "us-east-1", MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	return p.ForRegion("us-east-1")
}

func call(api cognito.Client, op string) error {
	ctx := context.Background()
	var err error
	switch op {
	case "InitiateAuth":
		_, err = api.InitiateAuth(ctx, cognito.SignIn{Client: cognito.AppClient{ID: "c"}, Username: "u", Password: "p-secret"})
	case "RespondToAuthChallenge":
		_, err = api.RespondToAuthChallenge(ctx, cognito.ChallengeAnswer{Client: cognito.AppClient{ID: "c"}, Username: "u", Challenge: "MFA_SETUP", Session: "s"})
	case "AssociateSoftwareToken":
		_, err = api.AssociateSoftwareToken(ctx, cognito.Credential{AccessToken: "t"})
	case "VerifySoftwareToken":
		_, err = api.VerifySoftwareToken(ctx, cognito.Verify{Credential: cognito.Credential{AccessToken: "t"}, Code: "123456"})
	case "SetUserMFAPreference":
		err = api.SetSoftwareTokenPreference(ctx, "t", cognito.Preference{Enabled: true, Preferred: true})
	case "GetUser":
		_, err = api.GetUser(ctx, "t")
	}
	return err
}

// What Cognito echoes back is scrubbed of the request's secrets.
func TestErrorsAreScrubbed(t *testing.T) {
	fake, api := newFake(t)
	const password, clientSecret = "Sup3r-Secret-Pass", "client-secret-xyz"
	fake.InjectFault("InitiateAuth", cognitofake.Fault{Code: "InvalidParameterException",
		Message: "Value '" + password + "' and '" + clientSecret + "' rejected"})
	_, err := api.InitiateAuth(context.Background(), cognito.SignIn{Client: cognito.AppClient{ID: "c", Secret: clientSecret},
		Username: "u", Password: password})
	if err == nil || strings.Contains(err.Error(), password) || strings.Contains(err.Error(), clientSecret) {
		t.Fatalf("error leaks a secret: %v", err)
	}
	// The fake itself echoes a malformed code, as AWS's validation does.
	_, err = api.VerifySoftwareToken(context.Background(), cognito.Verify{Credential: cognito.Credential{AccessToken: "tok-abcdef"}, Code: "12345x"})
	if err == nil || strings.Contains(err.Error(), "12345x") || !strings.Contains(err.Error(), "InvalidParameterException") {
		t.Fatalf("error leaks the code or lost its cause: %v", err)
	}
}

func TestTransportFailuresAreRetryable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	_, err = clientFor(t, "http://"+addr).AssociateSoftwareToken(context.Background(), cognito.Credential{AccessToken: "tok"})
	e, ok := cognito.AsError(err)
	if !ok || e.Code != cognito.CodeUnreachable || e.Class != cognito.Retryable || e.Reason != cognito.ReasonCognitoUnavailable {
		t.Fatalf("got %v (%+v)", err, e)
	}
}

func TestTLSFailuresAreNamed(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler()) // a certificate nobody trusts
	defer srv.Close()
	_, err := clientFor(t, srv.URL).AssociateSoftwareToken(context.Background(), cognito.Credential{AccessToken: "tok"})
	e, ok := cognito.AsError(err)
	if !ok || e.Code != cognito.CodeTLS || e.Class != cognito.Retryable || e.Reason != cognito.ReasonTLSError {
		t.Fatalf("got %v (%+v)", err, e)
	}
}

// Pacing keeps a client under a quota that a burst would exceed.
func TestPacingStaysUnderTheQuota(t *testing.T) {
	fake := cognitofake.New()
	if err := fake.Start(); err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	fake.SetQuota(25)
	p, err := cognito.NewProvider(context.Background(), cognito.Options{Endpoint: fake.URL(), DefaultRegion: "us-east-1",
		MaxAttempts: 1, QPS: 20, Burst: 1})
	if err != nil {
		t.Fatal(err)
	}
	api := p.ForRegion("us-east-1")
	start := time.Now()
	for range 40 {
		_, err := api.AssociateSoftwareToken(context.Background(), cognito.Credential{AccessToken: "tok"})
		if cognito.HasCode(err, "TooManyRequestsException") {
			t.Fatalf("throttled despite pacing: %v", err)
		}
	}
	if elapsed := time.Since(start); elapsed < 1900*time.Millisecond {
		t.Fatalf("40 calls at 20/s took only %s", elapsed)
	}
	if fake.Throttled() != 0 {
		t.Fatalf("%d calls throttled", fake.Throttled())
	}
}
