package controllers

import (
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
)

// outcome is how a reconcile stopped short of its plan: a condition reason,
// a human message and what to do next.
type outcome struct {
	reason  string
	message string
	class   cognito.Class
	// waiting marks a wait: no failure; a timer only when after is set.
	waiting bool
	after   time.Duration
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

// waitFor is a wait with a timer: nothing failed, the next step is due later.
func waitFor(reason, message string, after time.Duration) error {
	return &outcome{reason: reason, message: message, class: cognito.Retryable, waiting: true, after: max(after, time.Millisecond)}
}

// kubeError classifies a failed API-server request: a request the server
// declares invalid will not become valid by retrying it.
func kubeError(what string, err error) error {
	if apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) {
		return stall(v1alpha1.ReasonInvalidSpec, fmt.Sprintf("%s: the API server rejected it: %v", what, err))
	}
	return retry(v1alpha1.ReasonKubernetesAPIError, fmt.Sprintf("%s: %v", what, err))
}

// asOutcome turns any error of a step into an outcome, prefixed by the
// registry's hint for its reason.
func asOutcome(err error) *outcome {
	var o *outcome
	if errors.As(err, &o) {
		return o
	}
	if ce, ok := cognito.AsError(err); ok {
		msg := ce.Error()
		if info, ok := v1alpha1.LookupReason(ce.Reason); ok {
			msg = info.Hint + ": " + msg
		}
		return &outcome{reason: ce.Reason, message: msg, class: ce.Class}
	}
	return &outcome{reason: v1alpha1.ReasonKubernetesAPIError, message: err.Error(), class: cognito.Retryable}
}

// redacted is err as an outcome whose message holds none of values.
func redacted(err error, values ...string) error {
	o := *asOutcome(err)
	o.message = cognito.Redact(o.message, values...)
	return &o
}
