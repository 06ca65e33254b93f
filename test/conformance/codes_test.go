package conformance

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// PreviousStepCode: the previous 30-second step's code is accepted, by
// VerifySoftwareToken and in a SOFTWARE_TOKEN_MFA answer; two steps back is
// not. The operator verifies a new seed with the previous step's code, one no
// consumer of the seed will send. Each code is the first the user's token
// accepts after nothing later was accepted, so that reuse protection (which
// may block every step up to the last one used: undocumented) cannot be
// what answers. Sources: developer guide TOTP MFA
// (https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-settings-mfa-totp.html:
// codes within 30 s before or after); fidelity "Codes are RFC 6238 … one
// step before or after now is accepted".
func testPreviousStepCode(t *testing.T, tg *target) {
	u := tg.newUser(t, poolOptional, clientPublic)
	access := u.tokens(t)
	u.associate(t, access)
	old, err := u.verify(t, access, codeAt(t, u.secret, time.Now().Add(-2*step)))
	tg.observeValue(t, "VerifyTwoStepsBack", verifyOutcome(old, err))
	if err == nil && old.Status == types.VerifySoftwareTokenResponseTypeSuccess {
		t.Fatalf("VerifySoftwareToken accepted the code of two steps ago; the tolerance is one step")
	}
	prev := u.previous(t, u.secret)
	verifiedAt := time.Now()
	v, err := u.verify(t, access, prev)
	tg.observeValue(t, "VerifyPreviousStep", verifyOutcome(v, err))
	if err != nil || v.Status != types.VerifySoftwareTokenResponseTypeSuccess {
		t.Fatalf("VerifySoftwareToken refused the previous step's code (%s): the operator relies on it", verifyOutcome(v, err))
	}
	if err := u.setTOTP(t, access, true, true); err != nil {
		t.Fatalf("SetUserMFAPreference: %v", err)
	}
	// Once the step turns, the previous step is the one after the code just
	// used: nothing later than it has been accepted.
	time.Sleep(remaining(verifiedAt) + 100*time.Millisecond)
	ch := u.challenged(t, stm)
	_, err = u.respond(t, stm, ch.Session, "SOFTWARE_TOKEN_MFA_CODE", u.previous(t, u.secret))
	tg.observe(t, "AnswerPreviousStep", err)
	if err != nil {
		t.Errorf("the SOFTWARE_TOKEN_MFA answer refused the previous step's code: %s", outcome(err))
	}
}

// EarlierStepAfterLaterCode: after the current step's code was accepted, is
// the previous step's code, never used, accepted? Cognito documents reuse
// protection for the code itself, not for the steps before it. The fake
// blocks the exact code only (assumed); the real target records the answer.
// Source: amplify-swift MFASignInTests.swift; fidelity "One-time codes".
func testEarlierStepAfterLaterCode(t *testing.T, tg *target) {
	u := tg.newUser(t, poolOptional, clientPublic)
	access := u.tokens(t)
	u.associate(t, access)
	awayFromBoundary(10 * time.Second) // the verification and the answer see one step
	current := codeAt(t, u.secret, time.Now())
	u.used[current] = true
	u.mustVerify(t, access, current)
	if err := u.setTOTP(t, access, true, true); err != nil {
		t.Fatalf("SetUserMFAPreference: %v", err)
	}
	earlier := codeAt(t, u.secret, time.Now().Add(-step))
	u.used[earlier] = true
	_, err := u.respond(t, stm, u.challenged(t, stm).Session, "SOFTWARE_TOKEN_MFA_CODE", earlier)
	tg.observe(t, "EarlierStep", err)
	switch {
	case tg.isReal():
		recordf(t, tg, "the previous step's code after the current one was used: %s", outcome(err))
	case err != nil:
		t.Errorf("%s models reuse protection of the exact code only; the earlier step's code got %s", tg.name, outcome(err))
	}
}

// ReusedCodeOnVerify: VerifySoftwareToken given again a code it accepted.
// The SDK declares ExpiredCodeException on RespondToAuthChallenge only: what
// VerifySoftwareToken answers is undocumented, so either known refusal
// passes, and the fake runs each as a mode. Sources: [SDK]
// VerifySoftwareToken errors; amplify-swift MFASignInTests.swift; fidelity
// "One-time codes".
func testReusedCodeOnVerify(t *testing.T, tg *target) {
	if tg.fake != nil {
		for _, tc := range []struct {
			name string
			mode cognitofake.ReusedCodeMode
			code string
		}{
			{"Mismatch", cognitofake.ReusedCodeMismatch, "EnableSoftwareTokenMFAException"},
			{"Expired", cognitofake.ReusedCodeExpired, "ExpiredCodeException"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tg.fake.SetReusedVerifyCode(tc.mode)
				t.Cleanup(func() { tg.fake.SetReusedVerifyCode(cognitofake.ReusedCodeMismatch) })
				wantErr(t, reuseOnVerify(t, tg), tc.code, "")
			})
		}
		return
	}
	err := reuseOnVerify(t, tg)
	tg.observe(t, "SameCodeAgain", err)
	if tg.lacks("OneTimeCodes") {
		tg.gapHolds(t, "OneTimeCodes", err == nil, outcome(err))
		return
	}
	switch errCode(err) {
	case "EnableSoftwareTokenMFAException", "ExpiredCodeException":
		recordf(t, tg, "VerifySoftwareToken refuses a reused code with %s", outcome(err))
	default:
		t.Errorf("VerifySoftwareToken answered a reused code %s, neither known refusal", outcome(err))
	}
}

// reuseOnVerify verifies a token with a code, then sends that code again
// with the access token (nothing pending: the active token is checked).
func reuseOnVerify(t *testing.T, tg *target) error {
	t.Helper()
	u := tg.newUser(t, poolOptional, clientPublic)
	access := u.tokens(t)
	u.associate(t, access)
	c := u.fresh(t, u.secret)
	u.mustVerify(t, access, c)
	_, err := u.verify(t, access, c)
	return err
}
