package cognitofake_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// Challenges carry the canonical username and, as JSON lists in strings, the factors on offer.
func TestChallengeParameters(t *testing.T) {
	fake, api := start(t)
	fake.CreatePool("us-east-1_P", cognitofake.MFAOn, true)
	fake.CreateClient(cognitofake.AppClient{ID: "app", PoolID: "us-east-1_P"})
	fake.CreateUser("us-east-1_P", cognitofake.User{Username: "new", Password: "pw-new-1234"})
	fake.CreateUser("us-east-1_P", cognitofake.User{Username: "two", Password: "pw-two-1234", SMSMFA: true})
	fake.SetVerifiedToken("us-east-1_P", "two", oldSecret)
	for _, tc := range []struct {
		user, challenge, key, value string
	}{
		{"new", string(types.ChallengeNameTypeMfaSetup), "MFAS_CAN_SETUP", `["SOFTWARE_TOKEN_MFA"]`},
		{"two", string(types.ChallengeNameTypeSelectMfaType), "MFAS_CAN_CHOOSE", `["SMS_MFA","SOFTWARE_TOKEN_MFA"]`},
	} {
		out, err := signIn(api, "app", "", tc.user, "pw-"+tc.user+"-1234")
		if err != nil {
			t.Fatal(err)
		}
		p := out.ChallengeParameters
		if string(out.ChallengeName) != tc.challenge || p[tc.key] != tc.value || p["USER_ID_FOR_SRP"] != tc.user {
			t.Fatalf("%s: challenge %s, parameters %v", tc.user, out.ChallengeName, p)
		}
	}
}
