package controllers

import (
	"time"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
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
	o.now = x.r.Now()
	if s := o.target; s != nil { // writeSecret keeps target and ownership current
		o.rec = readRecord(s)
		o.secret, o.pending = seed(s, v1alpha1.KeySecret), seed(s, v1alpha1.KeyPendingSecret)
	}
	if x.p.needsCognito() && x.step != "" {
		o.claim = claimState{state: claimMine} // takeClaim succeeded
	}
	p := decide(&o)
	switch {
	case p.name == x.p.name:
		return 0
	case p.needsCognito() || p.name == planPromoteVerified:
		return time.Millisecond
	case p.name == planBackoff && p.retryIn > 0:
		return p.retryIn // a pause before acting (stepEndingSoon)
	}
	return 0
}
