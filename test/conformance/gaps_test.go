package conformance

import "testing"

// cognitoLocalGaps are the behaviours cognito-local 5.3.0 lacks, each found
// by running this suite (and by reading its lib/targets). For each, the
// behaviour's test asserts that it is still absent: when an upgrade adds one,
// the test fails and asks for the entry to be removed, so that the behaviour
// is tested from then on.
var cognitoLocalGaps = map[string]string{
	"MFASetupSession": "no MFA_SETUP challenge and no Session-based AssociateSoftwareToken/VerifySoftwareToken: " +
		"with MFA ON and no factor, InitiateAuth answers NotAuthorizedException",
	"SecretHash":                      "SECRET_HASH is never checked, missing or wrong",
	"EnableSoftwareTokenMFAException": "a wrong code in VerifySoftwareToken answers CodeMismatchException",
	"OneTimeCodes":                    "a code it accepted is accepted again",
	"AliasChallengeUsername":          "a challenge answered under the e-mail alias (not the canonical username) is accepted",
	"VerifyLeavesTOTPDisabled": "VerifySoftwareToken puts SOFTWARE_TOKEN_MFA in UserMFASettingList by itself, " +
		"before SetUserMFAPreference",
	"WrongPasswordNotAuthorized": "a wrong password answers InvalidPasswordException, not NotAuthorizedException",
	"UserNotFound":               "an unknown user answers NotAuthorizedException whatever PreventUserExistenceErrors says",
	"AccessTokenVerification": "access tokens are decoded, never verified: a forged signature is accepted, " +
		"and a token that is no JWT answers InvalidParameterException",
	"TokenExpiry":      "an expired access token is still accepted",
	"ChallengeSession": "a challenge answer's Session is never checked: any string passes",
	"ReplaceOnVerify": "AssociateSoftwareToken overwrites the verified secret at once yet keeps asking SOFTWARE_TOKEN_MFA, " +
		"so until the new token is verified no code passes (neither documented rule)",
	"SoftwareTokenMFANotFound": "AssociateSoftwareToken works in a pool with TOTP disabled",
	"TooManyRequests":          "no request-rate quota",
	"UsernameCase": "UsernameConfiguration.CaseSensitive false is ignored: an alias in another case is refused " +
		"(NotAuthorizedException, as for any unknown user)",
	"Lockout": "no lockout after failed sign-ins: every wrong password answers InvalidPasswordException",
	"TOTPOffWhereRequired": "turned off where MFA is required, TOTP is off for good: the next sign-in answers " +
		"NotAuthorizedException (as with no factor), not SOFTWARE_TOKEN_MFA",
}

// lacks reports whether the target is declared to lack a behaviour; the
// caller then checks the absence with gapHolds instead of the behaviour.
func (tg *target) lacks(name string) bool {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	if _, ok := cognitoLocalGaps[name]; !ok {
		panic("unknown gap " + name) // a typo would silently test nothing
	}
	tg.checked[name] = true
	_, ok := tg.gaps[name]
	return ok
}

// declared reports whether the target lacks a behaviour, for a behaviour
// that only adapts to the gap of another (which that other checks).
func (tg *target) declared(name string) bool {
	_, ok := tg.gaps[name]
	return ok
}

// gapHolds fails when a declared gap is no longer one (absent=false), saying
// what the target did instead.
func (tg *target) gapHolds(t *testing.T, name string, absent bool, observed string) {
	t.Helper()
	if !absent {
		t.Errorf("%s now has behaviour %q (it answered: %s): delete %q from cognitoLocalGaps (test/conformance/gaps_test.go) so that it is tested",
			tg.name, name, observed, name)
		return
	}
	t.Logf("GAP %s (%s): %s; it answered: %s", name, tg.name, tg.gaps[name], observed)
}
