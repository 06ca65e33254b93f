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
}

// refusalSteps is how many TOTP steps a refusal counts for: CodeWindow.
const refusalSteps = int64(CodeWindow / totp.Period)

// Accepted records that Cognito accepted seed's code of step: it no longer
// counts against the budget, and earlier refusals of the seed were uses.
func (l *CodeLedger) Accepted(seed string, step int64) {
	l.Unchecked(seed, step)
	delete(l.Refused, seed)
}

// Unchecked records that Cognito refused the request carrying seed's code
// of step for a reason that is not the code (throttled, a bad parameter):
// it no longer counts against the budget. The step stays spent.
func (l *CodeLedger) Unchecked(seed string, step int64) {
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
