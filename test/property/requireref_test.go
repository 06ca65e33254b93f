package property

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// With --require-user-pool-ref, an inline enrollment stalls before anything,
// credentials included, is sent to Cognito. This package drives the
// reconciler by hand against the real API server with no manager running,
// which a manager flag other than the suite's needs.
func TestRequireUserPoolRefStallsInlineWithoutCognito(t *testing.T) {
	ctx := context.Background()
	ns := "require-pool-ref"
	must(t, k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	fake.CreatePool("us-east-1_RequireRef", cognitofake.MFAOptional, true)
	fake.CreateClient(cognitofake.AppClient{ID: "requirerefclient", PoolID: "us-east-1_RequireRef"})
	fake.CreateUser("us-east-1_RequireRef", cognitofake.User{Username: "bot", Password: "Pw-require-ref-1"})
	must(t, k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "creds"},
		StringData: map[string]string{"username": "bot", "password": "Pw-require-ref-1"}}))
	must(t, k8s.Create(ctx, &v1alpha1.SoftwareTokenEnrollment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "inline"},
		Spec: v1alpha1.SoftwareTokenEnrollmentSpec{UserPoolID: "us-east-1_RequireRef", ClientID: "requirerefclient",
			CredentialsSecretRef: &v1alpha1.LocalObjectReference{Name: "creds"}}}))
	strict := *r
	strict.RequireUserPoolRef = true
	strict.Client = k8s // no injected faults here
	before := fake.TotalCalls()
	key := types.NamespacedName{Namespace: ns, Name: "inline"}
	for range 2 {
		if _, err := strict.Reconcile(ctx, reconcile.Request{NamespacedName: key}); err != nil {
			t.Fatal(err)
		}
	}
	var got v1alpha1.SoftwareTokenEnrollment
	must(t, k8s.Get(ctx, key, &got))
	stalled := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionStalled)
	ready := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionReady)
	if stalled == nil || stalled.Reason != v1alpha1.ReasonUserPoolRefRequired || ready == nil || ready.Status != metav1.ConditionFalse {
		t.Fatalf("conditions: %+v", got.Status.Conditions)
	}
	if n := fake.TotalCalls() - before; n != 0 {
		t.Fatalf("%d Cognito calls for an inline pool under --require-user-pool-ref", n)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
