package enrollment_test

import (
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// Above Cognito's quota, TooManyRequests is backed off, never stalled: 200
// enrollments made at once against a fake that enforces a quota all become
// Ready. The manager paces itself at 100 requests/s with a burst of 100, so
// the quota of 50/s is exceeded on purpose.
func TestThrottlingBacksOffAndNeverStalls(t *testing.T) {
	const n, quota = 200, 50
	w := newWorld(t, cognitofake.MFAOptional)
	for i := range n {
		name := fmt.Sprintf("bot-%03d", i)
		fake.CreateUser(w.poolID, cognitofake.User{Username: w.username + name, Password: w.password})
		w.secret(name, map[string]string{"username": w.username + name, "password": w.password})
	}
	fake.SetQuota(quota)
	defer fake.SetQuota(0)
	start := time.Now()
	for i := range n {
		name := fmt.Sprintf("bot-%03d", i)
		w.enrollment(name, func(s *v1alpha1.SoftwareTokenEnrollmentSpec) {
			s.CredentialsSecretRef = &v1alpha1.LocalObjectReference{Name: name}
		})
	}
	stalled := map[string]string{}
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(250 * time.Millisecond) {
		var list v1alpha1.SoftwareTokenEnrollmentList
		must(t, k8s.List(ctx(), &list, client.InNamespace(w.ns)))
		ready := 0
		for _, ste := range list.Items {
			if c := meta.FindStatusCondition(ste.Status.Conditions, v1alpha1.ConditionStalled); c != nil && c.Status == "True" {
				stalled[ste.Name] = c.Reason
			}
			if meta.IsStatusConditionTrue(ste.Status.Conditions, v1alpha1.ConditionReady) {
				ready++
			}
		}
		if ready == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d Ready after 3 minutes", ready, n)
		}
	}
	elapsed := time.Since(start)
	if len(stalled) > 0 {
		t.Fatalf("throttling stalled enrollments: %v", stalled)
	}
	throttled := fake.Throttled()
	if throttled == 0 {
		t.Fatal("the quota was never hit: the test proves nothing")
	}
	t.Logf("%d enrollments Ready in %s under a %d/s quota; %d requests throttled and backed off",
		n, elapsed.Round(time.Millisecond), quota, throttled)
}
