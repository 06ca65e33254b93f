package cognito

import (
	"time"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/totp"
)

// SendCodes calls send with the TOTP code for now and, if Cognito says it
// does not match, once more with the next step's code. A mismatch after both
// (or a seed that is not base32) is ok=false, not an error.
func SendCodes(secret string, now time.Time, send func(code string) error) (bool, error) {
	codes, err := totp.Codes(secret, now, totp.CodeMargin)
	if err != nil {
		return false, nil
	}
	for _, code := range codes {
		err = send(code)
		if err == nil {
			return true, nil
		}
		if !HasCode(err, "CodeMismatchException", "EnableSoftwareTokenMFAException") {
			return false, err
		}
	}
	return false, nil
}

// SendQuietCodes is SendCodes for the operator's own proofs: it tries the
// previous step's code first, which no consumer signing in now uses, and
// reports the step of the code Cognito accepted, so that the seed is shown to
// consumers only once that step has passed (Cognito accepts a code once).
// A code Cognito says was used already (ExpiredCodeException) says nothing
// about the seed: if no other code passes, that is an error to retry, never
// ok=false.
func SendQuietCodes(secret string, now time.Time, send func(code string) error) (ok bool, step int64, err error) {
	codes, cerr := totp.QuietCodes(secret, now, totp.CodeMargin)
	if cerr != nil {
		return false, 0, nil
	}
	var used error
	for _, c := range codes {
		err = send(c.Code)
		switch {
		case err == nil:
			return true, c.Step, nil
		case HasCode(err, "ExpiredCodeException"):
			used = err
		case !HasCode(err, "CodeMismatchException", "EnableSoftwareTokenMFAException"):
			return false, 0, err
		}
	}
	return false, 0, used
}
