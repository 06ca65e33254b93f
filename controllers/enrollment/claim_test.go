package enrollment_test

import (
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// claimsHeldBy counts the claim Leases an enrollment holds.
func (w *world) claimsHeldBy(name string) int {
	var leases coordinationv1.LeaseList
	must(w.t, k8s.List(ctx(), &leases, client.InNamespace(claimNamespace)))
	n := 0
	for _, l := range leases.Items {
		if l.Annotations[v1alpha1.OperatorPrefix+"enrollment"] == w.ns+"/"+name {
			n++
		}
	}
	return n
}

// A fresh enrollment claims its user while GetUser runs, in one round trip
// per part; when the reconcile does not go on to enroll (here GetUser keeps
// failing), the claim it created is released, so that only an enrollment
// that associates ever holds one. Once GetUser answers, it enrolls and
// holds both parts.
func TestClaimCreatedWhileSigningInIsReleasedWhenNotEnrolling(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	faults := make([]cognitofake.Fault, 200)
	for i := range faults {
		faults[i] = cognitofake.Fault{User: w.username, Code: "InternalErrorException", Message: "GetUser is down"}
	}
	fake.InjectFault("GetUser", faults...)
	defer fake.ResetFaults(w.username)
	w.enrollment("early")
	for deadline := time.Now().Add(20 * time.Second); w.get("early").Status.FailedAttempts < 2; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("GetUser's failure was never recorded")
		}
	}
	if n := w.claimsHeldBy("early"); n != 0 {
		t.Fatalf("an enrollment that did not enroll holds %d claim Leases", n)
	}
	var none corev1.Secret
	if err := k8s.Get(ctx(), keyOf(w.ns, "early-totp"), &none); !apierrors.IsNotFound(err) {
		t.Fatalf("the enrollment's Secret exists (or the read failed: %v): it associated while GetUser failed", err)
	}
	fake.ResetFaults(w.username)
	w.expectEnrolled("early", true)
	if n := w.claimsHeldBy("early"); n != 2 {
		t.Fatalf("the enrolled enrollment holds %d claim Leases, want 2 (pool+user, client+user)", n)
	}
}
