package enrollment_test

import (
	"testing"
	"time"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// Promise 7 (minor). Deletion with Disable while Cognito hangs (8 s per
// reply): the finalizer's Cognito work is
// bounded by the reconcile timeout (30 s in the suite), not by the deletion
// timeout (3 s), so the fallback to Retain comes late.
func TestAdversaryDisableDeletionWithHungCognitoOutlivesDeletionTimeout(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.enrollment("hang", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) { s.DeletionPolicy = v1alpha1.DeletionPolicyDisable })
	w.waitReady("hang")
	fake.SetLatency(8 * time.Second)
	defer fake.SetLatency(0)
	start := time.Now()
	w.deleteEnrollment("hang")
	for time.Since(start) < 90*time.Second {
		err := k8s.Get(ctx(), keyOf(w.ns, "hang"), &v1alpha1.SoftwareTokenEnrollment{})
		if err != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	took := time.Since(start).Round(100 * time.Millisecond)
	t.Logf("deletion took %s with a 3 s deletion timeout (reconcile timeout 30 s)", took)
	if took > 10*time.Second {
		t.Errorf("Disable fell back to Retain only after %s, not after the 3 s deletion timeout", took)
	}
}
