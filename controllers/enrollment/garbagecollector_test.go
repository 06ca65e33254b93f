package enrollment_test

import (
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
)

// envtest runs no kube-controller-manager. These helpers play its garbage
// collector and namespace controller as far as an enrollment's deletion
// meets them (the node suite runs the real ones): the garbage collector
// follows ownerReferences and the propagation policy, the namespace
// controller deletes everything in a namespace until nothing is left.

// dependents are the Secrets of the namespace that name owner in an
// ownerReference: the only kind an enrollment's deletion can cascade to.
func (w *world) dependents(owner types.UID) []corev1.Secret {
	var list corev1.SecretList
	must(w.t, k8s.List(ctx(), &list, client.InNamespace(w.ns)))
	return slices.DeleteFunc(list.Items, func(s corev1.Secret) bool {
		return !slices.ContainsFunc(s.OwnerReferences, func(r metav1.OwnerReference) bool { return r.UID == owner })
	})
}

// deleteWith deletes an enrollment with a propagation policy and does what
// the garbage collector would: with Foreground it deletes the dependents
// first and lifts its foregroundDeletion finalizer once the blocking ones
// are gone; with Orphan it strips the ownerReferences from them and lifts
// orphan; with Background it deletes them once the owner is gone.
func (w *world) deleteWith(name string, policy metav1.DeletionPropagation) {
	w.t.Helper()
	ste := w.get(name)
	must(w.t, k8s.Delete(ctx(), ste, client.PropagationPolicy(policy)))
	switch policy {
	case metav1.DeletePropagationForeground:
		for _, s := range w.dependents(ste.UID) {
			_ = k8s.Delete(ctx(), &s)
		}
		w.eventually("the blocking dependents to go", func() bool {
			for _, s := range w.dependents(ste.UID) {
				if slices.ContainsFunc(s.OwnerReferences, func(r metav1.OwnerReference) bool {
					return r.UID == ste.UID && r.BlockOwnerDeletion != nil && *r.BlockOwnerDeletion
				}) {
					return false
				}
			}
			return true
		})
		w.liftFinalizer(name, metav1.FinalizerDeleteDependents)
	case metav1.DeletePropagationOrphan:
		for _, s := range w.dependents(ste.UID) {
			s.OwnerReferences = slices.DeleteFunc(s.OwnerReferences, func(r metav1.OwnerReference) bool { return r.UID == ste.UID })
			must(w.t, k8s.Update(ctx(), &s))
		}
		w.liftFinalizer(name, metav1.FinalizerOrphanDependents)
	default:
		w.waitGone(name)
		for _, s := range w.dependents(ste.UID) {
			_ = k8s.Delete(ctx(), &s)
		}
	}
}

// liftFinalizer removes a finalizer from an enrollment, as its owner would.
func (w *world) liftFinalizer(name, finalizer string) {
	w.t.Helper()
	w.eventually("lifting "+finalizer, func() bool {
		ste := &v1alpha1.SoftwareTokenEnrollment{}
		if err := k8s.Get(ctx(), keyOf(w.ns, name), ste); apierrors.IsNotFound(err) {
			return true
		}
		if !slices.Contains(ste.Finalizers, finalizer) {
			return true
		}
		ste.Finalizers = slices.DeleteFunc(ste.Finalizers, func(f string) bool { return f == finalizer })
		return k8s.Update(ctx(), ste) == nil
	})
}

// deleteNamespace deletes w's namespace and does what the namespace
// controller would: it deletes every enrollment, Secret, Role and
// RoleBinding in it (the manager's rights in namespace mode), again and
// again, until their finalizers let them all go, then finalizes the
// namespace. timeout bounds the wait.
func (w *world) deleteNamespace(timeout time.Duration) {
	w.t.Helper()
	ns := &corev1.Namespace{}
	must(w.t, k8s.Get(ctx(), types.NamespacedName{Name: w.ns}, ns))
	if ns.DeletionTimestamp.IsZero() {
		must(w.t, k8s.Delete(ctx(), ns))
	}
	deadline := time.Now().Add(timeout)
	for {
		_ = k8s.DeleteAllOf(ctx(), &v1alpha1.SoftwareTokenEnrollment{}, client.InNamespace(w.ns))
		_ = k8s.DeleteAllOf(ctx(), &corev1.Secret{}, client.InNamespace(w.ns))
		_ = k8s.DeleteAllOf(ctx(), &rbacv1.Role{}, client.InNamespace(w.ns))
		_ = k8s.DeleteAllOf(ctx(), &rbacv1.RoleBinding{}, client.InNamespace(w.ns))
		var enrollments v1alpha1.SoftwareTokenEnrollmentList
		var secrets corev1.SecretList
		var roles rbacv1.RoleList
		var bindings rbacv1.RoleBindingList
		must(w.t, k8s.List(ctx(), &enrollments, client.InNamespace(w.ns)))
		must(w.t, k8s.List(ctx(), &secrets, client.InNamespace(w.ns)))
		must(w.t, k8s.List(ctx(), &roles, client.InNamespace(w.ns)))
		must(w.t, k8s.List(ctx(), &bindings, client.InNamespace(w.ns)))
		if len(enrollments.Items)+len(secrets.Items)+len(roles.Items)+len(bindings.Items) == 0 {
			break
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("namespace %s still holds %d enrollments, %d Secrets, %d Roles and %d RoleBindings after %s", w.ns,
				len(enrollments.Items), len(secrets.Items), len(roles.Items), len(bindings.Items), timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
	must(w.t, k8s.Get(ctx(), types.NamespacedName{Name: w.ns}, ns))
	ns.Spec.Finalizers = nil
	must(w.t, k8s.SubResource("finalize").Update(ctx(), ns))
	w.eventually("the namespace to go", func() bool {
		return apierrors.IsNotFound(k8s.Get(ctx(), types.NamespacedName{Name: w.ns}, &corev1.Namespace{}))
	})
}

// eventually waits up to 30 s for cond.
func (w *world) eventually(what string, cond func() bool) {
	w.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			w.t.Fatalf("timed out waiting for %s", what)
		}
	}
}
