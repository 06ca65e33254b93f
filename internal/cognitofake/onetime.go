package cognitofake

import (
	"slices"
	"time"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/totp"
)

// usedCode is a TOTP code Cognito accepted for a user, and the step it was the code of.
type usedCode struct {
	code string
	step int64
}

// errCodeUsed is how Cognito refuses a code it accepted before for the same
// user (amplify-swift's MFASignInTests wait 30 s after enrollment because of it).
var errCodeUsed = errf("ExpiredCodeException", "Your software token has already been used once.")

// SetOneTimeCodes makes the fake refuse, with ExpiredCodeException, a code it
// already accepted for the same user (by VerifySoftwareToken or a
// SOFTWARE_TOKEN_MFA answer) while that code is still inside its window.
// Off by default. Accepted codes are remembered either way.
func (s *Server) SetOneTimeCodes(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oneTimeCodes = on
}

// acceptCode checks a code against secret with Cognito's tolerance of one
// step either side and records it for u when accepted. ok=false is a code
// that does not match; an error is a code already used.
func (s *Server) acceptCode(u *User, secret, code string) (bool, *apiError) {
	now := s.now()
	step, ok := matchStep(secret, code, now)
	if !ok {
		return false, nil
	}
	// A code of a step before the previous one is refused anyway: forget it.
	current := now.Unix() / int64(totp.Period/time.Second)
	u.usedCodes = slices.DeleteFunc(u.usedCodes, func(c usedCode) bool { return c.step < current-1 })
	used := usedCode{code: code, step: step}
	if slices.Contains(u.usedCodes, used) {
		u.reusedCodes++
		if s.oneTimeCodes {
			return false, errCodeUsed
		}
	}
	u.usedCodes = append(u.usedCodes, used)
	return true, nil
}

// ReusedCodeMode is what VerifySoftwareToken answers to a code it accepted
// before: undocumented, as the SDK declares ExpiredCodeException on
// RespondToAuthChallenge only.
type ReusedCodeMode int

const (
	// ReusedCodeMismatch refuses it as a wrong code
	// (EnableSoftwareTokenMFAException): a client cannot tell reuse from a
	// wrong seed. The default, the harder reading for a client.
	ReusedCodeMismatch ReusedCodeMode = iota
	// ReusedCodeExpired refuses it as a SOFTWARE_TOKEN_MFA answer is refused:
	// ExpiredCodeException "Your software token has already been used once."
	ReusedCodeExpired
)

// SetReusedVerifyCode chooses what VerifySoftwareToken answers to a reused
// code while one-time codes are on.
func (s *Server) SetReusedVerifyCode(m ReusedCodeMode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reusedVerify = m
}

// acceptVerifyCode is acceptCode for VerifySoftwareToken: a wrong code is
// EnableSoftwareTokenMFAException, a reused one as SetReusedVerifyCode says.
func (s *Server) acceptVerifyCode(u *User, secret, code string) *apiError {
	ok, e := s.acceptCode(u, secret, code)
	switch {
	case e != nil && s.reusedVerify == ReusedCodeExpired:
		return e
	case e != nil || !ok:
		return errEnableMismatch
	}
	return nil
}

// matchStep is the step, within one of now's, whose code for secret is code.
func matchStep(secret, code string, now time.Time) (int64, bool) {
	if secret == "" {
		return 0, false // an empty key still yields codes; no token accepts none
	}
	for _, off := range []time.Duration{0, -totp.Period, totp.Period} {
		t := now.Add(off)
		if c, err := totp.Code(secret, t); err == nil && c == code {
			return t.Unix() / int64(totp.Period/time.Second), true
		}
	}
	return 0, false
}
