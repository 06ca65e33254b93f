package cognitofake_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

const (
	aliasPool   = "us-east-1_Alias"
	canonical   = "0e5c6f7a-1111-4222-8333-444455556666"
	email       = "frank@example.com"
	aliasSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
)

// aliasFixture is a pool where users sign in by e-mail, with an enrolled user.
func aliasFixture(t *testing.T, clientSecret string) (*cognitofake.Server, *cip.Client, *clock) {
	fake, api := start(t)
	clk := newClock(fake)
	pool := fake.CreatePool(aliasPool, cognitofake.MFAOn, true)
	pool.UsernameAttributes = []string{"email"}
	fake.CreateClient(cognitofake.AppClient{ID: "app", PoolID: aliasPool, Secret: clientSecret})
	fake.CreateUser(aliasPool, cognitofake.User{Username: canonical, Email: email, Password: "pw-frank-123"})
	fake.SetVerifiedToken(aliasPool, canonical, aliasSecret)
	return fake, api, clk
}

func TestSignInByAliasWithClientSecret(t *testing.T) {
	const secret = "client-secret-for-alias"
	_, api, clk := aliasFixture(t, secret)

	// InitiateAuth: SECRET_HASH of whatever USERNAME was sent.
	_, err := api.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeUserPasswordAuth, ClientId: aws.String("app"),
		AuthParameters: map[string]string{"USERNAME": email, "PASSWORD": "pw-frank-123", "SECRET_HASH": cognito.SecretHash(secret, canonical, "app")}})
	wantAPIError(t, err, "NotAuthorizedException", "Unable to verify secret hash for client app")
	out, err := signIn(api, "app", secret, email, "pw-frank-123")
	if err != nil {
		t.Fatal(err)
	}
	if out.ChallengeName != types.ChallengeNameTypeSoftwareTokenMfa || out.ChallengeParameters["USER_ID_FOR_SRP"] != canonical {
		t.Fatalf("challenge %s, parameters %v: want SOFTWARE_TOKEN_MFA for %s", out.ChallengeName, out.ChallengeParameters, canonical)
	}

	// RespondToAuthChallenge: only the canonical username, hashed as itself.
	answer := func(username, hashOf string) error {
		_, err := api.RespondToAuthChallenge(ctx, &cip.RespondToAuthChallengeInput{ClientId: aws.String("app"),
			ChallengeName: types.ChallengeNameTypeSoftwareTokenMfa, Session: out.Session,
			ChallengeResponses: map[string]string{"USERNAME": username, "SECRET_HASH": cognito.SecretHash(secret, hashOf, "app"),
				"SOFTWARE_TOKEN_MFA_CODE": code(t, aliasSecret, clk.Now())}})
		return err
	}
	for _, tc := range []struct{ username, hashOf string }{{email, email}, {canonical, email}, {email, canonical}} {
		wantAPIError(t, answer(tc.username, tc.hashOf), "NotAuthorizedException", "Unable to verify secret hash for client app")
	}
	if err := answer(canonical, canonical); err != nil {
		t.Fatalf("answer under the canonical username: %v", err)
	}
}

func TestSignInByAliasWithoutClientSecret(t *testing.T) {
	fake, api, clk := aliasFixture(t, "")
	out, err := signIn(api, "app", "", email, "pw-frank-123")
	if err != nil {
		t.Fatal(err)
	}
	// Assumed: an answer under the alias is refused as not the session's.
	_, err = answerTOTP(api, "app", aws.ToString(out.Session), email, code(t, aliasSecret, clk.Now()))
	wantAPIError(t, err, "NotAuthorizedException", "Invalid session")
	res, err := answerTOTP(api, "app", aws.ToString(out.Session), canonical, code(t, aliasSecret, clk.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if c := decodeJWT(t, aws.ToString(res.AuthenticationResult.AccessToken)); c["username"] != canonical || c["sub"] != fake.User(aliasPool, canonical).Sub {
		t.Fatalf("token claims %v: want the canonical username", c)
	}
	// Signing in with the canonical username itself still works.
	if _, err := signIn(api, "app", "", canonical, "pw-frank-123"); err != nil {
		t.Fatal(err)
	}
}

// Without UsernameAttributes an e-mail is not a username.
func TestAliasNeedsUsernameAttributes(t *testing.T) {
	fake, api := start(t)
	fake.CreatePool("us-east-1_Plain", cognitofake.MFAOff, true)
	fake.CreateClient(cognitofake.AppClient{ID: "app", PoolID: "us-east-1_Plain"})
	fake.CreateUser("us-east-1_Plain", cognitofake.User{Username: "gina", Email: "gina@example.com", Password: "pw-gina-123"})
	_, err := signIn(api, "app", "", "gina@example.com", "pw-gina-123")
	wantAPIError(t, err, "UserNotFoundException", "User does not exist.")
}
