package enrollment

import (
	"fmt"
	"time"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/lifecycle"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/totp"
)

// run is one reconcile's working state while it acts. Secret material lives
// here, in memory, for the length of the reconcile only.
type run struct {
	r   *Reconciler
	o   *observation
	t   lifecycle.Transition
	api cognito.Client

	accessToken string
	// session is the MFA_SETUP session while that flow lasts.
	session string
	// association is a seed Cognito just handed out.
	association string
	view        *lifecycle.View
	// claim is the claim on view.ID as heard, with its Leases.
	claim claimState
	step  lifecycle.Step

	// associated: AssociateSoftwareToken was sent in this reconcile.
	associated bool
	// verified: a new seed was verified in this reconcile.
	verified     bool
	verifyStatus string
	// rotation: this reconcile replaces a working seed.
	rotation bool
	// usedStep is, per seed, the latest step whose code Cognito accepted.
	usedStep map[string]int64
	// distrusted: Cognito showed that the stored secret may no longer work.
	distrusted bool
	// deleting: the reconcile carries out a deletion policy; a failure of it
	// does not leave the enrollment claiming Ready.
	deleting bool
	// lookAgain: someone else changed the enrollment's Secret while this
	// reconcile wrote it; the event was held back, so it reconciles again.
	lookAgain bool
	// claimRead is the claim on claimReadFor, read while GetUser ran.
	claimRead    *claimState
	claimReadFor lifecycle.Identity
	// setupLock is the setup lock this reconcile holds (setuplock.go).
	setupLock *claimPart
}

func (r *Reconciler) newRun(o *observation, t lifecycle.Transition) *run {
	x := &run{r: r, o: o, t: t}
	// A rotation is also owed when an earlier one associated a token and no
	// sign-in has proved since which seed Cognito holds.
	x.rotation = t.Plan == lifecycle.PlanRotate ||
		(o.secret != "" && (t.Plan == lifecycle.PlanResumePending || o.Record.Associating()))
	return x
}

// plan is the plan the reconcile carries out.
func (x *run) plan() lifecycle.Plan { return x.t.Plan }

// trusted says the stored secret still works as far as anyone knows: the
// enrollment may stay Ready through a failure.
func (x *run) trusted() bool {
	return x.o.SeedTrusted() && !x.distrusted && !x.associated && !x.deleting
}

// newSeed says this reconcile made a new seed the user's token: verified
// one, or proved a staged one.
func (x *run) newSeed() bool { return x.verified || x.step == lifecycle.StepPromote }

// handledRotate is the rotate request this reconcile's promotion handles:
// the one a new association was made for, here or, for a staged seed, when
// it was staged. A request made since stays due.
func (x *run) handledRotate() string {
	switch {
	case x.association != "":
		return x.o.Enrollment.Annotations[v1alpha1.AnnotationRotate]
	case x.step == lifecycle.StepPromote:
		return x.o.Record.Pending.Rotate
	}
	return ""
}

// stored is a seed stored under key, or "".
func (x *run) stored(key string) string {
	switch key {
	case v1alpha1.KeySecret:
		return x.o.secret
	case v1alpha1.KeyPendingSecret:
		return x.o.pending
	}
	return ""
}

// candidates are the stored seeds worth proving, the staged one first: if it
// was verified before a crash, it is the one Cognito now holds, and
// VerifySoftwareToken checks a pending association's codes. A sign-in
// orders them by the code ledger instead (signInOrder).
func (x *run) candidates() []string {
	var out []string
	for _, k := range []string{v1alpha1.KeyPendingSecret, v1alpha1.KeySecret} {
		if x.stored(k) != "" {
			out = append(out, k)
		}
	}
	return out
}

// secretValues is every sensitive value this reconcile holds, so that any
// text leaving it can be scrubbed of them.
func (x *run) secretValues() []string {
	c := &x.o.creds
	return []string{c.password, c.accessToken, c.appClient.Secret, x.accessToken, x.session, x.association,
		x.o.secret, x.o.pending}
}

// acceptedStep remembers that Cognito accepted secret's code of step.
func (x *run) acceptedStep(secret string, step int64) {
	if x.usedStep == nil {
		x.usedStep = map[string]int64{}
	}
	x.usedStep[secret] = max(x.usedStep[secret], step)
}

// codeStepMargin covers clocks a few seconds apart: a consumer's clock
// behind Cognito's may still be in the step the operator used.
const codeStepMargin = 3 * time.Second

// shownAfter is when, on the manager's clock, a seed whose codes the
// operator used may be handed to consumers: once Cognito's clock has left
// the step of the last code it accepted.
func (x *run) shownAfter(secret string) time.Time {
	step, ok := x.usedStep[secret]
	if !ok {
		return time.Time{}
	}
	return x.localTime(totp.StepEnd(step).Add(codeStepMargin))
}

// localTime is t, a time on Cognito's clock, on the manager's.
func (x *run) localTime(t time.Time) time.Time {
	return t.Add(x.r.Now().Sub(x.cognitoNow()))
}

// cognitoNow is Cognito's time, on which codes are computed: Cognito checks
// a code against its own clock, and a manager minutes off would otherwise
// send codes it refuses (and read the refusal as a seed that is not the
// user's). It is learnt from the Date of Cognito's answers; until one has
// carried a Date, the manager's clock (knowCognitosClock keeps codes from
// going out before then).
func (x *run) cognitoNow() time.Time {
	if x.api != nil {
		if t, known, _ := x.api.Now(); known {
			return onCognitosClock(x.r.Now(), t)
		}
	}
	return x.r.Now()
}

// resolution is what a Date header can tell: its clock in whole seconds,
// read somewhere within a round trip. An offset smaller than that cannot be
// told from the rounding, and a synchronised manager clock is then the more
// precise one: the step margins are counted on it.
const resolution = 1500 * time.Millisecond

// onCognitosClock is Cognito's time given the manager's (local) and the
// Date-header estimate: the estimate only when it is off by more than the
// header can resolve.
func onCognitosClock(local, estimate time.Time) time.Time {
	if d := estimate.Sub(local); d < resolution && d > -resolution {
		return local
	}
	return estimate
}

// knowCognitosClock stalls, before an association or a code, when answers
// of Cognito's came back and none carried a Date: nothing then says which
// TOTP step Cognito is in, and a refused code must never be what the
// operator acts on. Before any answer (an access-token association can be
// a fresh manager's first call) it lets the call go: its answer tells.
func (x *run) knowCognitosClock() error {
	if _, known, heard := x.api.Now(); heard && !known {
		return stall(v1alpha1.ReasonClockSkew, fmt.Sprintf(
			"Cognito's answers in %s carry no Date header, so its clock, on which TOTP codes are checked, cannot be learnt; nothing is associated and no code is sent",
			x.o.In.Region))
	}
	return nil
}
