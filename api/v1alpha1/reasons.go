package v1alpha1

import "strings"

// ReasonClass says what a reason means for the enrollment and what the
// operator does next.
type ReasonClass string

const (
	// ClassReady: the stored secret works (Ready=True).
	ClassReady ReasonClass = "Ready"
	// ClassProgressing: a step is under way (Reconciling=True).
	ClassProgressing ReasonClass = "Progressing"
	// ClassWaiting: waiting for an object to appear; it is watched, so no timer runs.
	ClassWaiting ReasonClass = "Waiting"
	// ClassRetrying: a transient failure, retried with exponential backoff.
	ClassRetrying ReasonClass = "Retrying"
	// ClassTerminal: nothing is retried until the spec or a referenced Secret changes (Stalled=True).
	ClassTerminal ReasonClass = "Terminal"
)

// ReasonInfo is one condition reason: its class and a hint, in words a user
// can act on, that prefixes the condition message.
type ReasonInfo struct {
	Reason string
	Class  ReasonClass
	Hint   string
	// Rechecked marks a terminal reason whose cause is fixed outside the
	// enrollment's inputs (another enrollment, a Lambda trigger, a risk
	// engine): it is looked at again, with one sign-in, every
	// --retry-max-delay.
	Rechecked bool
}

// Condition reasons. They are part of the API: automation and the README's
// table key on them, and TestReadmeReasons keeps that table in step with
// the registry below.
const (
	ReasonEnrolled       = "Enrolled"
	ReasonRotated        = "Rotated"
	ReasonProgressing    = "Progressing"
	ReasonRotating       = "Rotating"
	ReasonDeleting       = "Deleting"
	ReasonSecretDeleting = "SecretDeleting"
	ReasonCodeRefused    = "CodeRefused"
	ReasonCodeBudget     = "CodeBudgetSpent"

	ReasonCredentialsSecretNotFound = "CredentialsSecretNotFound"
	ReasonAccessTokenSecretNotFound = "AccessTokenSecretNotFound"
	ReasonClientSecretNotFound      = "ClientSecretNotFound"
	ReasonUserPoolNotFound          = "UserPoolNotFound"
	ReasonUserPoolNotReady          = "UserPoolNotReady"

	ReasonCognitoUnavailable = "CognitoUnavailable"
	ReasonCognitoError       = "CognitoError"
	ReasonTLSError           = "TLSError"
	ReasonThrottled          = "Throttled"
	ReasonForbidden          = "Forbidden"
	ReasonVerificationFailed = "VerificationFailed"
	ReasonSessionExpired     = "SessionExpired"
	ReasonKubernetesAPIError = "KubernetesAPIError"

	ReasonInvalidSpec                = "InvalidSpec"
	ReasonInvalidCredentialsSecret   = "InvalidCredentialsSecret"
	ReasonInvalidAccessTokenSecret   = "InvalidAccessTokenSecret"
	ReasonInvalidClientSecret        = "InvalidClientSecret"
	ReasonSecretConflict             = "SecretConflict"
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
	ReasonInvalidParameter           = "InvalidParameter"
	ReasonUserPasswordAuthNotEnabled = "UserPasswordAuthNotEnabled"
	ReasonAlreadyEnrolled            = "AlreadyEnrolled"
	ReasonIdentityChanged            = "IdentityChanged"
	ReasonDuplicateEnrollment        = "DuplicateEnrollment"
	ReasonUserPoolMismatch           = "UserPoolMismatch"
	ReasonDisableRejected            = "DisableRejected"
	ReasonDisableUnconfirmed         = "DisableUnconfirmed"
	ReasonLambdaRejected             = "LambdaRejected"
	ReasonLambdaMisconfigured        = "LambdaMisconfigured"
	ReasonSignInRefused              = "SignInRefused"
	ReasonAccessTokenScopeMissing    = "AccessTokenScopeMissing"
	ReasonUserPoolRefRequired        = "UserPoolRefRequired"
	ReasonNamespaceNotAllowed        = "NamespaceNotAllowed"
	ReasonRecordUnreadable           = "RecordUnreadable"
	ReasonInvalidState               = "InvalidState"
	ReasonClockSkew                  = "ClockSkew"

	// ReasonValid is a ClusterUserPool's Ready reason.
	ReasonValid = "Valid"
)

// rechecked are the terminal reasons whose cause is fixed outside the
// enrollment's inputs: looked at again every --retry-max-delay.
var rechecked = map[string]bool{ReasonDuplicateEnrollment: true, ReasonLambdaRejected: true, ReasonLambdaMisconfigured: true,
	ReasonSignInRefused: true, ReasonClockSkew: true}

// reasonEntry is a registry row; Rechecked comes from rechecked.
type reasonEntry struct {
	Reason string
	Class  ReasonClass
	Hint   string
}

var reasonRegistry = []reasonEntry{
	{ReasonEnrolled, ClassReady, "software-token MFA is enrolled and verified"},
	{ReasonRotated, ClassReady, "the last rotation succeeded"},
	{ReasonProgressing, ClassProgressing, "an enrollment step is under way"},
	{ReasonRotating, ClassProgressing, "a new secret is being associated and verified; the stored one may stop working until it is promoted"},
	{ReasonDeleting, ClassProgressing, "the deletion policy is being carried out"},
	{ReasonSecretDeleting, ClassWaiting, "the enrollment's Secret is being deleted; its seed is kept in the operator's seed store and written back once the Secret is gone"},
	{ReasonCodeRefused, ClassProgressing, "VerifySoftwareToken refused the stored seed's current code, which may be a consumer's use of it; the seed is proved again in later TOTP steps before anything is concluded"},
	{ReasonCodeBudget, ClassProgressing, "the operator sent three TOTP codes not known to be accepted within 15 minutes, and sends no more until the oldest leaves that window (Cognito locks the user out after five)"},
	{ReasonValid, ClassReady, "the ClusterUserPool's spec is valid and its client secret, if any, readable"},

	{ReasonCredentialsSecretNotFound, ClassWaiting, "waiting for the credentials Secret; it proceeds when the Secret appears"},
	{ReasonAccessTokenSecretNotFound, ClassWaiting, "waiting for the access token Secret; it proceeds when the Secret appears"},
	{ReasonClientSecretNotFound, ClassWaiting, "waiting for the client secret's Secret; it proceeds when the Secret appears"},
	{ReasonUserPoolNotFound, ClassWaiting, "waiting for the ClusterUserPool spec.userPoolRef names; it proceeds when the pool is created"},
	{ReasonUserPoolNotReady, ClassWaiting, "the ClusterUserPool is not ready (see its Ready condition); it proceeds when it is"},

	{ReasonCognitoUnavailable, ClassRetrying, "Cognito could not be reached or failed internally; retrying"},
	{ReasonCognitoError, ClassRetrying, "Cognito returned an error the operator does not know; retrying"},
	{ReasonTLSError, ClassRetrying, "the TLS connection to Cognito failed (check the endpoint and AWS_CA_BUNDLE); retrying"},
	{ReasonThrottled, ClassRetrying, "Cognito is throttling requests, or the user is temporarily locked out after failed sign-ins; backing off"},
	{ReasonForbidden, ClassRetrying, "a web ACL refused the request; retrying"},
	{ReasonVerificationFailed, ClassRetrying, "Cognito rejected the generated code (computed on Cognito's clock, learnt from its answers); retrying"},
	{ReasonSessionExpired, ClassRetrying, "the MFA setup session expired; signing in again"},
	{ReasonInvalidState, ClassRetrying, "the operator met a state its transitions table calls impossible (a bug: please report it); nothing is done, retrying with backoff"},
	{ReasonDisableUnconfirmed, ClassRetrying, "deletionPolicy Disable, and the sign-in did not prove the recorded user has no MFA (another app client or user): the seed is kept; after --deletion-timeout it is retained"},
	{ReasonKubernetesAPIError, ClassRetrying, "the Kubernetes API server refused or failed a request; retrying"},

	{ReasonInvalidSpec, ClassTerminal, "the spec cannot be carried out; fix it"},
	{ReasonInvalidCredentialsSecret, ClassTerminal, "the credentials Secret lacks a key; add it"},
	{ReasonInvalidAccessTokenSecret, ClassTerminal, "the access token Secret lacks the key; add it"},
	{ReasonInvalidClientSecret, ClassTerminal, "the client secret's Secret lacks the key; add it"},
	{ReasonSecretConflict, ClassTerminal, "spec.secretName names a Secret this enrollment does not own; it is left untouched"},
	{ReasonInvalidCredentials, ClassTerminal, "Cognito rejected the username or password in the credentials Secret"},
	{ReasonAccessTokenRejected, ClassTerminal, "Cognito rejected the access token (expired, revoked, or without the aws.cognito.signin.user.admin scope); put a fresh one in the access token Secret"},
	{ReasonClientSecretRequired, ClassTerminal, "the app client has a secret: set spec.clientSecretRef"},
	{ReasonClientSecretMismatch, ClassTerminal, "the client secret does not match the app client"},
	{ReasonResourceNotFound, ClassTerminal, "the user pool or app client does not exist in this region"},
	{ReasonUserNotFound, ClassTerminal, "the user does not exist in the user pool"},
	{ReasonUserNotConfirmed, ClassTerminal, "the user is not confirmed"},
	{ReasonPasswordResetRequired, ClassTerminal, "the user must reset their password"},
	{ReasonSoftwareTokenMFANotEnabled, ClassTerminal, "software-token (TOTP) MFA is not enabled on the user pool"},
	{ReasonInvalidUserPoolConfig, ClassTerminal, "the user pool or app client does not allow this (is USER_PASSWORD_AUTH enabled for the client?)"},
	{ReasonInvalidParameter, ClassTerminal, "Cognito rejected a parameter"},
	{ReasonUserPasswordAuthNotEnabled, ClassTerminal, "the app client does not allow USER_PASSWORD_AUTH: enable ALLOW_USER_PASSWORD_AUTH in its authentication flows, or use accessTokenSecretRef"},
	{ReasonAlreadyEnrolled, ClassTerminal, "the user has a software token that no stored seed proves; the operator will not replace it"},
	{ReasonIdentityChanged, ClassTerminal, "the enrollment now names another user or pool than the one its Secret holds a seed for; the stored seed is kept"},
	{ReasonDuplicateEnrollment, ClassTerminal, "another enrollment already enrolls this user; only one may"},
	{ReasonClockSkew, ClassTerminal, "Cognito's answers carry no Date header, so its clock, on which TOTP codes are checked, cannot be learnt; no code is sent and nothing is associated"},
	{ReasonLambdaRejected, ClassTerminal, "a Lambda trigger of the user pool refused the sign-in (UserLambdaValidationException); fix it in Cognito"},
	{ReasonLambdaMisconfigured, ClassTerminal, "a Lambda trigger of the user pool failed or answered what Cognito cannot read (InvalidLambdaResponseException, UnexpectedLambdaException); fix the trigger"},
	{ReasonSignInRefused, ClassTerminal, "Cognito refused the sign-in for another reason than the password (threat protection blocking it, a disabled user); exempt the operator's sign-ins or fix the user in Cognito"},
	{ReasonAccessTokenScopeMissing, ClassTerminal, "the access token lacks the aws.cognito.signin.user.admin scope (a pre token generation trigger dropping it?): the operator's calls need it"},
	{ReasonUserPoolMismatch, ClassTerminal, "the app client belongs to another user pool than the enrollment's"},
	{ReasonUserPoolRefRequired, ClassTerminal, "the manager runs with --require-user-pool-ref: name a ClusterUserPool in spec.userPoolRef instead of userPoolID and clientID"},
	{ReasonNamespaceNotAllowed, ClassTerminal, "the ClusterUserPool's allowedNamespaces do not include this namespace"},
	{ReasonRecordUnreadable, ClassTerminal, "the record on the enrollment's Secret cannot be read by this release (written by a newer one, or edited); nothing is changed"},
	{ReasonDisableRejected, ClassTerminal, "deletionPolicy Disable, and Cognito did not turn software-token MFA off (does the pool require MFA?)"},
}

// challengePrefix names the terminal reasons of sign-in challenges the
// operator cannot answer (see ChallengeReason).
const challengePrefix = "Challenge"

// Reasons is the registry of every condition reason.
func Reasons() []ReasonInfo {
	out := make([]ReasonInfo, 0, len(reasonRegistry))
	for _, r := range reasonRegistry {
		out = append(out, infoOf(r))
	}
	return out
}

func infoOf(r reasonEntry) ReasonInfo {
	return ReasonInfo{Reason: r.Reason, Class: r.Class, Hint: r.Hint, Rechecked: rechecked[r.Reason]}
}

// LookupReason returns a reason's registry entry. Challenge<Name> reasons
// are terminal.
func LookupReason(reason string) (ReasonInfo, bool) {
	for _, r := range reasonRegistry {
		if r.Reason == reason {
			return infoOf(r), true
		}
	}
	if strings.HasPrefix(reason, challengePrefix) && len(reason) > len(challengePrefix) {
		return ReasonInfo{Reason: reason, Class: ClassTerminal,
			Hint: "signing in returned a challenge the operator cannot answer; resolve it for the user"}, true
	}
	return ReasonInfo{}, false
}
