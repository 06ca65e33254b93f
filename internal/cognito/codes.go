package cognito

import (
	"time"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/totp"
)

// codeMargin is how close to a step boundary a code is not trusted to arrive in time.
const codeMargin = 3 * time.Second

// SendCodes calls send with the TOTP code for now and, if Cognito says it
// does not match, once more with the next step's code. A mismatch after both
// (or a seed that is not base32) is ok=false, not an error.
func SendCodes(secret string, now time.Time, send func(code string) error) (bool, error) {
	codes, err := totp.Codes(secret, now, codeMargin)
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
