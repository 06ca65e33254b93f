package cognitofake_test

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// mfaSetup enrolls a user of a pool that requires MFA through the MFA_SETUP
// chain and returns the access token it ends with and the seed.
func mfaSetup(t *testing.T, api *cip.Client, clk *clock, user, password string) (string, string) {
	t.Helper()
	assoc := associateBySession(t, api, user, password)
	secret := aws.ToString(assoc.SecretCode)
	ver, err := api.VerifySoftwareToken(ctx, &cip.VerifySoftwareTokenInput{Session: assoc.Session, UserCode: aws.String(code(t, secret, clk.Now()))})
	if err != nil {
		t.Fatal(err)
	}
	res, err := api.RespondToAuthChallenge(ctx, &cip.RespondToAuthChallengeInput{ClientId: aws.String("app"),
		ChallengeName: types.ChallengeNameTypeMfaSetup, Session: ver.Session, ChallengeResponses: map[string]string{"USERNAME": user}})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(res.AuthenticationResult.AccessToken), secret
}

// associateBySession signs in to an MFA_SETUP challenge and associates a
// token with its session.
func associateBySession(t *testing.T, api *cip.Client, user, password string) *cip.AssociateSoftwareTokenOutput {
	t.Helper()
	out, err := signIn(api, "app", "", user, password)
	if err != nil || out.ChallengeName != types.ChallengeNameTypeMfaSetup {
		t.Fatalf("sign-in = %+v, %v; want MFA_SETUP", out, err)
	}
	assoc, err := api.AssociateSoftwareToken(ctx, &cip.AssociateSoftwareTokenInput{Session: out.Session})
	if err != nil {
		t.Fatal(err)
	}
	return assoc
}

// After MFA_SETUP the token is registered but no factor is listed until
// SetUserMFAPreference; sign-in is challenged all the same.
func TestGetUserAfterMFASetupListsNoFactor(t *testing.T) {
	fake, api := start(t)
	clk := newClock(fake)
	addPool(fake, "us-east-1_S", cognitofake.MFAOn, cognitofake.User{Username: "sam", Password: "pw-sam-1234"})
	access, secret := mfaSetup(t, api, clk, "sam", "pw-sam-1234")
	if list, pref := mfaList(t, api, access); len(list) != 0 || pref != "" {
		t.Fatalf("after MFA_SETUP: UserMFASettingList %v, PreferredMfaSetting %q; want none", list, pref)
	}
	if u := fake.User("us-east-1_S", "sam"); u.TOTPSecret != secret || u.TOTPEnabled {
		t.Fatalf("fake state %+v: want the token registered, not enabled", u)
	}
	if got := challengeOf(t, api, "app", "sam", "pw-sam-1234"); got != types.ChallengeNameTypeSoftwareTokenMfa {
		t.Fatalf("sign-in after MFA_SETUP: %q, want SOFTWARE_TOKEN_MFA", got)
	}
	if err := setTOTP(api, access, true, true); err != nil {
		t.Fatal(err)
	}
	if list, pref := mfaList(t, api, access); !slices.Equal(list, []string{"SOFTWARE_TOKEN_MFA"}) || pref != "SOFTWARE_TOKEN_MFA" {
		t.Fatalf("after SetUserMFAPreference: %v, %q", list, pref)
	}
}
