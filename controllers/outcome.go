package controllers

import (
	"errors"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
)

// outcome is how a reconcile stopped short of Ready: a condition reason, a
// human message and what to do next.
type outcome struct {
	reason  string
	message string
	class   cognito.Class
	// waiting marks a wait on a watched object: no failure, no timer.
	waiting bool
}

func (o *outcome) Error() string { return o.reason + ": " + o.message }

func stall(reason, message string) error {
	return &outcome{reason: reason, message: message, class: cognito.Terminal}
}

func retry(reason, message string) error {
	return &outcome{reason: reason, message: message, class: cognito.Retryable}
}

func wait(reason, message string) error {
	return &outcome{reason: reason, message: message, class: cognito.Retryable, waiting: true}
}

// hints say, per reason, what went wrong in words a user can act on.
var hints = map[string]string{
	v1alpha1.ReasonInvalidCredentials:         "Cognito rejected the username or password in the credentials Secret",
	v1alpha1.ReasonAccessTokenRejected:        "Cognito rejected the access token (expired, revoked, or without the aws.cognito.signin.user.admin scope); put a fresh one in the access token Secret",
	v1alpha1.ReasonClientSecretRequired:       "the app client has a secret: set spec.clientSecretRef",
	v1alpha1.ReasonClientSecretMismatch:       "the client secret does not match the app client",
	v1alpha1.ReasonResourceNotFound:           "the user pool or app client does not exist in this region",
	v1alpha1.ReasonUserNotFound:               "the user does not exist in the user pool",
	v1alpha1.ReasonUserNotConfirmed:           "the user is not confirmed",
	v1alpha1.ReasonPasswordResetRequired:      "the user must reset their password",
	v1alpha1.ReasonSoftwareTokenMFANotEnabled: "software-token (TOTP) MFA is not enabled on the user pool",
	v1alpha1.ReasonInvalidUserPoolConfig:      "the user pool or app client does not allow this (is USER_PASSWORD_AUTH enabled for the client?)",
	v1alpha1.ReasonInvalidParameter:           "Cognito rejected a parameter",
	v1alpha1.ReasonForbidden:                  "a web ACL refused the request; retrying",
	v1alpha1.ReasonThrottled:                  "Cognito is throttling requests; backing off",
	v1alpha1.ReasonCognitoUnavailable:         "Cognito could not be reached or failed internally; retrying",
	v1alpha1.ReasonCognitoError:               "Cognito returned an error the operator does not know; retrying",
	v1alpha1.ReasonTLSError:                   "the TLS connection to Cognito failed (check the endpoint and AWS_CA_BUNDLE); retrying",
	v1alpha1.ReasonSessionExpired:             "the MFA setup session expired; signing in again",
	v1alpha1.ReasonVerificationFailed:         "Cognito rejected the generated code (is the manager's clock right?); retrying",
}

// asOutcome turns any error of a step into an outcome.
func asOutcome(err error) *outcome {
	var o *outcome
	if errors.As(err, &o) {
		return o
	}
	if ce, ok := cognito.AsError(err); ok {
		msg := ce.Error()
		if hint, ok := hints[ce.Reason]; ok {
			msg = hint + ": " + msg
		}
		return &outcome{reason: ce.Reason, message: msg, class: ce.Class}
	}
	return &outcome{reason: v1alpha1.ReasonKubernetesAPIError, message: err.Error(), class: cognito.Retryable}
}
