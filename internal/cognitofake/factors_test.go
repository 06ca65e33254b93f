package cognitofake_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// Which challenge follows the password, and the factors each names, by pool
// configuration and user; SMS_MFA and EMAIL_OTP each send a message.
func TestChallengePrecedence(t *testing.T) {
	const phone, mail = "+15555550100", "pat@example.com"
	for _, tc := range []struct {
		name          string
		mfa           string
		sms, email    bool // pool factors
		user          cognitofake.User
		totp          bool // a registered token, enabled
		want          types.ChallengeNameType
		key, value    string
		texts, emails int
	}{
		{"required, nothing: MFA_SETUP with every pool type", cognitofake.MFAOn, true, true, cognitofake.User{},
			false, types.ChallengeNameTypeMfaSetup, "MFAS_CAN_SETUP", `["SMS_MFA","SOFTWARE_TOKEN_MFA","EMAIL_OTP"]`, 0, 0},
		{"required, pool SMS, user phone: SMS_MFA, never MFA_SETUP", cognitofake.MFAOn, true, false, cognitofake.User{PhoneNumber: phone},
			false, types.ChallengeNameTypeSmsMfa, "", "", 1, 0},
		{"required, pool e-mail, user e-mail: EMAIL_OTP", cognitofake.MFAOn, false, true, cognitofake.User{Email: mail},
			false, types.ChallengeNameTypeEmailOtp, "", "", 0, 1},
		{"required, pool SMS, no phone: MFA_SETUP", cognitofake.MFAOn, true, false, cognitofake.User{Email: mail},
			false, types.ChallengeNameTypeMfaSetup, "MFAS_CAN_SETUP", `["SMS_MFA","SOFTWARE_TOKEN_MFA"]`, 0, 0},
		{"optional, phone but no factor: tokens", cognitofake.MFAOptional, true, false, cognitofake.User{PhoneNumber: phone},
			false, "", "", "", 0, 0},
		{"two factors, none preferred: SELECT_MFA_TYPE", cognitofake.MFAOptional, false, true, cognitofake.User{SMSMFA: true, PhoneNumber: phone},
			true, types.ChallengeNameTypeSelectMfaType, "MFAS_CAN_CHOOSE", `["SMS_MFA","SOFTWARE_TOKEN_MFA","EMAIL_OTP"]`, 0, 0},
		{"two factors, SMS preferred: SMS_MFA", cognitofake.MFAOptional, true, false, cognitofake.User{SMSMFA: true, SMSPreferred: true, PhoneNumber: phone},
			true, types.ChallengeNameTypeSmsMfa, "", "", 1, 0},
		{"one factor, TOTP: SOFTWARE_TOKEN_MFA", cognitofake.MFAOn, true, true, cognitofake.User{PhoneNumber: phone, Email: mail},
			true, types.ChallengeNameTypeSoftwareTokenMfa, "", "", 0, 0},
		{"e-mail factor enabled: EMAIL_OTP", cognitofake.MFAOptional, false, true, cognitofake.User{EmailMFA: true, Email: mail},
			false, types.ChallengeNameTypeEmailOtp, "", "", 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, api := start(t)
			fake.CreatePool("us-east-1_F", tc.mfa, true)
			fake.UpdatePool("us-east-1_F", func(p *cognitofake.Pool) { p.SMSMFA, p.EmailMFA = tc.sms, tc.email })
			fake.CreateClient(cognitofake.AppClient{ID: "app", PoolID: "us-east-1_F"})
			u := tc.user
			u.Username, u.Password = "pat", "pw-pat-1234"
			fake.CreateUser("us-east-1_F", u)
			if tc.totp {
				fake.SetVerifiedToken("us-east-1_F", "pat", oldSecret)
			}
			out, err := signIn(api, "app", "", "pat", "pw-pat-1234")
			if err != nil {
				t.Fatal(err)
			}
			if out.ChallengeName != tc.want || tc.key != "" && out.ChallengeParameters[tc.key] != tc.value {
				t.Fatalf("challenge %q, parameters %v; want %q with %s=%s", out.ChallengeName, out.ChallengeParameters, tc.want, tc.key, tc.value)
			}
			if fake.TextsSent() != tc.texts || fake.EmailsSent() != tc.emails {
				t.Fatalf("sent %d texts and %d e-mails, want %d and %d", fake.TextsSent(), fake.EmailsSent(), tc.texts, tc.emails)
			}
		})
	}
}

// SELECT_MFA_TYPE is answered with a factor the user can receive; SMS_MFA
// then sends a text, and a factor the user lacks is refused.
func TestSelectMFATypeAnswers(t *testing.T) {
	fake, api := start(t)
	fake.CreatePool("us-east-1_F", cognitofake.MFAOptional, true)
	fake.CreateClient(cognitofake.AppClient{ID: "app", PoolID: "us-east-1_F"})
	fake.CreateUser("us-east-1_F", cognitofake.User{Username: "pat", Password: "pw-pat-1234", SMSMFA: true, PhoneNumber: "+15555550100"})
	fake.SetVerifiedToken("us-east-1_F", "pat", oldSecret)
	for _, tc := range []struct {
		answer string
		want   types.ChallengeNameType
		err    string
	}{
		{"EMAIL_OTP", "", "InvalidParameterException"},
		{"SMS_MFA", types.ChallengeNameTypeSmsMfa, ""},
		{"SOFTWARE_TOKEN_MFA", types.ChallengeNameTypeSoftwareTokenMfa, ""},
	} {
		out, err := signIn(api, "app", "", "pat", "pw-pat-1234")
		if err != nil || out.ChallengeName != types.ChallengeNameTypeSelectMfaType {
			t.Fatalf("sign-in: %+v, %v", out, err)
		}
		res, err := respond(api, types.ChallengeNameTypeSelectMfaType, *out.Session, map[string]string{"USERNAME": "pat", "ANSWER": tc.answer})
		if tc.err != "" {
			wantAPIError(t, err, tc.err, "")
			continue
		}
		if err != nil || res.ChallengeName != tc.want {
			t.Fatalf("ANSWER=%s: %+v, %v", tc.answer, res, err)
		}
	}
	if fake.TextsSent() != 1 {
		t.Fatalf("texts sent %d, want 1", fake.TextsSent())
	}
}
