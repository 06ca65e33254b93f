package lifecycle

import (
	"errors"
	"time"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
)

// Class says what to do about a step that did not complete.
type Class int

const (
	// Retryable failures are retried with backoff.
	Retryable Class = iota
	// Throttled failures are retried with a longer backoff and never stall.
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

// Outcome is how a reconcile stopped short of its plan: a condition reason,
// a human message and what to do next. It is an error, so that steps return it.
type Outcome struct {
	Reason  string
	Message string
	Class   Class
	// Waiting marks a wait: no failure; a timer only when After is set.
	Waiting bool
	After   time.Duration
	// Hold makes a timed wait gate the enrollment as a backoff does
	// (status.nextAttemptTime): nothing is worth trying before it, whatever
	// wakes the enrollment meanwhile.
	Hold bool
}

func (o *Outcome) Error() string { return o.Reason + ": " + o.Message }

// Stall is a terminal outcome: nothing is retried until the inputs change.
func Stall(reason, message string) error {
	return &Outcome{Reason: reason, Message: message, Class: Terminal}
}

// Retry is a transient failure, retried with backoff.
func Retry(reason, message string) error {
	return &Outcome{Reason: reason, Message: message, Class: Retryable}
}

// Wait is a wait for something that is watched: no failure, no timer.
func Wait(reason, message string) error {
	return &Outcome{Reason: reason, Message: message, Class: Retryable, Waiting: true}
}

// WaitFor is a wait with a timer: nothing failed, the next step is due later.
func WaitFor(reason, message string, after time.Duration) error {
	return &Outcome{Reason: reason, Message: message, Class: Retryable, Waiting: true, After: max(after, time.Millisecond)}
}

// HoldFor is WaitFor that also holds off whatever wakes the enrollment
// before after has passed.
func HoldFor(reason, message string, after time.Duration) error {
	o := WaitFor(reason, message, after).(*Outcome)
	o.Hold = true
	return o
}

// OutcomeOf is err's Outcome; any other error is a retryable API failure
// (the controllers turn Cognito's errors into outcomes before this).
func OutcomeOf(err error) *Outcome {
	var o *Outcome
	if errors.As(err, &o) {
		return o
	}
	return &Outcome{Reason: v1alpha1.ReasonKubernetesAPIError, Message: err.Error(), Class: Retryable}
}
