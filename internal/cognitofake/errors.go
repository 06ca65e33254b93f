package cognitofake

import (
	"encoding/json"
	"net/http"
)

// apiError is an AWS exception as the JSON protocol carries it.
type apiError struct {
	Code    string
	Message string
	Status  int
}

func errf(code, message string) *apiError { return &apiError{Code: code, Message: message} }

func writeError(w http.ResponseWriter, reqID string, e *apiError) {
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
		if e.Code == "InternalErrorException" {
			status = http.StatusInternalServerError
		}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", reqID)
	w.Header().Set("X-Amzn-Errortype", e.Code)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.Code, "message": e.Message})
}

// The exceptions the fake answers with, each as AWS words it.
func notAuthorized(msg string) *apiError { return errf("NotAuthorizedException", msg) }
func invalidParameter(msg string) *apiError {
	return errf("InvalidParameterException", msg)
}

var (
	errIncorrectPassword = notAuthorized("Incorrect username or password.")
	errTokenExpired      = notAuthorized("Access Token has expired")
	errTokenInvalid      = notAuthorized("Invalid Access Token")
	errSessionExpired    = notAuthorized("Invalid session for the user, session is expired.")
	errSessionInvalid    = notAuthorized("Invalid session for the user.")
	errSessionReused     = notAuthorized("Invalid session for the user, session can only be used once.")
	errLockedOut         = notAuthorized("Password attempts exceeded")
	errMissingScope      = notAuthorized("Access Token does not have required scopes")
	errTOTPNotSetUp      = invalidParameter("User has not set up software token mfa")
	errTOTPNotVerified   = invalidParameter("User has not verified software token mfa")
	errUserNotFound      = errf("UserNotFoundException", "User does not exist.")
	errCodeMismatch      = errf("CodeMismatchException", "Invalid code received for user")
	errEnableMismatch    = errf("EnableSoftwareTokenMFAException", "Code mismatch and fail enable Software Token MFA")
	errTOTPNotEnabled    = errf("SoftwareTokenMFANotFoundException", "Software Token MFA has not been enabled by the userPool.")
)

// errNoDeliveryConfig is the Admin API's refusal to enable a factor the user
// cannot receive (aws/aws-sdk-js-v3#4645, for SOFTWARE_TOKEN_MFA).
func errNoDeliveryConfig(factor string) *apiError {
	return invalidParameter("User does not have delivery config set to turn on " + factor)
}
