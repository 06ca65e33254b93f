package enrollment_test

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// Two enrollments for one user in two namespaces, through two
// ClusterUserPools naming DIFFERENT app clients of the same pool: the
// pool+user claim must collide. Then the first is deleted with Disable
// (the user has no MFA any more): does the second ever proceed?
func TestAdversary2DuplicateEnrollmentNeverResumesAfterHolderDeleted(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	ns2 := strings.TrimRight(w.ns[:min(len(w.ns), 60)], "-") + "-b2"
	must(t, k8s.Create(ctx(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns2}}))
	fake.CreateClient(cognitofake.AppClient{ID: w.clientID + "b", PoolID: w.poolID})
	w2 := &world{t: t, ns: ns2, poolID: w.poolID, clientID: w.clientID + "b", username: w.username, password: w.password}
	w2.credentials()
	t.Cleanup(func() { _ = k8s.DeleteAllOf(ctx(), &v1alpha1.SoftwareTokenEnrollment{}, client.InNamespace(ns2)) })
	w.userPool()
	w2.userPool()
	stopShape := a2ShapeWatch(w.ns, ns2)
	m := zzWatch(w.zzTarget("one"))
	w.enrollment("one", refTo(w.ns), func(s *v1alpha1.SoftwareTokenEnrollmentSpec) { s.DeletionPolicy = v1alpha1.DeletionPolicyDisable })
	w.waitReady("one")
	before := fake.CallCounts()
	w2.enrollment("two", refTo(ns2))
	w2.waitStalled("two", v1alpha1.ReasonDuplicateEnrollment)
	if n := callsSince(before)["AssociateSoftwareToken"]; n != 0 {
		t.Errorf("the second enrollment associated %d times", n)
	}
	for _, v := range m.Stop() {
		t.Errorf("invariant: %s", v)
	}
	must(t, k8s.Delete(ctx(), w.get("one")))
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err := k8s.Get(ctx(), keyOf(w.ns, "one"), &v1alpha1.SoftwareTokenEnrollment{}); err != nil {
			break
		}
	}
	u := fake.User(w.poolID, w.username)
	t.Logf("after deleting one (Disable): user TOTP enabled %v secret set %v", u.TOTPEnabled, u.TOTPSecret != "")
	proceeded := false
	for deadline := time.Now().Add(8 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if isReady(w2.get("two")) {
			proceeded = true
			break
		}
	}
	two := w2.get("two")
	t.Logf("two: %+v", two.Status.Conditions)
	if !proceeded {
		t.Errorf("after the claim holder was deleted (and MFA turned off), the DuplicateEnrollment one never proceeded within 8 s: %+v",
			findCond(two, v1alpha1.ConditionStalled))
	}
	for _, v := range stopShape() {
		t.Errorf("shape: %s", v)
	}
}
