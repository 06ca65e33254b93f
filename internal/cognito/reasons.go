package cognito

// What went wrong, as the classifier names it. The names are condition
// reasons of the operator's API (api/v1alpha1), spelled the same; this
// package does not import the API, and a controllers test checks that every
// name here is a registered reason.
const (
	ReasonThrottled                  = "Throttled"
	ReasonInvalidCredentials         = "InvalidCredentials"
	ReasonAccessTokenRejected        = "AccessTokenRejected"
	ReasonClientSecretRequired       = "ClientSecretRequired"
	ReasonClientSecretMismatch       = "ClientSecretMismatch"
	ReasonResourceNotFound           = "ResourceNotFound"
	ReasonUserNotFound               = "UserNotFound"
	ReasonUserNotConfirmed           = "UserNotConfirmed"
	ReasonPasswordResetRequired      = "PasswordResetRequired"
	ReasonSoftwareTokenMFANotEnabled = "SoftwareTokenMFANotEnabled"
	ReasonInvalidUserPoolConfig      = "InvalidUserPoolConfiguration"
	ReasonUserPasswordAuthNotEnabled = "UserPasswordAuthNotEnabled"
	ReasonInvalidParameter           = "InvalidParameter"
	ReasonVerificationFailed         = "VerificationFailed"
	ReasonForbidden                  = "Forbidden"
	ReasonCognitoUnavailable         = "CognitoUnavailable"
	ReasonCognitoError               = "CognitoError"
	ReasonTLSError                   = "TLSError"
	ReasonSessionExpired             = "SessionExpired"
	ReasonLambdaRejected             = "LambdaRejected"
	ReasonLambdaMisconfigured        = "LambdaMisconfigured"
	ReasonSignInRefused              = "SignInRefused"
	ReasonAccessTokenScopeMissing    = "AccessTokenScopeMissing"
)

// Reasons lists every reason the classifier can return.
var Reasons = []string{ReasonThrottled, ReasonInvalidCredentials, ReasonAccessTokenRejected, ReasonClientSecretRequired,
	ReasonClientSecretMismatch, ReasonResourceNotFound, ReasonUserNotFound, ReasonUserNotConfirmed, ReasonPasswordResetRequired,
	ReasonSoftwareTokenMFANotEnabled, ReasonInvalidUserPoolConfig, ReasonUserPasswordAuthNotEnabled, ReasonInvalidParameter,
	ReasonVerificationFailed, ReasonForbidden, ReasonCognitoUnavailable, ReasonCognitoError, ReasonTLSError, ReasonSessionExpired,
	ReasonLambdaRejected, ReasonLambdaMisconfigured, ReasonSignInRefused, ReasonAccessTokenScopeMissing}
