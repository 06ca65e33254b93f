package enrollment

import (
	"time"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/lifecycle"
)

// dueAfter decides again, in memory, on what a successful reconcile has
// just written, and says when to come back for work that is due right after
// it (0: nothing is). The operator's own writes wake nothing (ownwrites.go),
// so what used to start on their echo, such as a rotation requested while
// a verified seed waited to be promoted, is asked for here. A plan that
// would repeat the one just carried out is not: success left it nothing to
// do, and coming straight back would be a hot loop if memory and the API
// server ever disagreed.
func (x *run) dueAfter() time.Duration {
	o := *x.o
	o.Now, o.StepNow = x.r.Now(), x.cognitoNow()
	if s := o.target; s != nil { // writeSecret keeps target current
		o.setTarget(s)
	}
	if x.plan().SignsIn() && x.step != "" {
		o.Claim = lifecycle.Claim{Kind: lifecycle.ClaimMine} // takeClaim succeeded
	}
	t := lifecycle.Decide(&o.Observation)
	switch {
	case t.Plan == x.plan():
		return 0
	case t.Plan.SignsIn() || t.Plan == lifecycle.PlanPromoteVerified:
		return time.Millisecond
	case t.Plan == lifecycle.PlanBackoff && t.RetryIn > 0:
		return t.RetryIn // a pause before acting (StepEndingSoon)
	}
	return 0
}
