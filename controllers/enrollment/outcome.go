package enrollment

import (
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/lifecycle"
)

var (
	stall   = lifecycle.Stall
	retry   = lifecycle.Retry
	waitFor = lifecycle.WaitFor
)

// kubeError classifies a failed API-server request: a request the server
// declares invalid will not become valid by retrying it.
func kubeError(what string, err error) error {
	if apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) {
		return stall(v1alpha1.ReasonInvalidSpec, fmt.Sprintf("%s: the API server rejected it: %v", what, err))
	}
	return retry(v1alpha1.ReasonKubernetesAPIError, fmt.Sprintf("%s: %v", what, err))
}

// asOutcome turns any error of a step into an outcome; a Cognito failure's
// message is prefixed by the registry's hint for its reason.
func asOutcome(err error) *lifecycle.Outcome {
	var o *lifecycle.Outcome
	if errors.As(err, &o) {
		return o
	}
	if ce, ok := cognito.AsError(err); ok {
		msg := ce.Error()
		if info, ok := v1alpha1.LookupReason(ce.Reason); ok {
			msg = info.Hint + ": " + msg
		}
		return &lifecycle.Outcome{Reason: ce.Reason, Message: msg, Class: classOf(ce.Class)}
	}
	return lifecycle.OutcomeOf(err)
}

// classOf is the lifecycle class of a Cognito failure's.
func classOf(c cognito.Class) lifecycle.Class {
	switch c {
	case cognito.Terminal:
		return lifecycle.Terminal
	case cognito.Throttled:
		return lifecycle.Throttled
	}
	return lifecycle.Retryable
}

// redacted is err as an outcome whose message holds none of values.
func redacted(err error, values ...string) error {
	o := *asOutcome(err)
	o.Message = cognito.Redact(o.Message, values...)
	return &o
}
