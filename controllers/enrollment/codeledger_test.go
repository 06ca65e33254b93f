package enrollment_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/lifecycle"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/totp"
)

// The user's code ledger (README "Threat model", consumers share one code
// per step): every code the operator sends is recorded first in a Lease per
// user, so that no seed's code of a step goes out twice, no more than
// lifecycle.CodeBudget codes not known accepted stand within 15 minutes,
// and a VerifySoftwareToken refusal that may be a consumer's use of the code
// never disproves a working seed.

var reuseModes = map[string]cognitofake.ReusedCodeMode{
	"reused-as-mismatch": cognitofake.ReusedCodeMismatch,
	"reused-as-expired":  cognitofake.ReusedCodeExpired,
}

func oneTimeCodesAnswering(t *testing.T, m cognitofake.ReusedCodeMode) {
	fake.SetOneTimeCodes(true)
	fake.SetReusedVerifyCode(m)
	t.Cleanup(func() {
		fake.SetOneTimeCodes(false)
		fake.SetReusedVerifyCode(cognitofake.ReusedCodeMismatch)
	})
}

// Cognito verifies the new seed but both answers are lost (a proxy's 500
// after serving): the retries never send a code Cognito has already seen,
// which under ReusedCodeMismatch would read as a wrong seed. The enrollment
// ends Ready with the verified seed.
func TestNoStepCodeSentTwice(t *testing.T) {
	for name, mode := range reuseModes {
		t.Run(name, func(t *testing.T) {
			oneTimeCodesAnswering(t, mode)
			w := newWorld(t, cognitofake.MFAOptional)
			w.credentials()
			fake.InjectFault("VerifySoftwareToken",
				cognitofake.Fault{User: w.username, Code: "InternalErrorException", Message: "lost", AfterServing: true},
				cognitofake.Fault{User: w.username, Code: "InternalErrorException", Message: "lost", AfterServing: true})
			t.Cleanup(func() { fake.ResetFaults(w.username) })
			w.enrollment("twice")
			// Two steps' codes are spent by the lost answers: the third goes
			// out in the next step, and the seed is handed out after it.
			w.waitReadyWithin("twice", 100*time.Second)
			u := fake.User(w.poolID, w.username)
			if u.ReusedCodes != 0 {
				t.Fatalf("the operator presented %d codes Cognito had already seen", u.ReusedCodes)
			}
			if got := string(w.getSecret("twice-totp").Data[v1alpha1.KeySecret]); got != u.TOTPSecret {
				t.Fatal("the stored seed is not the one Cognito verified")
			}
			if err := w.signInWithMFA(u.TOTPSecret, 0); err != nil {
				t.Fatalf("the stored seed does not sign in: %v", err)
			}
			if l := w.codeLedger(); len(l.Open) != 2 {
				t.Fatalf("the ledger holds %d open codes, want the 2 whose answers were lost: %+v", len(l.Open), l)
			}
		})
	}
}

// Cognito refuses every code (a seed it does not hold, or a clock the
// operator cannot follow): the operator sends at most lifecycle.CodeBudget
// codes within the window, well below Cognito's lockout of five, and then
// waits with CodeBudgetSpent, associating nothing it could not verify. The
// user is never locked out.
func TestCodeBudgetBoundsWrongCodes(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.rejectEveryCode()
	before := fake.CallCounts()
	w.enrollment("wrong")
	w.waitCondition("wrong", v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.ReasonCodeBudget)
	time.Sleep(5 * time.Second) // the backoff would have retried many times by now
	calls := callsSince(before)
	if calls["VerifySoftwareToken"] > lifecycle.CodeBudget {
		t.Fatalf("%d codes sent, the budget is %d: %v", calls["VerifySoftwareToken"], lifecycle.CodeBudget, calls)
	}
	if calls["AssociateSoftwareToken"] > lifecycle.CodeBudget {
		t.Fatalf("%d associations for %d codes: seeds associated that no code could verify", calls["AssociateSoftwareToken"], calls["VerifySoftwareToken"])
	}
	ste := w.get("wrong")
	c := conditionOf(ste, v1alpha1.ConditionReconciling)
	if c.Reason != v1alpha1.ReasonCodeBudget || !strings.Contains(c.Message, "15 minutes") {
		t.Fatalf("Reconciling = %+v, want CodeBudgetSpent naming the window", c)
	}
	if ste.Status.NextAttemptTime == nil || time.Until(ste.Status.NextAttemptTime.Time) < 10*time.Minute {
		t.Fatalf("nextAttemptTime %v: the budget frees no code before the oldest leaves the 15-minute window", ste.Status.NextAttemptTime)
	}
	if u := fake.User(w.poolID, w.username); !u.LockedUntil.IsZero() {
		t.Fatalf("the user is locked out (failed attempts %d)", u.FailedAttempts)
	}
	w.expectSeedStored("wrong-totp")
}

// A consumer signs in with the active seed's previous and current codes
// (two consumers, or one whose clock lags), then the access token changes
// and the operator proves the seed again with VerifySoftwareToken: both of
// its codes are refused, and under ReusedCodeMismatch that reads as a wrong
// code. It is evidence, not proof: the enrollment stays Ready
// (CodeRefused), proves the seed in a later step, and never concludes
// AlreadyEnrolled or associates anew.
func TestConsumerCodeNeverDisprovesWorkingSeed(t *testing.T) {
	for name, mode := range reuseModes {
		t.Run(name, func(t *testing.T) {
			oneTimeCodesAnswering(t, mode)
			w := newWorld(t, cognitofake.MFAOptional)
			w.secret("token", map[string]string{"token": fake.IssueAccessToken(w.clientID, w.username)})
			w.enrollment("shared", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) { accessTokenSpec(w, s) })
			w.waitReady("shared")
			seed := string(w.getSecret("shared-totp").Data[v1alpha1.KeySecret])
			ready := totp.StepOf(time.Now())
			for totp.StepOf(time.Now()) <= ready+1 || totp.Remaining(time.Now()) < 15*time.Second {
				time.Sleep(200 * time.Millisecond) // both codes unused by the operator's own proof
			}
			step := totp.StepOf(time.Now())
			for _, off := range []time.Duration{-totp.Period, 0} {
				if err := w.signInWithMFA(seed, off); err != nil {
					t.Fatalf("a consumer's sign-in (offset %v): %v", off, err)
				}
			}
			before := fake.CallCounts()
			w.reproveWithNewToken("shared")
			w.eventually("the operator to prove the seed again", func() bool { return callsSince(before)["VerifySoftwareToken"] > 0 })
			time.Sleep(500 * time.Millisecond)
			if totp.StepOf(time.Now()) == step {
				ste := w.get("shared")
				if !isReady(ste) {
					t.Fatalf("Ready went False on a refusal that may be a consumer's use: %+v", ste.Status.Conditions)
				}
				if mode == cognitofake.ReusedCodeMismatch {
					expectCondition(t, ste, v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.ReasonCodeRefused)
				}
			}
			// The next step's quiet code is the one the second consumer
			// used: up to three steps.
			for deadline := time.Now().Add(3*totp.Period + 10*time.Second); ; time.Sleep(100 * time.Millisecond) {
				ste := w.get("shared")
				c := findCond(ste, v1alpha1.ConditionReconciling)
				if isReady(ste) && (c == nil || c.Status == metav1.ConditionFalse) && ste.Status.ObservedGeneration == ste.Generation {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the seed was not proven again in a later step: %+v", ste.Status.Conditions)
				}
			}
			if totp.StepOf(time.Now()) == step {
				t.Fatal("the seed was proven again in the step whose codes consumers used")
			}
			if calls := callsSince(before); calls["AssociateSoftwareToken"] != 0 {
				t.Fatalf("a working seed was replaced: %v", calls)
			}
			if got := string(w.getSecret("shared-totp").Data[v1alpha1.KeySecret]); got != seed {
				t.Fatal("the stored seed changed")
			}
			// The consumers' two codes, each met once by the operator: refused
			// as wrong, both in the first proof (the second never again);
			// refused as used, the first ends that proof and the second is
			// the next step's quiet code.
			if u := fake.User(w.poolID, w.username); u.ReusedCodes != 2 {
				t.Fatalf("%d codes presented again, want the consumers' 2, each once", u.ReusedCodes)
			}
			if err := w.signInWithMFA(seed, 0); err != nil && !strings.Contains(err.Error(), "already been used") {
				t.Fatalf("the stored seed no longer signs in: %v", err)
			}
		})
	}
}

// Three refusals in distinct steps with no code accepted between prove the
// seed is not the user's token: a seed replaced behind the operator's back
// (an administrator, another tool) is still found, in bounded time.
func TestRepeatedRefusalsProveSeedReplaced(t *testing.T) {
	oneTimeCodesAnswering(t, cognitofake.ReusedCodeMismatch)
	w := newWorld(t, cognitofake.MFAOptional)
	w.secret("token", map[string]string{"token": fake.IssueAccessToken(w.clientID, w.username)})
	w.enrollment("gone", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) { accessTokenSpec(w, s) })
	w.waitReady("gone")
	w.enrollElsewhere() // Cognito now holds a seed nobody stored here
	w.reproveWithNewToken("gone")
	w.waitCondition("gone", v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.ReasonCodeRefused)
	// One refusal a step, three steps: within two minutes.
	deadline := time.Now().Add(2*time.Minute + 30*time.Second)
	for {
		ste := w.get("gone")
		if c := findCond(ste, v1alpha1.ConditionStalled); c != nil && c.Status == metav1.ConditionTrue {
			if c.Reason != v1alpha1.ReasonAlreadyEnrolled {
				t.Fatalf("Stalled %s, want AlreadyEnrolled: %s", c.Reason, c.Message)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a replaced seed was never found: %+v", ste.Status.Conditions)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if u := fake.User(w.poolID, w.username); !u.LockedUntil.IsZero() || u.TOTPSecret != "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" {
		t.Fatalf("the finding locked the user out or replaced the other seed: %+v", u)
	}
}

// A rotation whose VerifySoftwareToken is refused before Cognito checks a
// code (throttled) resumes with a sign-in: the staged seed cannot be the
// user's token, so the sign-in answers with the active seed first and
// sends no wrong code. (Trying the staged seed first spent one
// wrong code per retry until the budget held the rotation for good: the
// property harness, PROPERTY_SEED=13616631364526772919
// PROPERTY_SEQUENCE=51.)
func TestStagedSeedNotTriedFirstBeforeItsVerify(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.enrollment("staged")
	w.waitReady("staged")
	throttled := cognitofake.Fault{User: w.username, Code: "TooManyRequestsException", Message: "Rate exceeded"}
	fake.InjectFault("VerifySoftwareToken", throttled)
	t.Cleanup(func() { fake.ResetFaults(w.username) })
	before := fake.CallCounts()
	w.requestRotation("staged", "r1")
	w.waitRotateHandled("staged", "r1")
	w.waitReadyWithin("staged", 100*time.Second)
	calls := callsSince(before)
	if calls["VerifySoftwareToken"] < 2 || calls["InitiateAuth"] < 2 {
		t.Fatalf("the throttled verify was not retried through new sign-ins: %v", calls)
	}
	u := fake.User(w.poolID, w.username)
	if got := string(w.getSecret("staged-totp").Data[v1alpha1.KeySecret]); got != u.TOTPSecret {
		t.Fatal("the rotation did not end with the verified seed stored")
	}
	// Every seed's codes, the abandoned staged seeds' included.
	if l := w.userLedger(); len(l.Open) != 0 {
		t.Fatalf("codes Cognito did not accept were sent: %+v", l.Open)
	}
}

// userLedger is the whole ledger of the world's user, read from the Lease
// named as the README says: ste-codes-<hash of region and case-folded user>.
func (w *world) userLedger() lifecycle.CodeLedger {
	w.t.Helper()
	sum := sha256.Sum256([]byte("codes\x00us-east-1\x00" + strings.ToLower(w.username)))
	var lease coordinationv1.Lease
	must(w.t, k8s.Get(ctx(), client.ObjectKey{Namespace: claimNamespace, Name: "ste-codes-" + hex.EncodeToString(sum[:16])}, &lease))
	var l lifecycle.CodeLedger
	must(w.t, json.Unmarshal([]byte(lease.Annotations[v1alpha1.OperatorPrefix+"codes"]), &l))
	return l
}

// codeLedger is the user's ledger, read from its Lease.
func (w *world) codeLedger() lifecycle.CodeLedger {
	w.t.Helper()
	var leases coordinationv1.LeaseList
	must(w.t, k8s.List(ctx(), &leases, client.InNamespace(claimNamespace)))
	var out lifecycle.CodeLedger
	for _, l := range leases.Items {
		if !strings.HasPrefix(l.Name, "ste-codes-") {
			continue
		}
		var led lifecycle.CodeLedger
		must(w.t, json.Unmarshal([]byte(l.Annotations[v1alpha1.OperatorPrefix+"codes"]), &led))
		for _, a := range led.Open {
			if u := fake.User(w.poolID, w.username); a.Seed == totp.Fingerprint(u.TOTPSecret) || a.Seed == totp.Fingerprint(u.PendingSecret) {
				out.Open = append(out.Open, a)
			}
		}
	}
	return out
}

// reproveWithNewToken points the enrollment at a new Secret with a fresh
// access token: a spec change, which makes the operator prove the stored
// seed again with VerifySoftwareToken.
func (w *world) reproveWithNewToken(name string) {
	w.t.Helper()
	w.secret("token2", map[string]string{"token": fake.IssueAccessToken(w.clientID, w.username)})
	w.update(name, func(ste *v1alpha1.SoftwareTokenEnrollment) { ste.Spec.AccessTokenSecretRef.Name = "token2" })
}

// waitReadyWithin is waitReady with a longer deadline, for waits that span
// TOTP steps.
func (w *world) waitReadyWithin(name string, d time.Duration) *v1alpha1.SoftwareTokenEnrollment {
	w.t.Helper()
	var ste *v1alpha1.SoftwareTokenEnrollment
	for deadline := time.Now().Add(d); ; time.Sleep(100 * time.Millisecond) {
		if ste = w.get(name); isReady(ste) && ste.Status.ObservedGeneration == ste.Generation {
			return ste
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("%s not Ready within %v: %+v", name, d, ste.Status.Conditions)
		}
	}
}
