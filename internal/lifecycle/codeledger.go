package lifecycle

import (
	"slices"
	"time"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/totp"
)

// The code ledger: what the operator may send Cognito as a TOTP code.
//
// Cognito accepts each code once, and after five wrong MFA codes it locks
// the user out (exponentially, up to about 15 minutes), the user's human
// owner and every consumer of the seed included. Each reconcile used to
// remember only its own codes, so a retry in the same step re-sent a code
// Cognito had already seen (in VerifySoftwareToken's ReusedCodeMismatch
// answer, a "wrong" code that wrongly disproved a working seed), and a run
// of failures could send codes without bound. The ledger is one record per
// user, shared by every enrollment and every reconcile that proves a seed
// of that user, written before each code goes out: a crash between the
// write and Cognito's answer leaves the code counted as wrong, the safe
// side.

// CodeLedger is the per-user record of the codes sent.
type CodeLedger struct {
	// Sent is, per seed fingerprint, the latest step whose code was sent.
	Sent map[string]int64 `json:"sent,omitempty"`
	// Open are the codes sent that Cognito is not known to have accepted:
	// refused, answered as used, or their answer lost.
	Open []CodeAttempt `json:"open,omitempty"`
	// Refused is, per seed fingerprint, the distinct steps in which
	// VerifySoftwareToken refused the seed's current code since Cognito last
	// accepted one of its codes.
	Refused map[string][]int64 `json:"refused,omitempty"`
	// Verifying is, per seed fingerprint, the steps of the
	// VerifySoftwareToken codes sent for it that Cognito may have checked,
	// since a sign-in last showed the seed is not the user's token. A
	// staged seed becomes the token only through such a code, so a sign-in
	// tries a staged seed before the active one only while it is listed
	// here (SignInFirst).
	Verifying map[string][]int64 `json:"verifying,omitempty"`
}

// CodeAttempt is one code sent.
type CodeAttempt struct {
	Seed string `json:"seed"`
	Step int64  `json:"step"`
	// At is when it was sent, on the API server's clock.
	At time.Time `json:"at"`
}

const (
	// CodeBudget is how many codes not known accepted the operator lets
	// stand within CodeWindow: below Cognito's five, leaving the user's
	// other clients two before the lockout.
	CodeBudget = 3
	// CodeWindow is how long a code not known accepted counts: the longest
	// lockout Cognito imposes, about 15 minutes.
	CodeWindow = 15 * time.Minute
	// ProofRefusals is in how many distinct steps VerifySoftwareToken must
	// refuse the stored seed's current code, with no code accepted between,
	// before the refusal proves the seed is not the user's token. One
	// refusal may be a consumer's use of the code: what VerifySoftwareToken
	// answers to a reused code is not documented, and may be this.
	ProofRefusals = 3
)

// CodeVerdict is what the ledger says of a code.
type CodeVerdict int

const (
	// CodeAllowed: send it (after recording it with Spend).
	CodeAllowed CodeVerdict = iota
	// CodeStepSpent: this seed's code of this step (or a later one) went
	// out already; Cognito would take it as used.
	CodeStepSpent
	// CodeOverBudget: CodeBudget codes are open within CodeWindow; the
	// returned time is when the oldest leaves it.
	CodeOverBudget
)

// Admit says whether seed's code of step may be sent at now (the API
// server's clock).
func (l *CodeLedger) Admit(seed string, step int64, now time.Time) (CodeVerdict, time.Time) {
	if last, ok := l.Sent[seed]; ok && step <= last {
		return CodeStepSpent, time.Time{}
	}
	if until, spent := l.BudgetSpent(now); spent {
		return CodeOverBudget, until
	}
	return CodeAllowed, time.Time{}
}

// BudgetSpent says whether CodeBudget codes are open within CodeWindow at
// now, and until when: nothing that needs a code (an association) is worth
// starting before.
func (l *CodeLedger) BudgetSpent(now time.Time) (time.Time, bool) {
	open := l.openSince(now.Add(-CodeWindow))
	if len(open) >= CodeBudget {
		return open[0].At.Add(CodeWindow), true
	}
	return time.Time{}, false
}

// Spend records that seed's code of step goes out at now. It also drops
// what no longer matters: open codes out of the window, and steps sent
// more than a step before this one (only the previous, current and next
// step's codes are ever sent).
func (l *CodeLedger) Spend(seed string, step int64, now time.Time) {
	l.Open = append(l.openSince(now.Add(-CodeWindow)), CodeAttempt{Seed: seed, Step: step, At: now})
	if l.Sent == nil {
		l.Sent = map[string]int64{}
	}
	for s, last := range l.Sent {
		if last < step-2 {
			delete(l.Sent, s)
		}
	}
	l.Sent[seed] = max(l.Sent[seed], step)
	for s, steps := range l.Refused {
		if len(steps) == 0 || steps[len(steps)-1] < step-refusalSteps {
			delete(l.Refused, s) // abandoned seeds' refusals do not pile up
		}
	}
	for s, steps := range l.Verifying {
		if steps = slices.DeleteFunc(steps, func(v int64) bool { return v < step-verifyingSteps }); len(steps) == 0 {
			delete(l.Verifying, s)
		} else {
			l.Verifying[s] = steps
		}
	}
}

// verifyingSteps is how long a Verifying mark lasts: a day of steps. A
// staged seed verified behind a lost reply and not signed in with for a day
// is still found, at the cost of one wrong code.
const verifyingSteps = int64(24 * time.Hour / totp.Period)

// maxVerifying bounds the steps kept per seed: one is enough to try it
// first, a few survive the Unchecked answers of later attempts.
const maxVerifying = 8

// SpendVerify is Spend for a code that goes to VerifySoftwareToken: from
// now on the seed may be the user's token.
func (l *CodeLedger) SpendVerify(seed string, step int64, now time.Time) {
	l.Spend(seed, step, now)
	if l.Verifying == nil {
		l.Verifying = map[string][]int64{}
	}
	steps := append(l.Verifying[seed], step)
	if len(steps) > maxVerifying {
		steps = steps[len(steps)-maxVerifying:]
	}
	l.Verifying[seed] = steps
}

// SignInFirst says whether a sign-in should try the staged seed before the
// active one: only when a VerifySoftwareToken code of it went out since a
// sign-in last showed it is not the token. Otherwise the staged seed cannot
// be the token, and trying it first would spend a wrong code per sign-in
// (a rotation waiting for its proof would then hold itself on the budget
// forever).
func (l *CodeLedger) SignInFirst(staged string) bool {
	_, ok := l.Verifying[staged]
	return ok
}

// SignedInWith records that a sign-in accepted seed's code: the user has
// one token, so no other seed is it.
func (l *CodeLedger) SignedInWith(seed string) {
	for s := range l.Verifying {
		if s != seed {
			delete(l.Verifying, s)
		}
	}
}

// NotToken records that a sign-in refused seed's code as wrong: it is not
// the user's token, until a VerifySoftwareToken code of it goes out again.
func (l *CodeLedger) NotToken(seed string) {
	delete(l.Verifying, seed)
}

// refusalSteps is how many TOTP steps a refusal counts for: CodeWindow.
const refusalSteps = int64(CodeWindow / totp.Period)

// Accepted records that Cognito accepted seed's code of step: it no longer
// counts against the budget, and earlier refusals of the seed were uses.
func (l *CodeLedger) Accepted(seed string, step int64) {
	l.close(seed, step)
	delete(l.Refused, seed)
}

// Unchecked records that Cognito refused the request carrying seed's code
// of step for a reason that is not the code (throttled, a bad parameter):
// it no longer counts against the budget, and a VerifySoftwareToken code so
// refused made no seed the token. The step stays spent.
func (l *CodeLedger) Unchecked(seed string, step int64) {
	l.close(seed, step)
	if steps := slices.DeleteFunc(l.Verifying[seed], func(v int64) bool { return v == step }); len(steps) == 0 {
		delete(l.Verifying, seed)
	} else {
		l.Verifying[seed] = steps
	}
}

// close takes seed's code of step out of the open codes.
func (l *CodeLedger) close(seed string, step int64) {
	l.Open = slices.DeleteFunc(l.Open, func(a CodeAttempt) bool { return a.Seed == seed && a.Step == step })
}

// RefusedIn records that VerifySoftwareToken refused seed's code of the
// current step, and says whether refusals in ProofRefusals distinct steps
// now prove the seed is not the user's token.
func (l *CodeLedger) RefusedIn(seed string, step int64) bool {
	if l.Refused == nil {
		l.Refused = map[string][]int64{}
	}
	// Refusals older than the window are forgotten: a lost write of an
	// accepted code must not leave them to count days later.
	steps := slices.DeleteFunc(l.Refused[seed], func(s int64) bool { return s < step-refusalSteps })
	if !slices.Contains(steps, step) {
		steps = append(steps, step)
	}
	if len(steps) > ProofRefusals {
		steps = steps[len(steps)-ProofRefusals:]
	}
	l.Refused[seed] = steps
	return len(steps) >= ProofRefusals
}

// openSince are the open codes sent after since, oldest first.
func (l *CodeLedger) openSince(since time.Time) []CodeAttempt {
	out := make([]CodeAttempt, 0, len(l.Open))
	for _, a := range l.Open {
		if a.At.After(since) {
			out = append(out, a)
		}
	}
	slices.SortStableFunc(out, func(a, b CodeAttempt) int { return a.At.Compare(b.At) })
	return out
}
