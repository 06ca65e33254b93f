package v1alpha1

// Condition types, with kstatus semantics: GitOps tools read Ready for done,
// Reconciling for in progress and Stalled for failed.
const (
	ConditionReady       = "Ready"
	ConditionReconciling = "Reconciling"
	ConditionStalled     = "Stalled"
	// ConditionRotationFailed is True when the last rotation failed; the old
	// secret is still in place and Ready stays True.
	ConditionRotationFailed = "RotationFailed"
)

// AnnotationRotate requests one rotation per new value (e.g. a timestamp).
const AnnotationRotate = "mfa.cognito-operator.dev/rotate"

// Reasons set on the conditions. They are part of the API: automation and
// the README's table key on them.
const (
	// ReasonEnrolled: the stored secret is verified and the preference applied.
	ReasonEnrolled = "Enrolled"
	// ReasonRotated: the last rotation succeeded.
	ReasonRotated = "Rotated"
	// ReasonProgressing: an enrolment step is under way.
	ReasonProgressing = "Progressing"

	// Waiting for something outside the spec: retried without intervention.
	ReasonCredentialsSecretNotFound = "CredentialsSecretNotFound"
	ReasonAccessTokenSecretNotFound = "AccessTokenSecretNotFound"
	ReasonClientSecretNotFound      = "ClientSecretNotFound"
	ReasonCognitoUnavailable        = "CognitoUnavailable"
	ReasonCognitoError              = "CognitoError"
	ReasonTLSError                  = "TLSError"
	ReasonThrottled                 = "Throttled"
	ReasonVerificationFailed        = "VerificationFailed"
	ReasonSessionExpired            = "SessionExpired"
	ReasonKubernetesAPIError        = "KubernetesAPIError"

	// Terminal: nothing is retried until the spec or a referenced Secret changes.
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
	ReasonForbidden                  = "Forbidden"
	ReasonAlreadyEnrolled            = "AlreadyEnrolled"
	// ReasonDisableRejected: deletionPolicy Disable, and Cognito refuses to
	// turn MFA off (the pool requires it); set deletionPolicy Retain to delete.
	ReasonDisableRejected = "DisableRejected"
	// ReasonDeleting: the finalizer is at work.
	ReasonDeleting = "Deleting"
)

// ChallengeReason names the Stalled reason for a sign-in challenge the
// controller cannot answer, e.g. NEW_PASSWORD_REQUIRED -> ChallengeNewPasswordRequired.
func ChallengeReason(challenge string) string {
	reason := []byte("Challenge")
	upper := true
	for i := 0; i < len(challenge); i++ {
		c := challenge[i]
		switch {
		case c == '_':
			upper = true
			continue
		case upper && c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		case !upper && c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		upper = false
		reason = append(reason, c)
	}
	return string(reason)
}
