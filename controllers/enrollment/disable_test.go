package enrollment_test

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

func disable(s *v1alpha1.SoftwareTokenEnrollmentSpec) {
	s.DeletionPolicy = v1alpha1.DeletionPolicyDisable
}

// An MFA_SETUP challenge proves "no factor" only for the user and app
// client the record names: credentials switched to another user who has
// none, or a client of another pool that requires MFA, never get the first
// user's seed deleted.
func TestDisableNeverDeletesASeedOnMFASetupOfSomeoneElse(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(w *world)
	}{
		{"another user", func(w *world) {
			other := w.username + "-b"
			fake.CreateUser(w.poolID, cognitofake.User{Username: other, Password: w.password})
			creds := w.getSecret("creds")
			creds.Data["username"] = []byte(other)
			must(w.t, k8s.Update(ctx(), creds))
			w.waitStalled("bot", v1alpha1.ReasonIdentityChanged)
		}},
		{"a client of another pool", func(w *world) {
			otherPool := w.poolID + "Other"
			fake.CreatePool(otherPool, cognitofake.MFAOn, true)
			fake.CreateClient(cognitofake.AppClient{ID: w.clientID + "other", PoolID: otherPool})
			fake.CreateUser(otherPool, cognitofake.User{Username: w.username, Password: w.password})
			w.update("bot", func(ste *v1alpha1.SoftwareTokenEnrollment) { ste.Spec.ClientID = w.clientID + "other" })
			w.waitStalled("bot", v1alpha1.ReasonIdentityChanged)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, cognitofake.MFAOn)
			w.credentials()
			w.enrollment("bot", disable)
			w.waitReady("bot")
			seed := string(w.getSecret("bot-totp").Data[v1alpha1.KeySecret])
			tc.change(w)
			w.deleteEnrollment("bot")
			w.waitGone("bot")
			if err := w.signInWithMFA(seed, 0); err != nil {
				t.Fatalf("the first user no longer signs in with its seed: %v", err)
			}
			w.expectSafe("Disable after " + tc.name)
			if w.hasEvent("Disabled") {
				t.Error("an Event says Disabled although the first user keeps MFA on")
			}
		})
	}
}

// Every input Disable needs is protected while it is needed: deleting the
// access token's Secret, or an inline client secret's, before the
// enrollment (as a namespace deletion may) leaves Disable what it needs.
func TestDisableProtectsEveryInputItNeeds(t *testing.T) {
	t.Run("access token", func(t *testing.T) {
		w := newWorld(t, cognitofake.MFAOptional)
		w.secret("token", map[string]string{"token": fake.IssueAccessToken(w.clientID, w.username)})
		w.enrollment("bot", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) { accessTokenSpec(w, s); disable(s) })
		w.waitReady("bot")
		w.eventually("the token Secret to be protected", func() bool {
			return contains(w.getSecret("token").Finalizers, v1alpha1.FinalizerProtect)
		})
		must(t, k8s.Delete(ctx(), w.getSecret("token")))
		w.deleteEnrollment("bot")
		w.waitGone("bot")
		if u := fake.User(w.poolID, w.username); u.TOTPEnabled {
			t.Fatal("Disable did not turn TOTP off")
		}
		w.eventually("the token Secret to go once Disable is done", func() bool {
			_, err := w.trySecret("token")
			return apierrors.IsNotFound(err)
		})
	})
	t.Run("client secret", func(t *testing.T) {
		w := newWorld(t, cognitofake.MFAOptional)
		w.clientID, w.clientSecret = w.clientID+"s", "client-secret-value"
		fake.CreateClient(cognitofake.AppClient{ID: w.clientID, PoolID: w.poolID, Secret: w.clientSecret})
		w.credentials()
		w.secret("client", map[string]string{"secret": "client-secret-value"})
		w.enrollment("bot", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) {
			s.ClientSecretRef = &v1alpha1.SecretKeySelector{Name: "client", Key: "secret"}
			disable(s)
		})
		w.waitReady("bot")
		must(t, k8s.Delete(ctx(), w.getSecret("client")))
		w.deleteEnrollment("bot")
		w.waitGone("bot")
		if w.challenged() {
			t.Fatal("Disable did not turn MFA off")
		}
		w.eventually("the client secret's Secret to go once Disable is done", func() bool {
			_, err := w.trySecret("client")
			return apierrors.IsNotFound(err)
		})
	})
}

// A Disable that fails does not try again for every wake-up: 25 edits of a
// deleting enrollment make no sign-in beyond the failed attempt's.
func TestFailingDisableBacksOffWhateverWakesIt(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(w *world)
	}{
		// The pool requires MFA: Cognito answers, and still challenges.
		{"rejected", func(*world) {}},
		// The password changed at Cognito: a terminal sign-in failure.
		{"wrong password", func(w *world) {
			fake.UpdateUser(w.poolID, w.username, func(u *cognitofake.User) { u.Password = "changed-elsewhere" })
			w.password = "changed-elsewhere" // the credentials Secret keeps the old one
		}},
		// Cognito fails: a retryable failure, backed off.
		{"Cognito failing", func(w *world) {
			w.cognitoDown()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, cognitofake.MFAOn)
			w.credentials()
			w.enrollment("bot", disable)
			w.waitReady("bot")
			tc.setup(w)
			signInsBefore := fake.CallCounts()
			w.deleteEnrollment("bot")
			w.eventually("the first Disable attempt to fail", func() bool {
				ste := &v1alpha1.SoftwareTokenEnrollment{}
				return k8s.Get(ctx(), keyOf(w.ns, "bot"), ste) == nil && ste.Status.ObservedGeneration == ste.Generation &&
					!isReady(ste) && (findCond(ste, v1alpha1.ConditionStalled) != nil || ste.Status.FailedAttempts > 0)
			})
			first := w.get("bot")
			perAttempt := (callsSince(signInsBefore)["InitiateAuth"] + int(first.Status.FailedAttempts) - 1) / int(max(first.Status.FailedAttempts, 1))
			before, start := fake.CallCounts(), time.Now()
			edits := 0
			for i := range 25 {
				patch := fmt.Sprintf(`{"metadata":{"annotations":{"edited":"%d"}}}`, i)
				if err := k8s.Patch(ctx(), w.get("bot"), client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
					break // the deletion timeout ran out meanwhile
				}
				edits++
			}
			time.Sleep(200 * time.Millisecond)
			// The backoff may come due during the edits (the suite's is short):
			// the attempts its schedule allows in the window are not the edits'.
			allowed := max(perAttempt, 1) * attemptsWithin(first.Status.FailedAttempts, time.Since(start))
			if n := callsSince(before)["InitiateAuth"]; n > allowed || edits < 10 {
				t.Fatalf("%d edits of a deleting enrollment whose Disable failed made %d sign-ins (the backoff allows %d)", edits, n, allowed)
			}
			w.waitGone("bot")
			fake.ResetFaults(w.username)
			w.expectSafe(tc.name)
		})
	}
}

// attemptsWithin is how many attempts the suite's backoff lets start within
// window after failure number failed was recorded: the next may be due at
// once, each later one only after the shortest jittered delay of its step.
func attemptsWithin(failed int32, window time.Duration) int {
	n, spent := 1, time.Duration(0)
	for step := failed + 1; ; step++ {
		d := min(retryBase<<min(step-1, 20), retryMax) * 8 / 10
		if spent+d > window {
			return n
		}
		spent += d
		n++
	}
}

// The credentials a Disable enrollment no longer reads are no longer held:
// switched away from, they can be deleted at once.
func TestSwitchedCredentialsAreReleased(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.secret("creds2", map[string]string{"username": w.username, "password": w.password})
	w.enrollment("bot", disable)
	w.waitReady("bot")
	w.eventually("the credentials to be protected", func() bool {
		return contains(w.getSecret("creds").Finalizers, v1alpha1.FinalizerProtect)
	})
	ste := w.update("bot", func(ste *v1alpha1.SoftwareTokenEnrollment) {
		ste.Spec.CredentialsSecretRef = &v1alpha1.LocalObjectReference{Name: "creds2"}
	})
	waitGeneration(w, "bot", ste.Generation)
	w.eventually("the new credentials to be protected and the old released", func() bool {
		return contains(w.getSecret("creds2").Finalizers, v1alpha1.FinalizerProtect) &&
			!contains(w.getSecret("creds").Finalizers, v1alpha1.FinalizerProtect)
	})
	must(t, k8s.Delete(ctx(), w.getSecret("creds")))
	w.eventually("the old credentials to go", func() bool {
		_, err := w.trySecret("creds")
		return apierrors.IsNotFound(err)
	})
	w.deleteEnrollment("bot")
	w.waitGone("bot")
	if w.challenged() {
		t.Fatal("Disable did not turn MFA off with the new credentials")
	}
	if contains(w.getSecret("creds2").Finalizers, v1alpha1.FinalizerProtect) {
		t.Fatal("the new credentials are still protected after the deletion")
	}
}

// The deletion timeout runs on the API server's clock: a manager whose
// clock is ahead by more than the timeout still carries out Disable.
func TestDeletionTimeoutRunsOnTheAPIServersClock(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.enrollment("bot", disable)
	w.waitReady("bot")
	managerSkew.Store(int64(5 * time.Second)) // the timeout is 3 s; TOTP allows a step either way
	defer managerSkew.Store(0)
	w.deleteEnrollment("bot")
	w.waitGone("bot")
	if w.hasEvent("DisableAbandoned") || w.challenged() {
		t.Fatal("Disable was abandoned at once: the manager's clock, not the API server's, measured the timeout")
	}
}

// Disable turns TOTP off, but Cognito keeps the registration: the seed is
// kept, dormant, in the store, and answers again if TOTP is turned on.
func TestDisableKeepsTheDormantSeedCognitoKeeps(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.enrollment("bot", disable)
	w.waitReady("bot")
	seed := string(w.getSecret("bot-totp").Data[v1alpha1.KeySecret])
	w.deleteEnrollment("bot")
	w.waitGone("bot")
	if w.challenged() {
		t.Fatal("Disable did not turn TOTP off")
	}
	if _, err := w.trySecret("bot-totp"); !apierrors.IsNotFound(err) {
		t.Fatalf("the enrollment's Secret was not deleted: %v", err)
	}
	s := w.stored("bot")
	if s == nil || s.Labels[v1alpha1.LabelSeedState] != "Dormant" || string(s.Data[v1alpha1.KeySecret]) != seed {
		t.Fatalf("the seed store does not keep the dormant seed: %v", s)
	}
	w.turnTOTPOnAgain()
	if err := w.signInWithMFA(seed, 0); err != nil {
		t.Fatalf("the old factor came back, and the dormant seed does not answer it: %v", err)
	}
}

// An input Secret with a disable-protection no enrollment claims (left by
// an earlier release) is let go.
func TestLeftoverProtectionIsLetGo(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	creds := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "creds", Finalizers: []string{v1alpha1.FinalizerProtect}},
		StringData: map[string]string{"username": w.username, "password": w.password}}
	must(t, k8s.Create(ctx(), creds))
	w.enrollment("bot")
	w.waitReady("bot")
	w.eventually("the leftover protection to go", func() bool {
		return !contains(w.getSecret("creds").Finalizers, v1alpha1.FinalizerProtect)
	})
}

// An access token signs in to nothing, and GetUser is no witness (where MFA
// is required it lists no factor while sign-in still asks for one): Disable
// in access-token mode turns TOTP off and keeps the seed, retained.
func TestAccessTokenDisableKeepsTheSeedItCannotConfirm(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOn)
	w.secret("token", map[string]string{"token": fake.IssueAccessToken(w.clientID, w.username)})
	w.enrollment("bot", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) { accessTokenSpec(w, s); disable(s) })
	w.waitReady("bot")
	seed := string(w.getSecret("bot-totp").Data[v1alpha1.KeySecret])
	w.deleteEnrollment("bot")
	w.waitGone("bot")
	if !w.challenged() {
		t.Fatal("the pool requires MFA: the user should still be challenged")
	}
	s := w.stored("bot")
	if s == nil || s.Labels[v1alpha1.LabelSeedState] != "Retained" || string(s.Data[v1alpha1.KeySecret]) != seed {
		t.Fatalf("the seed store does not keep the seed, retained: %v", s)
	}
	w.expectSafe("access-token Disable where MFA is required")
	if !w.hasEvent(v1alpha1.ReasonDisableUnconfirmed) {
		t.Error("no DisableUnconfirmed Event")
	}
}
