package cognitofake_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/totp"
)

const oldSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

// replaceFixture: an enrolled user (TOTP enabled and preferred) who starts a
// new association with an access token.
func replaceFixture(t *testing.T, mode cognitofake.ReplaceMode, mfa string) (*cognitofake.Server, *cip.Client, *clock, string, string) {
	fake, api := start(t)
	clk := newClock(fake)
	fake.SetReplaceMode(mode)
	fake.CreatePool("us-east-1_R", mfa, true)
	fake.CreateClient(cognitofake.AppClient{ID: "app", PoolID: "us-east-1_R"})
	fake.CreateUser("us-east-1_R", cognitofake.User{Username: "kim", Password: "pw-kim-1234"})
	fake.SetVerifiedToken("us-east-1_R", "kim", oldSecret)
	token := fake.IssueAccessToken("app", "kim")
	if _, err := api.SetUserMFAPreference(ctx, &cip.SetUserMFAPreferenceInput{AccessToken: aws.String(token),
		SoftwareTokenMfaSettings: &types.SoftwareTokenMfaSettingsType{Enabled: true, PreferredMfa: true}}); err != nil {
		t.Fatal(err)
	}
	assoc, err := api.AssociateSoftwareToken(ctx, &cip.AssociateSoftwareTokenInput{AccessToken: aws.String(token)})
	if err != nil {
		t.Fatal(err)
	}
	return fake, api, clk, token, aws.ToString(assoc.SecretCode)
}

func TestReplaceOnVerifyKeepsTheOldTokenUntilVerification(t *testing.T) {
	fake, api, clk, token, newSecret := replaceFixture(t, cognitofake.ReplaceOnVerify, cognitofake.MFAOn)
	if u := fake.User("us-east-1_R", "kim"); u.TOTPSecret != oldSecret || u.PendingSecret != newSecret || !u.TOTPEnabled {
		t.Fatalf("after associate: %+v", u)
	}
	out, err := signIn(api, "app", "", "kim", "pw-kim-1234")
	if err != nil || out.ChallengeName != types.ChallengeNameTypeSoftwareTokenMfa {
		t.Fatalf("sign-in = %+v, %v; want SOFTWARE_TOKEN_MFA", out, err)
	}
	if _, err := answerTOTP(api, "app", aws.ToString(out.Session), "kim", code(t, oldSecret, clk.Now())); err != nil {
		t.Fatalf("the old token's code: %v", err)
	}
	if _, err := verify(api, token, code(t, newSecret, clk.Now())); err != nil {
		t.Fatal(err)
	}
	if u := fake.User("us-east-1_R", "kim"); u.TOTPSecret != newSecret || u.PendingSecret != "" {
		t.Fatalf("after verify: %+v", u)
	}
}

func TestReplaceImmediatelyDropsTheOldToken(t *testing.T) {
	fake, api, clk, token, newSecret := replaceFixture(t, cognitofake.ReplaceImmediately, cognitofake.MFAOn)
	if u := fake.User("us-east-1_R", "kim"); u.TOTPSecret != "" || u.PendingSecret != newSecret {
		t.Fatalf("after associate: %+v", u)
	}
	// GetUser still reports the old settings: it cannot tell that MFA is off.
	user, err := api.GetUser(ctx, &cip.GetUserInput{AccessToken: aws.String(token)})
	if err != nil || aws.ToString(user.PreferredMfaSetting) != "SOFTWARE_TOKEN_MFA" {
		t.Fatalf("GetUser = %v %v, %v; want the stale SOFTWARE_TOKEN_MFA preference", user.UserMFASettingList, user.PreferredMfaSetting, err)
	}
	_, err = api.SetUserMFAPreference(ctx, &cip.SetUserMFAPreferenceInput{AccessToken: aws.String(token),
		SoftwareTokenMfaSettings: &types.SoftwareTokenMfaSettingsType{Enabled: true, PreferredMfa: true}})
	wantAPIError(t, err, "InvalidParameterException", "User has not verified software token mfa")
	// MFA is required and the user has no factor left: MFA_SETUP.
	out, err := signIn(api, "app", "", "kim", "pw-kim-1234")
	if err != nil || out.ChallengeName != types.ChallengeNameTypeMfaSetup {
		t.Fatalf("sign-in = %+v, %v; want MFA_SETUP", out, err)
	}
	if _, err := verify(api, token, code(t, newSecret, clk.Now())); err != nil {
		t.Fatal(err)
	}
	out, err = signIn(api, "app", "", "kim", "pw-kim-1234")
	if err != nil || out.ChallengeName != types.ChallengeNameTypeSoftwareTokenMfa {
		t.Fatalf("sign-in after verify = %+v, %v; want SOFTWARE_TOKEN_MFA", out, err)
	}
	clk.Advance(totp.Period) // a fresh code, not the one just verified
	if _, err := answerTOTP(api, "app", aws.ToString(out.Session), "kim", code(t, newSecret, clk.Now())); err != nil {
		t.Fatalf("the new token's code: %v", err)
	}
}

// In a pool where MFA is optional, the user signs in without MFA until the new token is verified.
func TestReplaceImmediatelyInAnOptionalPool(t *testing.T) {
	_, api, _, _, _ := replaceFixture(t, cognitofake.ReplaceImmediately, cognitofake.MFAOptional)
	out, err := signIn(api, "app", "", "kim", "pw-kim-1234")
	if err != nil || out.AuthenticationResult == nil || out.ChallengeName != "" {
		t.Fatalf("sign-in = %+v, %v; want tokens without a challenge", out, err)
	}
}
