package enrollment_test

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

func (w *world) requestRotation(name, value string) {
	w.update(name, func(ste *v1alpha1.SoftwareTokenEnrollment) {
		if ste.Annotations == nil {
			ste.Annotations = map[string]string{}
		}
		ste.Annotations[v1alpha1.AnnotationRotate] = value
	})
}

func (w *world) waitRotateHandled(name, value string) *v1alpha1.SoftwareTokenEnrollment {
	w.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if ste := w.get(name); ste.Status.LastRotateRequest == value {
			return ste
		}
	}
	w.t.Fatalf("rotate request %q never handled", value)
	return nil
}

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
