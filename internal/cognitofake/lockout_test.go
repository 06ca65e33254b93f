package cognitofake_test

import (
	"testing"
	"time"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// Five failed attempts, passwords and MFA codes together, start a lockout of
// 2^(n−5) s, at most 15 minutes, during which even the right password is
// refused and nothing is counted; 15 quiet minutes start the count again.
func TestLockout(t *testing.T) {
	fake, api := start(t)
	clk := newClock(fake)
	addPool(fake, "us-east-1_L", cognitofake.MFAOn, cognitofake.User{Username: "lou", Password: "pw-lou-1234"})
	fake.SetVerifiedToken("us-east-1_L", "lou", oldSecret)
	wrongPassword := func() error { _, err := signIn(api, "app", "", "lou", "wrong"); return err }
	wrongCode := func() error {
		out, err := signIn(api, "app", "", "lou", "pw-lou-1234")
		if err != nil {
			return err
		}
		_, err = answerTOTP(api, "app", *out.Session, "lou", "000000")
		return err
	}
	// Three wrong passwords and two wrong codes: five failures.
	for i, fail := range []func() error{wrongPassword, wrongPassword, wrongPassword, wrongCode, wrongCode} {
		if err := fail(); err == nil {
			t.Fatalf("attempt %d succeeded", i+1)
		}
	}
	st := fake.User("us-east-1_L", "lou")
	if st.FailedAttempts != 5 || st.LockedUntil.Sub(clk.Now()) != time.Second {
		t.Fatalf("after five failures: %d counted, locked for %s; want 5 and 1s", st.FailedAttempts, st.LockedUntil.Sub(clk.Now()))
	}
	_, err := signIn(api, "app", "", "lou", "pw-lou-1234")
	wantAPIError(t, err, "NotAuthorizedException", "Password attempts exceeded")
	if fake.User("us-east-1_L", "lou").FailedAttempts != 5 {
		t.Fatal("an attempt during the lockout was counted")
	}
	// Each failure after a lockout doubles it, up to 15 minutes.
	for n := 6; n <= 15; n++ {
		clk.Advance(fake.User("us-east-1_L", "lou").LockedUntil.Sub(clk.Now()))
		wantAPIError(t, wrongPassword(), "NotAuthorizedException", "Incorrect username or password.")
		want := min(time.Duration(1<<(n-5))*time.Second, 15*time.Minute)
		if got := fake.User("us-east-1_L", "lou").LockedUntil.Sub(clk.Now()); got != want {
			t.Fatalf("after %d failures: locked for %s, want %s", n, got, want)
		}
	}
	// Fifteen minutes without an attempt: the count starts again, and a
	// sign-in clears it.
	clk.Advance(15 * time.Minute)
	_ = wrongPassword()
	if st := fake.User("us-east-1_L", "lou"); st.FailedAttempts != 1 || st.LockedUntil.After(clk.Now()) {
		t.Fatalf("after 15 quiet minutes: %d counted, locked until %s; want 1 and no lockout", st.FailedAttempts, st.LockedUntil)
	}
	out, err := signIn(api, "app", "", "lou", "pw-lou-1234")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := answerTOTP(api, "app", *out.Session, "lou", code(t, oldSecret, clk.Now())); err != nil {
		t.Fatal(err)
	}
	if got := fake.User("us-east-1_L", "lou").FailedAttempts; got != 0 {
		t.Fatalf("after a sign-in the count is %d, want 0", got)
	}
}

// With the lockout off, failures never lock.
func TestLockoutOff(t *testing.T) {
	fake, api := start(t)
	fake.SetLockout(false)
	addPool(fake, "us-east-1_L", cognitofake.MFAOff, cognitofake.User{Username: "lou", Password: "pw-lou-1234"})
	for range 8 {
		_, _ = signIn(api, "app", "", "lou", "wrong")
	}
	if _, err := signIn(api, "app", "", "lou", "pw-lou-1234"); err != nil {
		t.Fatalf("lockout off: %v", err)
	}
}
