package enrollment_test

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// Promise 6. A secretTemplate annotation whose value makes the Secret's
// annotations exceed the API server's 256 KiB limit passes every check of
// invalidTemplate (keys and label values only) and the CRD (no size limit),
// so the enrollment signs in, claims the user and associates a token
// before the Secret write is refused and it stalls with InvalidSpec.
func TestAdversaryOversizedTemplateAnnotationCallsCognito(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	before := fake.CallCounts()
	w.enrollment("big", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) {
		s.SecretTemplate = &v1alpha1.SecretTemplate{Annotations: map[string]string{"example.com/blob": strings.Repeat("x", 270*1024)}}
	})
	ste := w.waitCondition("big", v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonInvalidSpec)
	time.Sleep(500 * time.Millisecond)
	got := callsSince(before)
	t.Logf("stalled: %.200s; Cognito calls %v", findCond(ste, v1alpha1.ConditionStalled).Message, got)
	if len(got) != 0 {
		t.Errorf("an invalid secretTemplate made Cognito calls before stalling: %v", got)
	}
}
