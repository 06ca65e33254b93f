package lifecycle

import (
	"encoding/json"
	"testing"
	"time"
)

func TestCodeLedgerAdmit(t *testing.T) {
	const a, b = "seed-a", "seed-b"
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	tests := []struct {
		name      string
		spent     []CodeAttempt // spent in order
		accepted  []CodeAttempt
		seed      string
		step      int64
		now       time.Time
		want      CodeVerdict
		wantUntil time.Time
	}{
		{name: "empty ledger allows", seed: a, step: 10, now: at(0), want: CodeAllowed},
		{name: "same step of the same seed is spent",
			spent: []CodeAttempt{{a, 10, at(0)}}, seed: a, step: 10, now: at(0), want: CodeStepSpent},
		{name: "an earlier step of the same seed is spent (a later one went out)",
			spent: []CodeAttempt{{a, 11, at(0)}}, seed: a, step: 10, now: at(0), want: CodeStepSpent},
		{name: "the next step of the same seed is allowed",
			spent: []CodeAttempt{{a, 10, at(0)}}, seed: a, step: 11, now: at(0), want: CodeAllowed},
		{name: "another seed's code of the step is allowed",
			spent: []CodeAttempt{{a, 10, at(0)}}, seed: b, step: 10, now: at(0), want: CodeAllowed},
		{name: "three open codes spend the budget until the oldest leaves the window",
			spent: []CodeAttempt{{a, 10, at(0)}, {a, 11, at(1)}, {b, 11, at(2)}}, seed: b, step: 12, now: at(3),
			want: CodeOverBudget, wantUntil: at(0).Add(CodeWindow)},
		{name: "a code out of the window no longer counts",
			spent: []CodeAttempt{{a, 10, at(0)}, {a, 11, at(1)}, {b, 11, at(2)}}, seed: b, step: 40, now: at(16),
			want: CodeAllowed},
		{name: "an accepted code does not count against the budget",
			spent:    []CodeAttempt{{a, 10, at(0)}, {a, 11, at(1)}, {b, 11, at(2)}},
			accepted: []CodeAttempt{{a, 11, time.Time{}}}, seed: b, step: 12, now: at(3), want: CodeAllowed},
		{name: "accepting another step of the seed frees nothing",
			spent:    []CodeAttempt{{a, 10, at(0)}, {a, 11, at(1)}, {b, 11, at(2)}},
			accepted: []CodeAttempt{{a, 12, time.Time{}}}, seed: b, step: 12, now: at(3),
			want: CodeOverBudget, wantUntil: at(0).Add(CodeWindow)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l CodeLedger
			for _, s := range tt.spent {
				if v, _ := l.Admit(s.Seed, s.Step, s.At); v != CodeAllowed {
					t.Fatalf("setup: Admit(%v) = %v", s, v)
				}
				l.Spend(s.Seed, s.Step, s.At)
			}
			for _, s := range tt.accepted {
				l.Accepted(s.Seed, s.Step)
			}
			l = roundTrip(t, l) // the Lease keeps it as JSON
			got, until := l.Admit(tt.seed, tt.step, tt.now)
			if got != tt.want || !until.Equal(tt.wantUntil) {
				t.Fatalf("Admit = %v, %v; want %v, %v", got, until, tt.want, tt.wantUntil)
			}
		})
	}
}

// TestCodeLedgerNeverExceedsBudget: whatever the order of seeds, steps and
// times, no CodeWindow ever holds more than CodeBudget admitted codes that
// were not accepted.
func TestCodeLedgerNeverExceedsBudget(t *testing.T) {
	var l CodeLedger
	var admitted []time.Time
	now := t0
	for i := 0; i < 2000; i++ {
		now = now.Add(time.Duration(i%7) * 20 * time.Second)
		seed := []string{"a", "b", "c"}[i%3]
		step := now.Unix() / 30
		if v, _ := l.Admit(seed, step, now); v != CodeAllowed {
			continue
		}
		l.Spend(seed, step, now)
		admitted = append(admitted, now)
		n := 0
		for _, at := range admitted {
			if at.After(now.Add(-CodeWindow)) {
				n++
			}
		}
		if n > CodeBudget {
			t.Fatalf("%d codes admitted within %v at %v", n, CodeWindow, now)
		}
	}
	if len(admitted) < 2000/(int(CodeWindow/time.Minute))/3 {
		t.Fatalf("only %d codes admitted: the budget starves", len(admitted))
	}
}

func TestCodeLedgerSpendPrunes(t *testing.T) {
	var l CodeLedger
	l.Spend("old", 10, t0)
	l.Spend("recent", 19, t0.Add(time.Minute))
	l.Spend("new", 21, t0.Add(20*time.Minute))
	if _, ok := l.Sent["old"]; ok {
		t.Errorf("a seed last sent 11 steps ago is still in Sent: %v", l.Sent)
	}
	if _, ok := l.Sent["recent"]; !ok {
		t.Errorf("a seed sent two steps ago was dropped: %v", l.Sent)
	}
	if len(l.Open) != 1 || l.Open[0].Seed != "new" {
		t.Errorf("codes out of the window are still open: %v", l.Open)
	}
}

func TestCodeLedgerRefusedIn(t *testing.T) {
	tests := []struct {
		name   string
		steps  []int64
		accept int // accept after this many refusals (-1: never)
		want   bool
	}{
		{name: "one refusal proves nothing", steps: []int64{5}, accept: -1, want: false},
		{name: "the same step thrice is one refusal", steps: []int64{5, 5, 5}, accept: -1, want: false},
		{name: "two distinct steps prove nothing", steps: []int64{5, 6, 6}, accept: -1, want: false},
		{name: "three distinct steps prove", steps: []int64{5, 6, 8}, accept: -1, want: true},
		{name: "an accepted code between starts again", steps: []int64{5, 6, 8}, accept: 2, want: false},
		{name: "more than three keep proving", steps: []int64{1, 2, 3, 4, 9}, accept: -1, want: true},
		{name: "refusals older than the window are forgotten", steps: []int64{1, 2, 100}, accept: -1, want: false},
		{name: "within the window they count", steps: []int64{71, 72, 100}, accept: -1, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l CodeLedger
			var got bool
			for i, s := range tt.steps {
				if i == tt.accept {
					l.Accepted("a", s-1)
				}
				l = roundTrip(t, l)
				got = l.RefusedIn("a", s)
			}
			if got != tt.want {
				t.Fatalf("RefusedIn after %v = %v, want %v (%v)", tt.steps, got, tt.want, l.Refused)
			}
			if n := len(l.Refused["a"]); n > ProofRefusals {
				t.Fatalf("%d refused steps kept, want at most %d", n, ProofRefusals)
			}
			if l.RefusedIn("b", 9) {
				t.Fatal("another seed's refusals proved seed b")
			}
		})
	}
}

func roundTrip(t *testing.T, l CodeLedger) CodeLedger {
	t.Helper()
	raw, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	var out CodeLedger
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// A code refused for another reason than the code (throttled) frees its
// budget but not its step.
func TestCodeLedgerUnchecked(t *testing.T) {
	var l CodeLedger
	for i, step := range []int64{10, 11, 12} {
		l.Spend("a", step, t0.Add(time.Duration(i)*time.Second))
	}
	if v, _ := l.Admit("a", 13, t0.Add(time.Minute)); v != CodeOverBudget {
		t.Fatalf("Admit = %v, want over budget", v)
	}
	l.Unchecked("a", 11)
	if v, _ := l.Admit("a", 13, t0.Add(time.Minute)); v != CodeAllowed {
		t.Fatalf("Admit after Unchecked = %v, want allowed", v)
	}
	if v, _ := l.Admit("a", 11, t0.Add(time.Minute)); v != CodeStepSpent {
		t.Fatalf("the unchecked step may be sent again: %v", v)
	}
}

// Refusals of a seed nobody sends codes for any more are dropped.
func TestCodeLedgerSpendDropsOldRefusals(t *testing.T) {
	var l CodeLedger
	l.RefusedIn("old", 10)
	l.RefusedIn("recent", 95)
	l.Spend("new", 100, t0)
	if _, ok := l.Refused["old"]; ok {
		t.Errorf("refusals 90 steps old kept: %v", l.Refused)
	}
	if _, ok := l.Refused["recent"]; !ok {
		t.Errorf("recent refusals dropped: %v", l.Refused)
	}
}

// A sign-in tries the staged seed first only while a VerifySoftwareToken
// code of it may have made it the user's token: a rotation waiting for its
// proof then spends no wrong code per sign-in.
func TestCodeLedgerSignInFirst(t *testing.T) {
	type op func(*CodeLedger)
	verify := func(step int64) op { return func(l *CodeLedger) { l.SpendVerify("staged", step, t0) } }
	for _, tt := range []struct {
		name string
		ops  []op
		want bool
	}{
		{"never verified", nil, false},
		{"a sign-in code only", []op{func(l *CodeLedger) { l.Spend("staged", 10, t0) }}, false},
		{"verify code sent, answer lost", []op{verify(10)}, true},
		{"verify code accepted", []op{verify(10), func(l *CodeLedger) { l.Accepted("staged", 10) }}, true},
		{"verify code refused before it was checked", []op{verify(10), func(l *CodeLedger) { l.Unchecked("staged", 10) }}, false},
		{"an earlier lost answer outlives a later unchecked one", []op{verify(10), verify(11), func(l *CodeLedger) { l.Unchecked("staged", 11) }}, true},
		{"a sign-in refused it", []op{verify(10), func(l *CodeLedger) { l.NotToken("staged") }}, false},
		{"a sign-in accepted the active seed", []op{verify(10), func(l *CodeLedger) { l.SignedInWith("active") }}, false},
		{"a sign-in accepted it", []op{verify(10), func(l *CodeLedger) { l.SignedInWith("staged") }}, true},
		{"verified again after a refusal", []op{verify(10), func(l *CodeLedger) { l.NotToken("staged") }, verify(12)}, true},
		{"a day later", []op{verify(10), func(l *CodeLedger) { l.Spend("other", 10+verifyingSteps+1, t0) }}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var l CodeLedger
			for _, o := range tt.ops {
				o(&l)
			}
			l = roundTrip(t, l)
			if got := l.SignInFirst("staged"); got != tt.want {
				t.Fatalf("SignInFirst = %v, want %v (%v)", got, tt.want, l.Verifying)
			}
		})
	}
}

// The marks per seed stay bounded however many attempts are made.
func TestCodeLedgerVerifyingBounded(t *testing.T) {
	var l CodeLedger
	for step := int64(0); step < 100; step++ {
		l.SpendVerify("staged", step, t0.Add(time.Duration(step)*30*time.Second))
	}
	if n := len(l.Verifying["staged"]); n != maxVerifying {
		t.Fatalf("%d marks kept, want %d", n, maxVerifying)
	}
}
