package enrollment_test

import (
	"testing"
	"time"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// README "Rotation": each new rotate value triggers exactly one rotation.
// A GitOps commit that changes mfaPreference and the rotate annotation
// together: the Repair plan (checked before the rotation) keeps the old
// seed, and markEnrolled then records the rotate value as handled in
// status.lastRotateRequest, so the rotation never happens.
func TestAdversaryRotateWithSpecEditIsSwallowed(t *testing.T) {
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
