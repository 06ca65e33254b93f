package cognitofake_test

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// Turning TOTP off for a user whose only factor it is, in a pool that
// requires MFA: each mode's answer, GetUser's list, and the next sign-in;
// with another factor, or in an optional pool, TOTP really goes off.
func TestTurningTOTPOffWhereMFAIsRequired(t *testing.T) {
	for _, tc := range []struct {
		name       string
		mode       cognitofake.DisableMode
		mfa        string
		sms        bool
		refused    bool
		listed     bool
		challenged types.ChallengeNameType
	}{
		{"empties the list (default)", cognitofake.DisableEmptiesList, cognitofake.MFAOn, false, false, false, types.ChallengeNameTypeSoftwareTokenMfa},
		{"refused", cognitofake.DisableRefused, cognitofake.MFAOn, false, true, true, types.ChallengeNameTypeSoftwareTokenMfa},
		{"ignored", cognitofake.DisableIgnored, cognitofake.MFAOn, false, false, true, types.ChallengeNameTypeSoftwareTokenMfa},
		{"another factor left", cognitofake.DisableRefused, cognitofake.MFAOn, true, false, false, types.ChallengeNameTypeSmsMfa},
		{"optional pool", cognitofake.DisableRefused, cognitofake.MFAOptional, false, false, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, api := start(t)
			if tc.mode != cognitofake.DisableEmptiesList {
				fake.SetDisableWhereRequired(tc.mode)
			}
			addPool(fake, "us-east-1_D", tc.mfa, cognitofake.User{Username: "dee", Password: "pw-dee-1234", SMSMFA: tc.sms, PhoneNumber: "+15555550100"})
			fake.SetVerifiedToken("us-east-1_D", "dee", oldSecret)
			token := fake.IssueAccessToken("app", "dee")
			if err := setTOTP(api, token, true, true); err != nil {
				t.Fatal(err)
			}
			err := setTOTP(api, token, false, false)
			if tc.refused {
				wantAPIError(t, err, "InvalidParameterException", "")
			} else if err != nil {
				t.Fatalf("turning TOTP off: %v", err)
			}
			list, _ := mfaList(t, api, token)
			if got := slices.Contains(list, "SOFTWARE_TOKEN_MFA"); got != tc.listed {
				t.Errorf("UserMFASettingList %v: TOTP listed %v, want %v", list, got, tc.listed)
			}
			if got := challengeOf(t, api, "app", "dee", "pw-dee-1234"); got != tc.challenged {
				t.Errorf("next sign-in: challenge %q, want %q", got, tc.challenged)
			}
			// Whatever the answer, the registration survives.
			if fake.User("us-east-1_D", "dee").TOTPSecret != oldSecret {
				t.Errorf("the registered token was removed")
			}
		})
	}
}

// The compatibility switch maps onto the modes: true ignores, false restores the default.
func TestSetIgnoreDisableWhereRequired(t *testing.T) {
	fake, api := start(t)
	addPool(fake, "us-east-1_D", cognitofake.MFAOn, cognitofake.User{Username: "dee", Password: "pw-dee-1234"})
	fake.SetVerifiedToken("us-east-1_D", "dee", oldSecret)
	token := fake.IssueAccessToken("app", "dee")
	fake.SetIgnoreDisableWhereRequired(true)
	if err := setTOTP(api, token, false, false); err != nil || !fake.User("us-east-1_D", "dee").TOTPEnabled {
		t.Fatalf("ignored: %v, enabled %v; want 200 and nothing changed", err, fake.User("us-east-1_D", "dee").TOTPEnabled)
	}
	fake.SetIgnoreDisableWhereRequired(false)
	if err := setTOTP(api, token, false, false); err != nil || fake.User("us-east-1_D", "dee").TOTPEnabled {
		t.Fatalf("default: %v, enabled %v; want 200 and the list emptied", err, fake.User("us-east-1_D", "dee").TOTPEnabled)
	}
}

// SetUserMFAPreference "doesn't reset an existing TOTP MFA": turned off and
// on again, the old token comes back and its codes pass.
func TestReenablingTOTPBringsBackTheOldToken(t *testing.T) {
	fake, api := start(t)
	clk := newClock(fake)
	addPool(fake, "us-east-1_D", cognitofake.MFAOptional, cognitofake.User{Username: "dee", Password: "pw-dee-1234"})
	fake.SetVerifiedToken("us-east-1_D", "dee", oldSecret)
	token := fake.IssueAccessToken("app", "dee")
	if err := setTOTP(api, token, false, false); err != nil {
		t.Fatal(err)
	}
	if got := challengeOf(t, api, "app", "dee", "pw-dee-1234"); got != "" {
		t.Fatalf("TOTP off in an optional pool: challenge %q, want tokens", got)
	}
	if err := setTOTP(api, token, true, true); err != nil {
		t.Fatalf("re-enabling without a new association: %v", err)
	}
	out, err := signIn(api, "app", "", "dee", "pw-dee-1234")
	if err != nil || out.ChallengeName != types.ChallengeNameTypeSoftwareTokenMfa {
		t.Fatalf("sign-in = %+v, %v", out, err)
	}
	if _, err := answerTOTP(api, "app", *out.Session, "dee", code(t, oldSecret, clk.Now())); err != nil {
		t.Fatalf("the old seed's code: %v", err)
	}
}
