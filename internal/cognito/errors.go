package cognito

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// Class says what the controller should do about a failed call.
type Class int

const (
	// Retryable failures are retried with backoff.
	Retryable Class = iota
	// Throttled failures are retried with a jittered, longer backoff and never stall.
	Throttled
	// Terminal failures stall the enrollment until its inputs change.
	Terminal
)

func (c Class) String() string {
	switch c {
	case Terminal:
		return "Terminal"
	case Throttled:
		return "Throttled"
	default:
		return "Retryable"
	}
}

// Error codes for failures that never reached Cognito.
const (
	CodeUnreachable = "Unreachable"
	CodeTLS         = "TLSError"
	CodeCanceled    = "Canceled"
)

// Error is a classified, scrubbed Cognito failure. Its text never holds the
// request's secret material, so it may go into logs, Events and status.
type Error struct {
	// Op is the Cognito operation, e.g. InitiateAuth.
	Op string
	// Code is Cognito's exception name, or one of the Code* constants.
	Code string
	// Class is how the controller must treat the failure.
	Class Class
	// Reason is the condition reason for the failure.
	Reason string
	// Message is Cognito's message, scrubbed.
	Message string
	// RequestID is Cognito's request id, for support cases.
	RequestID string
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("%s: %s", e.Op, e.Code)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.RequestID != "" {
		msg += " (request id " + e.RequestID + ")"
	}
	return msg
}

// AsError returns err's *Error, if it has one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// HasCode reports whether err is a Cognito failure with one of the codes.
func HasCode(err error, codes ...string) bool {
	e, ok := AsError(err)
	if !ok {
		return false
	}
	for _, c := range codes {
		if e.Code == c {
			return true
		}
	}
	return false
}

// operation context that changes the meaning of an error code.
type opKind int

const (
	opSignIn opKind = iota
	opAccessToken
	opSession
)

// classify turns an SDK error into an *Error. secrets are the request's
// sensitive values; they are cut from any text Cognito or the transport echoes.
func classify(op string, kind opKind, err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	e := &Error{Op: op}
	var apiErr smithy.APIError
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) {
		e.RequestID = respErr.ServiceRequestID()
	}
	switch {
	case errors.As(err, &apiErr):
		e.Code = apiErr.ErrorCode()
		e.Message = apiErr.ErrorMessage()
		e.Class, e.Reason = classifyCode(e.Code, e.Message, kind)
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		e.Code, e.Class, e.Reason = CodeCanceled, Retryable, ReasonCognitoUnavailable
		e.Message = "the request was cancelled or timed out"
	case isTLS(err):
		e.Code, e.Class, e.Reason = CodeTLS, Retryable, ReasonTLSError
		e.Message = rootMessage(err)
	default:
		e.Code, e.Class, e.Reason = CodeUnreachable, Retryable, ReasonCognitoUnavailable
		e.Message = rootMessage(err)
	}
	e.Message = Redact(e.Message, secrets...)
	return e
}

// classifyCode is the table of Cognito exceptions. Every code an enrollment
// can meet is placed deliberately; unknown codes are retried, since a
// transient fault marked terminal is never retried at all.
func classifyCode(code, message string, kind opKind) (Class, string) {
	switch code {
	case "TooManyRequestsException", "LimitExceededException", "TooManyFailedAttemptsException", "ThrottlingException":
		return Throttled, ReasonThrottled
	case "NotAuthorizedException":
		return classifyNotAuthorized(message, kind)
	case "InvalidPasswordException":
		// cognito-local answers a wrong password with this; AWS uses it for
		// passwords that break the pool's policy. Either way the input is wrong.
		return Terminal, ReasonInvalidCredentials
	case "ResourceNotFoundException":
		return Terminal, ReasonResourceNotFound
	case "UserNotFoundException":
		return Terminal, ReasonUserNotFound
	case "UserNotConfirmedException":
		return Terminal, ReasonUserNotConfirmed
	case "PasswordResetRequiredException":
		return Terminal, ReasonPasswordResetRequired
	case "SoftwareTokenMFANotFoundException":
		return Terminal, ReasonSoftwareTokenMFANotEnabled
	case "InvalidUserPoolConfigurationException", "OperationNotEnabledException", "InvalidOAuthFlowException":
		return Terminal, ReasonInvalidUserPoolConfig
	case "InvalidParameterException", "UnsupportedOperationException":
		if strings.Contains(strings.ToLower(message), "flow not enabled") {
			// App clients made in the console since 2024 allow choice-based
			// sign-in (USER_AUTH) and often not USER_PASSWORD_AUTH.
			return Terminal, ReasonUserPasswordAuthNotEnabled
		}
		return Terminal, ReasonInvalidParameter
	case "CodeMismatchException", "EnableSoftwareTokenMFAException", "ExpiredCodeException":
		return Retryable, ReasonVerificationFailed
	case "UserLambdaValidationException":
		// The pool's own Lambda said no: fixed in Cognito, not in the inputs.
		return Terminal, ReasonLambdaRejected
	case "InvalidLambdaResponseException", "UnexpectedLambdaException":
		return Terminal, ReasonLambdaMisconfigured
	case "ForbiddenException":
		// WAF rules are often rate based: back off rather than give up.
		return Retryable, ReasonForbidden
	case "InternalErrorException", "InternalServerException", "ConcurrentModificationException", "ServiceUnavailable":
		return Retryable, ReasonCognitoUnavailable
	default:
		return Retryable, ReasonCognitoError
	}
}

// classifyNotAuthorized splits Cognito's catch-all by what its message says.
func classifyNotAuthorized(message string, kind opKind) (Class, string) {
	m := strings.ToLower(message)
	switch {
	case strings.Contains(m, "attempts exceeded"):
		// A temporary lockout after failed sign-ins; it lifts by itself.
		return Throttled, ReasonThrottled
	case strings.Contains(m, "secret_hash was not received") || strings.Contains(m, "configured for secret") || strings.Contains(m, "configured with secret"):
		return Terminal, ReasonClientSecretRequired
	case strings.Contains(m, "secret hash"):
		return Terminal, ReasonClientSecretMismatch
	case strings.Contains(m, "required scopes"):
		// Access-token customization dropped aws.cognito.signin.user.admin.
		return Terminal, ReasonAccessTokenScopeMissing
	}
	switch kind {
	case opAccessToken:
		return Terminal, ReasonAccessTokenRejected
	case opSession:
		// The MFA_SETUP session ran out; signing in again starts a new one.
		return Retryable, ReasonSessionExpired
	}
	if m == "" || strings.Contains(m, "incorrect username or password") || strings.Contains(m, "password") {
		return Terminal, ReasonInvalidCredentials
	}
	// Another refusal of the sign-in (threat protection's blocks, a
	// disabled user): not the password's fault, so not InvalidCredentials.
	return Terminal, ReasonSignInRefused
}

func isTLS(err error) bool {
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var certErr x509.CertificateInvalidError
	if errors.As(err, &unknownAuth) || errors.As(err, &hostErr) || errors.As(err, &certErr) {
		return true
	}
	return strings.Contains(err.Error(), "tls:")
}

// rootMessage is the innermost error's text: the transport's own words,
// without the SDK's wrapping of the request.
func rootMessage(err error) string {
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return opErr.Error()
	}
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}
