package cognitofake_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// Messages as AWS words them, where a source quotes them.
func TestMessages(t *testing.T) {
	fake, api := start(t)
	clk := newClock(fake)
	fake.CreatePool("us-east-1_M", cognitofake.MFAOn, true)
	fake.CreateClient(cognitofake.AppClient{ID: "app", PoolID: "us-east-1_M"})
	fake.CreateClient(cognitofake.AppClient{ID: "sec", PoolID: "us-east-1_M", Secret: "the-client-secret"})
	fake.CreateUser("us-east-1_M", cognitofake.User{Username: "mo", Password: "pw-mo-12345"})
	fake.CreateUser("us-east-1_M", cognitofake.User{Username: "ty", Password: "pw-ty-12345"})
	fake.SetVerifiedToken("us-east-1_M", "ty", oldSecret)

	t.Run("SECRET_HASH missing, per operation", func(t *testing.T) {
		_, err := signIn(api, "sec", "", "ty", "pw-ty-12345")
		wantAPIError(t, err, "NotAuthorizedException", "Client sec is configured for secret but secret was not received")
		out, err := signIn(api, "sec", "the-client-secret", "ty", "pw-ty-12345")
		if err != nil {
			t.Fatal(err)
		}
		_, err = api.RespondToAuthChallenge(ctx, &cip.RespondToAuthChallengeInput{ClientId: aws.String("sec"), ChallengeName: types.ChallengeNameTypeSoftwareTokenMfa,
			Session: out.Session, ChallengeResponses: map[string]string{"USERNAME": "ty", "SOFTWARE_TOKEN_MFA_CODE": code(t, oldSecret, clk.Now())}})
		wantAPIError(t, err, "NotAuthorizedException", "Client sec is configured with secret but SECRET_HASH was not received")
	})
	t.Run("a session used once", func(t *testing.T) {
		out, err := signIn(api, "app", "", "ty", "pw-ty-12345")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := answerTOTP(api, "app", *out.Session, "ty", code(t, oldSecret, clk.Now())); err != nil {
			t.Fatal(err)
		}
		_, err = answerTOTP(api, "app", *out.Session, "ty", code(t, oldSecret, clk.Now().Add(30e9)))
		wantAPIError(t, err, "NotAuthorizedException", "Invalid session for the user, session can only be used once.")
		_, err = answerTOTP(api, "app", "never-issued", "ty", code(t, oldSecret, clk.Now()))
		wantAPIError(t, err, "NotAuthorizedException", "Invalid session for the user.")
	})
	t.Run("TOTP enabled too early: not set up, then not verified", func(t *testing.T) {
		token := fake.IssueAccessToken("app", "mo")
		wantAPIError(t, setTOTP(api, token, true, true), "InvalidParameterException", "User has not set up software token mfa")
		if _, err := api.AssociateSoftwareToken(ctx, &cip.AssociateSoftwareTokenInput{AccessToken: aws.String(token)}); err != nil {
			t.Fatal(err)
		}
		wantAPIError(t, setTOTP(api, token, true, true), "InvalidParameterException", "User has not verified software token mfa")
	})
}
