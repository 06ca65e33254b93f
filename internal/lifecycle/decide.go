package lifecycle

import (
	"fmt"
	"time"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/totp"
)

// Decide is the first half of a reconcile's decision: the phase, the
// trigger the observation shows, and the table's action. A plan that signs
// in first meets the gates: it waits (or stalls) on incomplete inputs, and
// pauses when the TOTP step is about to end; a plan that does not goes
// ahead without them, so that a pruned credentials Secret does not make a
// working enrollment unready.
func Decide(o *Observation) Transition {
	phase := PhaseOf(o)
	if phase == Releasing {
		return DecideDeletion(o)
	}
	t := Resolve(o, phase, DetectTrigger(o), nil)
	if t.Plan.SignsIn() {
		if gate := gateOf(o); gate != "" {
			return Resolve(o, phase, gate, nil)
		}
	}
	return t
}

// gateOf is the gate a plan that signs in meets, or "".
func gateOf(o *Observation) Event {
	switch {
	case o.In.Err != nil && OutcomeOf(o.In.Err).Waiting:
		return InputsMissing
	case o.In.Err != nil:
		return InputsInvalid
	case o.HasSeed() && totp.Remaining(o.stepNow()) < totp.CodeMargin:
		// The previous step's code goes stale at the step's end, and the
		// current one is the code a consumer signs in with.
		return StepEndingSoon
	}
	return ""
}

// AfterSignIn is the second half: what the step is, once Cognito has been
// heard, for the plan Decide chose.
func AfterSignIn(o *Observation, plan Plan, v *View) Transition {
	return Resolve(o, PhaseOf(o), resultOf(o, plan, v), v)
}

// DecideDeletion carries out the deletion policy. Disable that does not
// succeed within the deletion timeout, whatever the error, falls back to
// Retain: keeping the seed is always safe, deleting it never is while the
// user may still be enrolled. A seed that cannot stay in the namespace (it
// is being deleted) is kept in the seed store instead.
func DecideDeletion(o *Observation) Transition {
	disableWanted := o.Enrollment.Spec.DeletionPolicy == v1alpha1.DeletionPolicyDisable && o.seedOwned()
	leave := o.SeedMustLeave()
	var ev Event
	switch {
	case disableWanted && o.DeletionTimedOut && leave:
		ev = DisableTimedOutLeaving
	case disableWanted && o.DeletionTimedOut:
		ev = DisableTimedOut
	case disableWanted && stalledUnchanged(o):
		// A Disable that failed for good waits for the timeout, or for new
		// inputs; nothing else makes it try again.
		ev = StalledUnchanged
	case disableWanted && retryNotDue(o):
		// A failing Disable backs off like any failure, whatever triggers it.
		ev = RetryNotDue
	case disableWanted:
		ev = DisableDue
	case o.seedOwned() && leave:
		ev = ReleaseLeaving
	case o.Ownership == OwnOwned:
		ev = ReleaseDue
	default:
		ev = NothingOwned
	}
	t := Resolve(o, Releasing, ev, nil)
	if t.Plan != PlanDisable {
		return t
	}
	// Signing in sends the password: the pool's policies hold here too.
	for _, gate := range triggers[:2] {
		if gate.holds(o) {
			return Resolve(o, Releasing, gate.event, nil)
		}
	}
	if o.In.Err != nil {
		if OutcomeOf(o.In.Err).Waiting {
			return Resolve(o, Releasing, InputsMissing, nil)
		}
		return Resolve(o, Releasing, InputsInvalid, nil)
	}
	return t
}

// AfterDisableSignIn is what Disable does once it signed in.
func AfterDisableSignIn(o *Observation, v *View) Transition {
	return Resolve(o, Releasing, disableResultOf(o, v), v)
}

// Resolve looks up (phase, event) and carries out its action's outcome. A
// pair the table calls impossible is a bug: it is retried with backoff,
// never acted on, and named in Impossible for the log, the metrics and the
// property harness.
func Resolve(o *Observation, phase Phase, ev Event, v *View) Transition {
	t := Transition{Phase: phase, Event: ev}
	if v == nil {
		v = &View{}
	}
	e, ok := table[phase][ev]
	if !ok || e.do == nil {
		t.Impossible = e.impossible
		if !ok {
			t.Impossible = "not in the transitions table"
		}
		t.Plan = PlanImpossible
		t.Err = Retry(v1alpha1.ReasonInvalidState, fmt.Sprintf(
			"the operator met a state its transitions table calls impossible (%s × %s: %s); this is a bug, please report it; retrying with backoff",
			phase, ev, t.Impossible))
		return t
	}
	a := e.do
	t.Plan, t.Step, t.Why = a.plan, a.step, a.why
	if a.out != nil {
		t.Err = a.out(o, v)
	}
	if a.retryIn != nil {
		t.RetryIn = a.retryIn(o)
	}
	return t
}

// Lookup says what the table holds for (phase, event): the action's plan
// and step, or why the pair is impossible.
func Lookup(phase Phase, ev Event) (plan Plan, step Step, impossible string, ok bool) {
	e, ok := table[phase][ev]
	if !ok {
		return "", "", "", false
	}
	if e.do == nil {
		return "", "", e.impossible, true
	}
	return e.do.plan, e.do.step, "", true
}

// stepNow is the time TOTP steps are counted on: Cognito's when known.
func (o *Observation) stepNow() time.Time {
	if o.StepNow.IsZero() {
		return o.Now
	}
	return o.StepNow
}
