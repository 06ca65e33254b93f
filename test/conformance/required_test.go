package conformance

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// mfaSetup enrolls the user of a pool that requires MFA through the
// MFA_SETUP chain and returns the access token it ends with.
func (u *user) mfaSetup(t *testing.T) string {
	t.Helper()
	out := u.challenged(t, types.ChallengeNameTypeMfaSetup)
	as, err := u.tg.api.AssociateSoftwareToken(t.Context(), &cip.AssociateSoftwareTokenInput{Session: out.Session})
	if err != nil {
		t.Fatalf("AssociateSoftwareToken with the MFA_SETUP session: %v", err)
	}
	u.secret = aws.ToString(as.SecretCode)
	v, err := u.tg.api.VerifySoftwareToken(t.Context(), &cip.VerifySoftwareTokenInput{Session: as.Session, UserCode: aws.String(u.fresh(t, u.secret))})
	if err != nil || v.Status != types.VerifySoftwareTokenResponseTypeSuccess {
		t.Fatalf("VerifySoftwareToken with the session: %s", verifyOutcome(v, err))
	}
	res, err := u.respond(t, types.ChallengeNameTypeMfaSetup, v.Session)
	if err != nil {
		t.Fatalf("answering MFA_SETUP: %v", err)
	}
	return requireTokens(t, res)
}

// GetUserAfterMFASetup: a user who set TOTP up through MFA_SETUP shows no
// factor and no preference until SetUserMFAPreference, yet is challenged at
// sign-in. Sources: aws/aws-sdk#693 and aws/aws-sdk-java-v2#4869 (AWS: "expected");
// fidelity "GetUser after MFA_SETUP".
func testGetUserAfterMFASetup(t *testing.T, tg *target) {
	u := tg.newUser(t, poolRequired, clientPublic)
	if tg.lacks("MFASetupSession") {
		_, err := u.initiate(t)
		tg.gapHolds(t, "MFASetupSession", err != nil, outcome(err))
		return
	}
	g := u.getUser(t, u.mfaSetup(t))
	tg.observeValue(t, "List", fmt.Sprint(g.UserMFASettingList))
	tg.observeValue(t, "Preferred", aws.ToString(g.PreferredMfaSetting))
	if len(g.UserMFASettingList) != 0 || g.PreferredMfaSetting != nil {
		t.Errorf("after MFA_SETUP: UserMFASettingList %v, PreferredMfaSetting %q; reported: none until SetUserMFAPreference",
			g.UserMFASettingList, aws.ToString(g.PreferredMfaSetting))
	}
	u.answerTOTP(t, u.challenged(t, stm).Session, u.fresh(t, u.secret))
}

// totpOff is what turning TOTP off does for a user whose only factor it is,
// in a pool that requires MFA.
type totpOff struct {
	answer error
	listed bool   // GetUser still lists SOFTWARE_TOKEN_MFA
	next   string // the next sign-in's challenge, or its error
}

func (o totpOff) String() string {
	return fmt.Sprintf("answer %s; GetUser lists TOTP %t; next sign-in %s", outcome(o.answer), o.listed, o.next)
}

// mode is which known behaviour o is ("" for none).
func (o totpOff) mode() string {
	switch {
	case o.next != string(stm):
	case o.answer == nil && !o.listed:
		return "emptied"
	case o.answer == nil:
		return "ignored"
	case errCode(o.answer) == "InvalidParameterException" && o.listed:
		return "refused"
	}
	return ""
}

// TOTPOffWhereRequired: SetUserMFAPreference turning TOTP off where MFA is
// required. The API reference says it cannot be done; users report a 200,
// an empty UserMFASettingList and a sign-in still challenged for TOTP; older
// reports a 200 that changes nothing. Sources: [SDK]
// types.SoftwareTokenMfaSettingsType; aws/aws-sdk-js-v3#7961, aws/aws-sdk#693,
// amplify-flutter#5716, amplify-js#11260; fidelity "Turning TOTP off where
// MFA is required". The fake runs each reading as a mode.
func testTOTPOffWhereRequired(t *testing.T, tg *target) {
	if tg.fake != nil {
		for _, tc := range []struct {
			mode cognitofake.DisableMode
			want string
		}{{cognitofake.DisableEmptiesList, "emptied"}, {cognitofake.DisableRefused, "refused"}, {cognitofake.DisableIgnored, "ignored"}} {
			t.Run(tc.want, func(t *testing.T) {
				tg.fake.SetDisableWhereRequired(tc.mode)
				t.Cleanup(func() { tg.fake.SetDisableWhereRequired(cognitofake.DisableEmptiesList) })
				if o := observeTOTPOff(t, tg); o.mode() != tc.want {
					t.Errorf("mode %s: %s", tc.want, o)
				}
			})
		}
		return
	}
	o := observeTOTPOff(t, tg)
	tg.observe(t, "Answer", o.answer)
	tg.observeValue(t, "Listed", fmt.Sprint(o.listed))
	tg.observeValue(t, "NextSignIn", o.next)
	if tg.lacks("TOTPOffWhereRequired") {
		tg.gapHolds(t, "TOTPOffWhereRequired", o.mode() == "", o.String())
		return
	}
	if o.mode() == "" {
		t.Errorf("turning TOTP off where MFA is required matches no known report: %s", o)
	}
	recordf(t, tg, "turning TOTP off where MFA is required: %s (%s)", o.mode(), o)
}

// observeTOTPOff enrolls a user in a pool of its own, requires MFA there,
// and turns the user's TOTP off. (Enrolled by access token first, so that
// targets without MFA_SETUP get there too.)
func observeTOTPOff(t *testing.T, tg *target) totpOff {
	t.Helper()
	p := tg.ownPool(t, poolOptional)
	u := tg.newUserIn(t, p, clientPublic)
	access := u.enrol(t, true)
	if err := tg.prov.setMFA(t.Context(), p.id, types.UserPoolMfaTypeOn); err != nil {
		t.Fatalf("requiring MFA: %v", err)
	}
	o := totpOff{answer: u.setTOTP(t, access, false, false)}
	o.listed = totpListed(u.getUser(t, access))
	out, err := u.initiate(t)
	if o.next = outcome(err); err == nil {
		o.next = string(out.ChallengeName)
	}
	return o
}

// FactorsInsteadOfSetup (fake only): in a pool that requires MFA with SMS
// and e-mail MFA on, a user without a factor but with a phone number or an
// e-mail address is sent SMS_MFA or EMAIL_OTP, a message each time, never
// MFA_SETUP; MFA_SETUP lists every type active in the pool. Sources:
// developer guide, SMS and e-mail MFA ("require no additional configuration
// after your user adds an email address or phone number"); amplify-swift
// TOTPSetupWhenUnauthenticatedTests.testSMSMFANextStepDuringSignIn;
// amplify-js#11258; fidelity "Challenge precedence".
func testFactorsInsteadOfSetup(t *testing.T, tg *target) {
	p := tg.ownPool(t, poolRequired)
	tg.fake.UpdatePool(p.id, func(p *cognitofake.Pool) { p.SMSMFA, p.EmailMFA = true, true })
	for _, tc := range []struct {
		name          string
		phone, email  string
		want          types.ChallengeNameType
		texts, emails int
	}{
		{"phone", "+15555550100", "", types.ChallengeNameTypeSmsMfa, 1, 0},
		{"e-mail", "", "conf@example.com", types.ChallengeNameTypeEmailOtp, 0, 1},
		{"neither", "", "", types.ChallengeNameTypeMfaSetup, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := tg.newUserIn(t, p, clientPublic)
			tg.fake.UpdateUser(p.id, u.username, func(x *cognitofake.User) { x.PhoneNumber, x.Email = tc.phone, tc.email })
			texts, emails := tg.fake.TextsSent(), tg.fake.EmailsSent()
			out := u.challenged(t, tc.want)
			if tc.want == types.ChallengeNameTypeMfaSetup && out.ChallengeParameters["MFAS_CAN_SETUP"] != `["SMS_MFA","SOFTWARE_TOKEN_MFA","EMAIL_OTP"]` {
				t.Errorf("MFAS_CAN_SETUP %q: want every type active in the pool", out.ChallengeParameters["MFAS_CAN_SETUP"])
			}
			if dt, de := tg.fake.TextsSent()-texts, tg.fake.EmailsSent()-emails; dt != tc.texts || de != tc.emails {
				t.Errorf("sent %d texts and %d e-mails, want %d and %d", dt, de, tc.texts, tc.emails)
			}
		})
	}
}
