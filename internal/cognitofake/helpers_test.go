package cognitofake_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/totp"
)

// The fake is driven through the real SDK client, unsigned, as the operator drives Cognito.
func start(t *testing.T) (*cognitofake.Server, *cip.Client) {
	t.Helper()
	fake := cognitofake.New()
	if err := fake.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fake.Close() })
	api := cip.New(cip.Options{Region: "us-east-1", BaseEndpoint: aws.String(fake.URL()),
		Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1})
	return fake, api
}

// clock is a settable clock for the fake, so that TOTP codes are predictable.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

// newClock starts 15 s into a TOTP step, away from both step boundaries.
func newClock(fake *cognitofake.Server) *clock {
	c := &clock{now: time.Unix(1_700_000_025, 0)}
	fake.SetClock(c.Now)
	return c
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func code(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.Code(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var ctx = context.Background()

func signIn(api *cip.Client, client, secret, username, password string) (*cip.InitiateAuthOutput, error) {
	params := map[string]string{"USERNAME": username, "PASSWORD": password}
	if secret != "" {
		params["SECRET_HASH"] = cognito.SecretHash(secret, username, client)
	}
	return api.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeUserPasswordAuth,
		ClientId: aws.String(client), AuthParameters: params})
}

func answerTOTP(api *cip.Client, client, session, username, code string) (*cip.RespondToAuthChallengeOutput, error) {
	return api.RespondToAuthChallenge(ctx, &cip.RespondToAuthChallengeInput{ClientId: aws.String(client),
		ChallengeName: types.ChallengeNameTypeSoftwareTokenMfa, Session: aws.String(session),
		ChallengeResponses: map[string]string{"USERNAME": username, "SOFTWARE_TOKEN_MFA_CODE": code}})
}

func verify(api *cip.Client, accessToken, code string) (*cip.VerifySoftwareTokenOutput, error) {
	return api.VerifySoftwareToken(ctx, &cip.VerifySoftwareTokenInput{AccessToken: aws.String(accessToken), UserCode: aws.String(code)})
}

// wantAPIError fails unless err is the exception code, with msg in its message.
func wantAPIError(t *testing.T, err error, code, msg string) {
	t.Helper()
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != code || !strings.Contains(apiErr.ErrorMessage(), msg) {
		t.Fatalf("got %v, want %s %q", err, code, msg)
	}
}

// setTOTP is SetUserMFAPreference for the software token only.
func setTOTP(api *cip.Client, accessToken string, enabled, preferred bool) error {
	_, err := api.SetUserMFAPreference(ctx, &cip.SetUserMFAPreferenceInput{AccessToken: aws.String(accessToken),
		SoftwareTokenMfaSettings: &types.SoftwareTokenMfaSettingsType{Enabled: enabled, PreferredMfa: preferred}})
	return err
}

// mfaList is GetUser's UserMFASettingList and PreferredMfaSetting.
func mfaList(t *testing.T, api *cip.Client, accessToken string) ([]string, string) {
	t.Helper()
	out, err := api.GetUser(ctx, &cip.GetUserInput{AccessToken: aws.String(accessToken)})
	if err != nil {
		t.Fatal(err)
	}
	return out.UserMFASettingList, aws.ToString(out.PreferredMfaSetting)
}

// challengeOf signs in and returns the challenge ("" for tokens).
func challengeOf(t *testing.T, api *cip.Client, client, username, password string) types.ChallengeNameType {
	t.Helper()
	out, err := signIn(api, client, "", username, password)
	if err != nil {
		t.Fatalf("sign-in as %s: %v", username, err)
	}
	return out.ChallengeName
}

// admin is a signed client for the fake's Admin operations.
func admin(fake *cognitofake.Server) *cip.Client {
	return cip.New(cip.Options{Region: "eu-west-1", BaseEndpoint: aws.String(fake.URL()), RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDFAKE", SecretAccessKey: "fake-secret-key"}, nil
		})})
}

func respond(api *cip.Client, name types.ChallengeNameType, session string, params map[string]string) (*cip.RespondToAuthChallengeOutput, error) {
	return api.RespondToAuthChallenge(ctx, &cip.RespondToAuthChallengeInput{ClientId: aws.String("app"),
		ChallengeName: name, Session: aws.String(session), ChallengeResponses: params})
}

// addPool creates a pool that has TOTP on, its app client "app", and users.
func addPool(fake *cognitofake.Server, id, mfa string, users ...cognitofake.User) {
	fake.CreatePool(id, mfa, true)
	fake.CreateClient(cognitofake.AppClient{ID: "app", PoolID: id})
	for _, u := range users {
		fake.CreateUser(id, u)
	}
}
