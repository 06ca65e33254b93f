package enrollment_test

import (
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/totp"
)

// Cognito accepts each TOTP code once (the fake's one-time-code rule): the
// operator proves a seed with a code no consumer uses, and hands a seed out
// only after the step of any code it used has passed, so that a consumer
// signing in with the current code never finds it spent.

// A TOTP code is good once: a consumer that signs in with the current code
// at the very moment the enrollment first turns Ready succeeds, because the
// operator proved the seed with a code no consumer uses, and hands the seed
// out only after that code's step has passed.
func TestConsumerSignsInTheInstantReadyTurnsTrue(t *testing.T) {
	fake.SetOneTimeCodes(true)
	defer fake.SetOneTimeCodes(false)
	for _, mfa := range []string{cognitofake.MFAOptional, cognitofake.MFAOn} {
		for i := 0; i < 3; i++ {
			w := newWorld(t, mfa)
			w.credentials()
			w.enrollment("instant")
			w.waitReadyAtOnce("instant", 45*time.Second)
			secret := string(w.getSecret("instant-totp").Data[v1alpha1.KeySecret])
			if err := w.signInWithMFA(secret, 0); err != nil {
				t.Fatalf("%s: a consumer signing in the instant Ready turned True failed: %v", mfa, err)
			}
		}
	}
}

// A rotation under the one-time rule: the consumer's first sign-in with the
// rotated secret succeeds too, and the proofs of the old secret never spend
// the code a consumer is using now.
func TestRotationUnderOneTimeCodes(t *testing.T) {
	fake.SetOneTimeCodes(true)
	defer fake.SetOneTimeCodes(false)
	w := newWorld(t, cognitofake.MFAOn)
	w.credentials()
	w.enrollment("spin")
	w.waitReady("spin")
	w.requestRotation("spin", "r1")
	ste := w.waitCondition("spin", v1alpha1.ConditionRotationFailed, metav1.ConditionFalse, v1alpha1.ReasonRotated)
	if !isReady(ste) {
		t.Fatal("not Ready after the rotation")
	}
	if err := w.signInWithMFA(string(w.getSecret("spin-totp").Data[v1alpha1.KeySecret]), 0); err != nil {
		t.Fatalf("the rotated secret does not sign in at once: %v", err)
	}
}

// Retain, then re-create the enrollment (a GitOps prune and re-sync) late in
// a TOTP step: adopting the retained seed proves it by answering the sign-in
// challenge, and within 3 s of the step's end that means the current step's
// code; the enrollment must not turn Ready before that step has passed, or
// a consumer signing in with the current code is refused
// (ExpiredCodeException: the code was already used).
func TestAdoptionLateInStepNeverSpendsConsumersCode(t *testing.T) {
	fake.SetOneTimeCodes(true)
	defer fake.SetOneTimeCodes(false)
	failures := 0
	for i := 0; i < 2; i++ {
		w := newWorld(t, cognitofake.MFAOn)
		w.credentials()
		w.enrollment("again")
		w.waitReady("again")
		w.deleteEnrollment("again")
		w.waitGone("again")
		waitLateInStep(2300*time.Millisecond, 2900*time.Millisecond)
		w.enrollment("again")
		w.waitReadyAtOnce("again", 30*time.Second)
		left := totp.Remaining(time.Now())
		if err := w.signInWithMFA(string(w.getSecret("again-totp").Data[v1alpha1.KeySecret]), 0); err != nil {
			failures++
			t.Errorf("a consumer signing in the instant the re-created enrollment turned Ready failed (%.1fs left in the step): %v", left.Seconds(), err)
		}
	}
	t.Logf("%d of 2 consumers refused", failures)
}

// A consumer signed in with the previous step's code (its clock a little
// behind, or a sign-in made just before the step turned): the operator's
// next proof of the seed consumers hold (here a rotation's sign-in) finds
// that code used, and waits for the next step rather than spend the current
// code, the one the next consumer signs in with. Ready stays True.
func TestRetryProofNeverSpendsTheConsumersCurrentCode(t *testing.T) {
	fake.SetOneTimeCodes(true)
	defer fake.SetOneTimeCodes(false)
	w := newWorld(t, cognitofake.MFAOn)
	w.credentials()
	w.enrollment("busy")
	w.waitReady("busy")
	seed := string(w.getSecret("busy-totp").Data[v1alpha1.KeySecret])
	ready := totp.StepOf(time.Now()) // the operator's proof used the code of a step before this one
	for attempt := 0; ; attempt++ {
		waitLateInStep(20*time.Second, 27*time.Second) // early in a step: room for both sign-ins
		step := totp.StepOf(time.Now())
		if step <= ready {
			time.Sleep(time.Second)
			continue
		}
		if err := w.signInWithMFA(seed, -totp.Period); err != nil {
			t.Fatalf("the consumer's sign-in with the previous step's code: %v", err)
		}
		before := fake.CallCounts()
		w.requestRotation("busy", fmt.Sprint("r", attempt))
		w.eventually("the operator's sign-in to answer the challenge", func() bool {
			return callsSince(before)["RespondToAuthChallenge"] > 0
		})
		time.Sleep(300 * time.Millisecond) // a fallback code would have gone out by now
		if totp.StepOf(time.Now()) != step {
			if attempt < 3 {
				continue // the step turned meanwhile (a slow machine): again, in the next
			}
			t.Fatal("never managed both sign-ins within one TOTP step")
		}
		if err := w.signInWithMFA(seed, 0); err != nil {
			t.Fatalf("the operator spent the current code, the one consumers sign in with: %v", err)
		}
		ste := w.get("busy")
		if !isReady(ste) {
			t.Fatal("Ready went False while the proof waited for the next step")
		}
		if c := findCond(ste, v1alpha1.ConditionRotationFailed); c != nil && c.Status == metav1.ConditionTrue {
			t.Fatalf("a wait for the next step reported as a failed rotation: %+v", c)
		}
		// The next step's proof finds the current code used too (by the
		// consumer above); the one after goes through.
		for deadline := time.Now().Add(3 * totp.Period); w.get("busy").Status.LastRotateRequest != fmt.Sprint("r", attempt); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the rotation did not go through within three TOTP steps: %+v", w.get("busy").Status.Conditions)
			}
		}
		w.waitReady("busy")
		if got := string(w.getSecret("busy-totp").Data[v1alpha1.KeySecret]); got == seed {
			t.Fatal("the rotation kept the old seed")
		}
		return
	}
}
