package enrollment_test

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// binding makes a RoleBinding in w's namespace as the chart makes the
// manager's in namespace mode, with the rights finalizer.
func (w *world) binding(name string) *rbacv1.RoleBinding {
	w.t.Helper()
	b := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.ns, Finalizers: []string{v1alpha1.FinalizerRights}},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "watched"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "manager", Namespace: claimNamespace}}}
	must(w.t, k8s.Create(ctx(), b))
	return b
}

// deleting says whether the RoleBinding is still there, being deleted.
func deleting(b *rbacv1.RoleBinding) bool {
	var got rbacv1.RoleBinding
	return k8s.Get(ctx(), client.ObjectKeyFromObject(b), &got) == nil && got.DeletionTimestamp != nil
}

// A namespace deletion deletes the RoleBinding that gives the manager its
// rights there (namespace mode) with everything else: it stays until the
// seed is stored and the enrollment finalized, then goes. With the real
// RBAC and namespace controller: test/node TestHardened.
func TestNamespaceDeletionKeepsTheManagersRightsUntilTheSeedsAreStored(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOn)
	w.credentials()
	w.enrollment("bot")
	w.waitReady("bot")
	b := w.binding(rightsName)
	must(t, k8s.Delete(ctx(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: w.ns}}))
	must(t, k8s.Delete(ctx(), b))
	// The enrollment and its seed Secret are still there: the rights stay.
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if !deleting(b) {
			t.Fatal("the manager's rights went while the namespace still held an enrollment and its seed")
		}
	}
	w.deleteNamespace(30 * time.Second)
	if s := w.stored("bot"); s == nil {
		t.Fatal("the seed is not in the store")
	}
}

// An uninstall (or a namespace dropped from watchNamespaces) deletes only
// the RoleBinding: its finalizer goes at once, the enrollment stays Ready.
// A RoleBinding of another name keeps the finalizer: not the manager's.
func TestRightsGoAtOnceWhenTheNamespaceStays(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOn)
	w.credentials()
	w.enrollment("bot")
	w.waitReady("bot")
	mine, other := w.binding(rightsName), w.binding("someone-elses")
	must(t, k8s.Delete(ctx(), mine))
	must(t, k8s.Delete(ctx(), other))
	w.eventually("the manager's RoleBinding to go", func() bool {
		return apierrors.IsNotFound(k8s.Get(ctx(), client.ObjectKeyFromObject(mine), &rbacv1.RoleBinding{}))
	})
	if !deleting(other) {
		t.Fatal("the rights finalizer was lifted from a RoleBinding that is not the manager's")
	}
	w.liftRights(other)
	if !isReady(w.get("bot")) {
		t.Fatal("the enrollment is no longer Ready")
	}
}

// liftRights removes the rights finalizer by hand, as the chart's README
// tells an administrator to.
func (w *world) liftRights(b *rbacv1.RoleBinding) {
	w.t.Helper()
	must(w.t, k8s.Get(ctx(), client.ObjectKeyFromObject(b), b))
	b.Finalizers = nil
	must(w.t, k8s.Update(ctx(), b))
}
