package enrollment_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/totp"
)

// A new rotate value rotates exactly once, in both sign-in flows: a new
// secret is verified, replaces the old one in one write, and signs in.
func TestRotationOnDemand(t *testing.T) {
	for _, mfa := range []string{cognitofake.MFAOptional, cognitofake.MFAOn} {
		t.Run(mfa, func(t *testing.T) {
			w := newWorld(t, mfa)
			w.credentials()
			w.enrollment("spin")
			first := w.waitReady("spin")
			old := string(w.getSecret("spin-totp").Data[v1alpha1.KeySecret])

			before := fake.CallCounts()
			w.requestRotation("spin", "2026-11-25T12:00:00Z")
			ste := w.waitRotateHandled("spin", "2026-11-25T12:00:00Z")
			expectCondition(t, ste, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonEnrolled)
			expectCondition(t, ste, v1alpha1.ConditionRotationFailed, metav1.ConditionFalse, v1alpha1.ReasonRotated)
			s := w.getSecret("spin-totp")
			secret := string(s.Data[v1alpha1.KeySecret])
			if secret == old || ste.Status.SecretFingerprint == first.Status.SecretFingerprint || len(s.Data[v1alpha1.KeyPendingSecret]) != 0 {
				t.Fatal("the secret was not replaced cleanly")
			}
			if u := fake.User(w.poolID, w.username); u.TOTPSecret != secret {
				t.Fatal("Cognito does not hold the rotated secret")
			}
			if err := w.signInWithMFA(secret, 0); err != nil {
				t.Fatalf("the rotated secret does not sign in: %v", err)
			}
			if !ste.Status.EnrolledTime.After(first.Status.EnrolledTime.Time) && !ste.Status.EnrolledTime.Equal(first.Status.EnrolledTime) {
				t.Fatal("enrolledTime went back")
			}
			quietFor(t, time.Second)
			if got := callsSince(before)["AssociateSoftwareToken"]; got != 1 {
				t.Fatalf("%d associations for one rotate request", got)
			}
			if !w.hasEvent(v1alpha1.ReasonRotated) {
				t.Fatal("no Rotated event")
			}
		})
	}
}

// A rotation that fails after its association leaves the old secret in
// place and working: Ready is False until the next attempt proves which
// secret Cognito holds, then True again with RotationFailed saying why, and
// the staged secret is dropped.
func TestFailedRotationKeepsTheOldSecret(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.enrollment("keep")
	w.waitReady("keep")
	old := string(w.getSecret("keep-totp").Data[v1alpha1.KeySecret])
	fault := cognitofake.Fault{User: w.username, Code: "InvalidParameterException", Message: "rejected"}
	fake.InjectFault("VerifySoftwareToken", fault, fault, fault)

	w.requestRotation("keep", "one")
	w.waitRotateHandled("keep", "one")
	ste := w.waitReady("keep")
	expectCondition(t, ste, v1alpha1.ConditionRotationFailed, metav1.ConditionTrue, v1alpha1.ReasonInvalidParameter)
	s := w.getSecret("keep-totp")
	if string(s.Data[v1alpha1.KeySecret]) != old || len(s.Data[v1alpha1.KeyPendingSecret]) != 0 {
		t.Fatal("the old secret was disturbed")
	}
	if err := w.signInWithMFA(old, 0); err != nil {
		t.Fatalf("the old secret stopped working: %v", err)
	}
	if !w.hasEvent("InvalidParameter") {
		t.Fatal("no warning Event for the failed rotation")
	}
}

// spec.rotation.interval schedules the next rotation from the enrollment
// time the Secret records; once it passes, the secret rotates. (The API's 1m
// minimum is side-stepped by backdating the Secret's enrolled-at record.)
func TestRotationInterval(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.enrollment("timer", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) {
		s.Rotation = &v1alpha1.Rotation{Interval: &metav1.Duration{Duration: time.Hour}}
	})
	ste := w.waitReady("timer")
	if next := ste.Status.NextRotationTime; next == nil || !next.Equal(&metav1.Time{Time: ste.Status.EnrolledTime.Add(time.Hour)}) {
		t.Fatalf("nextRotationTime %v, enrolledTime %v", ste.Status.NextRotationTime, ste.Status.EnrolledTime)
	}
	old := ste.Status.SecretFingerprint
	s := w.getSecret("timer-totp")
	rec := recordOf(s)
	backdated := time.Now().Add(-2 * time.Hour).UTC().Truncate(time.Second)
	rec.Seed.EnrolledAt = &backdated
	setRecord(s, rec)
	must(t, k8s.Update(ctx(), s))
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		ste = w.get("timer")
		if ste.Status.SecretFingerprint != old && ste.Status.NextRotationTime.After(time.Now().Add(59*time.Minute)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no rotation: %+v", ste.Status)
		}
	}
	if err := w.signInWithMFA(string(w.getSecret("timer-totp").Data[v1alpha1.KeySecret]), 0); err != nil {
		t.Fatal(err)
	}
}

func TestRotationIntervalMinimum(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	ste := &v1alpha1.SoftwareTokenEnrollment{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "fast"},
		Spec: v1alpha1.SoftwareTokenEnrollmentSpec{UserPoolID: w.poolID, ClientID: w.clientID,
			CredentialsSecretRef: &v1alpha1.LocalObjectReference{Name: "creds"},
			Rotation:             &v1alpha1.Rotation{Interval: &metav1.Duration{Duration: 10 * time.Second}}}}
	if err := k8s.Create(ctx(), ste); err == nil {
		t.Fatal("a 10s rotation interval was accepted")
	}
}

// A rotation whose VerifySoftwareToken reply is lost, followed by a
// terminal error, keeps the now-active seed; the next sign-in promotes it.
func TestLostRotationReplyThenTerminalErrorKeepsActiveSeed(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.enrollment("lost")
	w.waitReady("lost")
	fake.InjectFault("VerifySoftwareToken", cognitofake.Fault{User: w.username, Code: "InternalErrorException", Message: "lost", AfterServing: true})
	// Once the lost verification is served, the next sign-in fails
	// terminally (as after an expired token or a changed password).
	user := w.username
	var once sync.Once
	fake.SetHook(func(op, u string, served bool) bool {
		if op == "VerifySoftwareToken" && u == user && served {
			once.Do(func() {
				go fake.InjectFault("InitiateAuth", cognitofake.Fault{User: user, Code: "NotAuthorizedException", Message: "Incorrect username or password."})
			})
		}
		return false
	})
	defer fake.SetHook(nil)
	w.requestRotation("lost", "r1")
	ste := w.waitStalled("lost", v1alpha1.ReasonInvalidCredentials)
	w.expectSeedStored("lost-totp")
	if isReady(ste) {
		t.Fatal("Ready while the stored secret is not the user's token")
	}
	// Fixing the input lets the next sign-in prove and promote the active seed, with no new association.
	before := fake.CallCounts()
	creds := w.getSecret("creds")
	creds.Data["password"] = []byte(w.password + "-2")
	fake.UpdateUser(w.poolID, w.username, func(u *cognitofake.User) { u.Password = w.password + "-2" })
	must(t, k8s.Update(ctx(), creds))
	w.waitReady("lost")
	s := w.getSecret("lost-totp")
	if string(s.Data[v1alpha1.KeySecret]) != fake.User(w.poolID, w.username).TOTPSecret || len(s.Data[v1alpha1.KeyPendingSecret]) != 0 {
		t.Fatal("the active seed was not promoted")
	}
	if got := callsSince(before)["AssociateSoftwareToken"]; got != 0 {
		t.Fatalf("%d associations: the verified seed was thrown away", got)
	}
}

// README "Rotation": each new rotate value triggers exactly one rotation,
// also when a GitOps commit changes mfaPreference and the rotate annotation
// together (the spec edit alone would only repair the Secret and keep the
// seed).
func TestRotateWithSpecEditStillRotates(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.enrollment("both")
	w.waitReady("both")
	old := string(w.getSecret("both-totp").Data[v1alpha1.KeySecret])
	w.update("both", func(ste *v1alpha1.SoftwareTokenEnrollment) {
		ste.Spec.MFAPreference = v1alpha1.MFAPreferenceEnabled
		ste.Annotations = map[string]string{v1alpha1.AnnotationRotate: "r1"}
	})
	w.waitRotateHandled("both", "r1")
	time.Sleep(2 * time.Second)
	ste := w.get("both")
	if string(w.getSecret("both-totp").Data[v1alpha1.KeySecret]) == old {
		t.Errorf("status.lastRotateRequest=%q but the secret was never rotated (conditions %+v)", ste.Status.LastRotateRequest, ste.Status.Conditions)
	}
}

// A rotation request given while an earlier rotation's verified seed waits
// in pending-secret (the one-time-code hold) triggers a rotation of its
// own: the held seed was associated before the request, and it is already
// readable in the Secret.
//
// The first rotation is requested late in a TOTP step: it waits for the
// next step (StepEndingSoon), verifies its seed with the previous step's
// code, and so holds it until 3 s into the step. A reconcile that gets
// there later promotes the seed at once, and one that gets there just in
// time leaves too short a hold to make a request during it; either way the
// first rotation is requested again, a bounded number of times.
func TestRotateRequestedDuringHoldRotatesAgain(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.enrollment("hold")
	w.waitReady("hold")
	stopShape := watchShapes(w.ns)
	stopInvariants := watchInvariants(w.target("hold"))
	var before map[string]int
	held := ""
	for i, first := range []string{"r1", "r1-again", "r1-third"} {
		before = fake.CallCounts()
		waitLateInStep(1200*time.Millisecond, 2700*time.Millisecond)
		w.update("hold", func(ste *v1alpha1.SoftwareTokenEnrollment) {
			ste.Annotations = map[string]string{v1alpha1.AnnotationRotate: first}
		})
		seed, until := w.waitHeld("hold-totp", 10*time.Second, first)
		if seed != "" && time.Until(until) >= time.Second {
			held = seed
			break
		}
		if seed == "" {
			t.Logf("attempt %d: the rotation's seed was promoted without a hold", i+1)
		} else {
			t.Logf("attempt %d: the rotation's seed was held with only %s left", i+1, time.Until(until).Round(time.Millisecond))
		}
		w.waitRotateHandled("hold", first)
	}
	if held == "" {
		t.Fatal("in 3 attempts no rotation's verified seed was held with 1 s to spare: the reconciles here are too slow to make a request during the hold")
	}
	w.update("hold", func(ste *v1alpha1.SoftwareTokenEnrollment) {
		ste.Annotations[v1alpha1.AnnotationRotate] = "r2"
	})
	w.waitRotateHandled("hold", "r2")
	time.Sleep(4 * time.Second)
	ste := w.get("hold")
	s := w.getSecret("hold-totp")
	t.Logf("calls %v; rotate-handled %s; conditions %+v", callsSince(before), fmt.Sprint(recordOf(s).Rotations), ste.Status.Conditions)
	if string(s.Data[v1alpha1.KeySecret]) == held {
		t.Errorf("rotate request r2, given while seed %s was already in pending-secret, was recorded handled (status %q, record %q) with that very seed: no rotation followed it (associations %d)",
			totp.Fingerprint(held), ste.Status.LastRotateRequest, fmt.Sprint(recordOf(s).Rotations), callsSince(before)["AssociateSoftwareToken"])
	}
	for _, v := range stopInvariants() {
		t.Errorf("invariant: %s", v)
	}
	for _, v := range stopShape() {
		t.Errorf("shape: %s", v)
	}
}

// A rotate value rotates once, ever: a GitOps tool putting back a value it
// committed earlier (a self-heal after kubectl mfa rotate), or an older
// time, rotates nothing.
func TestPuttingBackAHandledRotateValueDoesNotRotate(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.enrollment("bot")
	w.waitReady("bot")
	for _, v := range []string{"committed-1", "2026-11-28T12:00:00Z"} {
		w.requestRotation("bot", v)
		w.waitRotateHandled("bot", v)
		w.waitReady("bot")
	}
	seed := string(w.getSecret("bot-totp").Data[v1alpha1.KeySecret])
	before := fake.CallCounts()
	for _, v := range []string{"committed-1", "2026-11-28T11:59:59Z"} {
		w.requestRotation("bot", v)
		time.Sleep(time.Second)
	}
	if n := callsSince(before)["AssociateSoftwareToken"]; n != 0 {
		t.Fatalf("values already handled caused %d associations", n)
	}
	if got := string(w.getSecret("bot-totp").Data[v1alpha1.KeySecret]); got != seed {
		t.Fatal("the seed changed")
	}
}
