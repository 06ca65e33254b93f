package enrollment

import (
	"context"
	"time"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/lifecycle"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/totp"
)

// codeRoute is where a code goes: Cognito's answers to a code that was
// used already differ between the two.
type codeRoute int

const (
	// viaChallenge: RespondToAuthChallenge, which declares
	// ExpiredCodeException for a used code, so CodeMismatchException
	// proves the code wrong.
	viaChallenge codeRoute = iota
	// viaVerify: VerifySoftwareToken, whose answer to a used code is not
	// documented and may be CodeMismatchException.
	viaVerify
)

// tryCodes proves secret with the quietest codes the user's code ledger
// allows, and remembers the step of the code Cognito accepted:
//
//   - no step's code of a seed goes out twice (Cognito accepts a code once,
//     so the second would be refused whatever the seed), and no code goes
//     out while lifecycle.CodeBudget codes not known accepted stand within
//     lifecycle.CodeWindow (five wrong codes lock the user out);
//   - for the seed consumers hold (the active one), a code refused as used
//     (ExpiredCodeException: a consumer signed in with it) ends the proof:
//     it waits for the next step rather than spend the code consumers sign
//     in with now;
//   - VerifySoftwareToken refusing the active seed's current code as wrong
//     may be a consumer's use of it too: that is evidence, and only
//     refusals in lifecycle.ProofRefusals distinct steps with no code
//     accepted between prove the seed is not the user's token. Until then
//     the proof waits for a later step, the enrollment still Ready.
//
// ok=false with no error proves the seed is not the user's token (or is no
// base32 seed).
func (x *run) tryCodes(ctx context.Context, secret string, route codeRoute, send func(code string) error) (bool, error) {
	if err := x.knowCognitosClock(); err != nil {
		return false, err
	}
	now := x.cognitoNow()
	codes, err := totp.QuietCodes(secret, now, totp.CodeMargin)
	if err != nil {
		return false, nil
	}
	// During a deletion nothing is spared by waiting: Disable's sign-in
	// turns MFA off, and it must not starve behind busy consumers.
	shown := secret != "" && secret == x.o.secret && x.o.Enrollment.DeletionTimestamp.IsZero()
	seed, current := totp.Fingerprint(secret), totp.StepOf(now)
	early := totp.Remaining(now) > totp.Period-codeStepMargin
	if next := current + 1; !shown && !early && codes[len(codes)-1].Step < next {
		// A seed no consumer holds may spend the next step's code (Cognito
		// accepts a step either side; the seed is handed out only after
		// that step): tried only when the others were sent already, after a
		// lost answer. Not early in a step, when a clock a little behind
		// may still be in the previous one, two steps from next.
		code, err := totp.CodeOfStep(secret, next)
		if err != nil {
			return false, nil
		}
		codes = append(codes, totp.StepCode{Code: code, Step: next})
	}
	var (
		sent, refusedNow bool
		used, held       error
	)
	for i, c := range codes {
		if sent && i >= 2 {
			break // the fallback code is for when the others were spent
		}
		if held = x.spendCode(ctx, seed, c.Step, route); held != nil {
			if held == errStepSpent {
				held = nil
				continue
			}
			break
		}
		sent = true
		err := send(c.Code)
		switch {
		case err == nil:
			x.acceptedStep(secret, c.Step)
			x.noteInLedger(ctx, func(l *lifecycle.CodeLedger) {
				l.Accepted(seed, c.Step)
				if route == viaChallenge {
					l.SignedInWith(seed)
				}
			})
			return true, nil
		case cognito.HasCode(err, "ExpiredCodeException"):
			if shown {
				return false, waitFor(v1alpha1.ReasonProgressing,
					"a consumer signed in with the code the operator proves the stored seed with; waiting for the next TOTP step rather than spend the code consumers sign in with now",
					x.untilStepAfter(current))
			}
			used = err
		case cognito.HasCode(err, "CodeMismatchException", "EnableSoftwareTokenMFAException"):
			refusedNow = refusedNow || c.Step >= current
			if route == viaChallenge {
				x.noteInLedger(ctx, func(l *lifecycle.CodeLedger) { l.NotToken(seed) })
			}
		default:
			if !cognito.CodeMayHaveBeenChecked(err) {
				x.noteInLedger(ctx, func(l *lifecycle.CodeLedger) { l.Unchecked(seed, c.Step) })
			}
			return false, err
		}
	}
	// While an association of the operator's may be pending (a rotation
	// whose reply was lost), VerifySoftwareToken checks codes against that
	// association, not the active seed: its refusal proves the seed is not
	// what Cognito checks, as before.
	if route == viaVerify && shown && refusedNow && x.o.Record.AssociatingSince == nil {
		var proven bool
		if err := x.updateLedger(ctx, func(l *lifecycle.CodeLedger) (bool, error) {
			proven = l.RefusedIn(seed, current)
			return true, nil
		}); err != nil {
			return false, err
		}
		if !proven {
			return false, waitFor(v1alpha1.ReasonCodeRefused,
				"VerifySoftwareToken refused the stored seed's current code, which may mean a consumer used it (Cognito does not say which); proving again in a later TOTP step",
				x.untilStepAfter(current))
		}
		return false, nil
	}
	switch {
	case held != nil:
		return false, held
	case used != nil:
		return false, used
	case !sent:
		return false, waitFor(v1alpha1.ReasonProgressing,
			"this TOTP step's codes of the seed were sent already (Cognito accepts a code once); waiting for the next step",
			x.untilStepAfter(current))
	}
	return false, nil
}

// errStepSpent: the seed's code of the step was sent already.
var errStepSpent = waitFor(v1alpha1.ReasonProgressing, "the step's code was sent already", time.Millisecond)

// spendCode records in the user's ledger that seed's code of step goes out
// by route, or says why it may not: errStepSpent, or a wait for the budget.
func (x *run) spendCode(ctx context.Context, seed string, step int64, route codeRoute) error {
	return x.updateLedger(ctx, func(l *lifecycle.CodeLedger) (bool, error) {
		now := x.r.serverNow()
		switch verdict, until := l.Admit(seed, step, now); verdict {
		case lifecycle.CodeStepSpent:
			return false, errStepSpent
		case lifecycle.CodeOverBudget:
			return false, budgetWait(until.Sub(now))
		}
		if route == viaVerify {
			l.SpendVerify(seed, step, now)
		} else {
			l.Spend(seed, step, now)
		}
		return true, nil
	})
}

// noteInLedger writes what Cognito's answer showed, best effort: each note
// only relieves the ledger (a code left open counts as wrong, a seed left
// marked Verifying costs one wrong code at a sign-in), so a lost write
// errs on the safe side.
func (x *run) noteInLedger(ctx context.Context, note func(*lifecycle.CodeLedger)) {
	_ = x.updateLedger(ctx, func(l *lifecycle.CodeLedger) (bool, error) {
		note(l)
		return true, nil
	})
}

// signInOrder is the order a sign-in tries the stored seeds in: the staged
// seed first only while the ledger says a VerifySoftwareToken code of it
// went out (else it cannot be the user's token).
func (x *run) signInOrder(ctx context.Context) ([]string, error) {
	keys := x.candidates()
	if len(keys) < 2 {
		return keys, nil
	}
	var first bool
	if err := x.updateLedger(ctx, func(l *lifecycle.CodeLedger) (bool, error) {
		first = l.SignInFirst(totp.Fingerprint(x.stored(v1alpha1.KeyPendingSecret)))
		return false, nil
	}); err != nil {
		return nil, err
	}
	if first {
		return keys, nil
	}
	return []string{v1alpha1.KeySecret, v1alpha1.KeyPendingSecret}, nil
}

// checkCodeBudget is the budget wait if the user's ledger allows no code
// now: an association started then could not be verified.
func (x *run) checkCodeBudget(ctx context.Context) error {
	return x.updateLedger(ctx, func(l *lifecycle.CodeLedger) (bool, error) {
		now := x.r.serverNow()
		if until, spent := l.BudgetSpent(now); spent {
			return false, budgetWait(until.Sub(now))
		}
		return false, nil
	})
}

func budgetWait(d time.Duration) error {
	return lifecycle.HoldFor(v1alpha1.ReasonCodeBudget,
		"the operator has sent as many TOTP codes not known to be accepted as it allows itself within 15 minutes (Cognito locks the user out after five wrong codes); waiting until the oldest leaves that window",
		d)
}

// untilStepAfter is how long, on the manager's clock, until Cognito's
// clock is safely past step.
func (x *run) untilStepAfter(step int64) time.Duration {
	return x.localTime(totp.StepEnd(step).Add(codeStepMargin)).Sub(x.r.Now())
}
