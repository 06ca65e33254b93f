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

// codeNotChecked are the exceptions with which Cognito refuses a request
// before, or instead of, checking its TOTP code: such a code counts toward
// no lockout. Everything else (the code refused or used, a 5xx, a lost
// answer, an exception this list does not know) may have been checked.
var codeNotChecked = map[string]bool{
	"TooManyRequestsException": true, "LimitExceededException": true, "InvalidParameterException": true,
	"NotAuthorizedException": true, "ResourceNotFoundException": true, "UserNotFoundException": true,
	"SoftwareTokenMFANotFoundException": true, "InvalidUserPoolConfigurationException": true,
	"ForbiddenException": true, "UserNotConfirmedException": true, "PasswordResetRequiredException": true,
}

// CodeMayHaveBeenChecked says whether a request carrying a TOTP code that
// failed with err may have had its code checked by Cognito.
func CodeMayHaveBeenChecked(err error) bool {
	e, ok := AsError(err)
	return !ok || !codeNotChecked[e.Code]
}
