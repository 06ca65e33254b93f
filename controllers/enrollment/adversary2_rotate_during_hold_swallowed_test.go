package enrollment_test

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/totp"
)

// A rotation request given while an earlier rotation's verified seed waits
// in pending-secret (the hold) must still trigger a rotation of its own:
// the held seed was associated before the request, and it is already
// readable in the Secret.
func TestAdversary2RotateRequestedDuringHoldIsSwallowed(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.enrollment("hold")
	w.waitReady("hold")
	stopShape := a2ShapeWatch(w.ns)
	m := zzWatch(w.zzTarget("hold"))
	before := fake.CallCounts()
	waitLateInStep(1200*time.Millisecond, 2700*time.Millisecond)
	w.update("hold", func(ste *v1alpha1.SoftwareTokenEnrollment) {
		ste.Annotations = map[string]string{v1alpha1.AnnotationRotate: "r1"}
	})
	held := ""
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && held == ""; time.Sleep(10 * time.Millisecond) {
		s := &corev1.Secret{}
		if err := k8s.Get(ctx(), keyOf(w.ns, "hold-totp"), s); err == nil && recordOf(s).Pending.Verified != nil {
			held = string(s.Data[v1alpha1.KeyPendingSecret])
		}
	}
	if held == "" {
		t.Skip("the rotation's seed was not held")
	}
	w.update("hold", func(ste *v1alpha1.SoftwareTokenEnrollment) {
		ste.Annotations[v1alpha1.AnnotationRotate] = "r2"
	})
	w.waitRotateHandled("hold", "r2")
	time.Sleep(4 * time.Second)
	ste := w.get("hold")
	s := w.getSecret("hold-totp")
	t.Logf("calls %v; rotate-handled %s; conditions %+v", callsSince(before), recordOf(s).RotateHandled, ste.Status.Conditions)
	if string(s.Data[v1alpha1.KeySecret]) == held {
		t.Errorf("rotate request r2, given while seed %s was already in pending-secret, was recorded handled (status %q, record %q) with that very seed: no rotation followed it (associations %d)",
			totp.Fingerprint(held), ste.Status.LastRotateRequest, recordOf(s).RotateHandled, callsSince(before)["AssociateSoftwareToken"])
	}
	for _, v := range m.Stop() {
		t.Errorf("invariant: %s", v)
	}
	for _, v := range stopShape() {
		t.Errorf("shape: %s", v)
	}
}
