package property

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ktypes "k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/kube"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/lifecycle"
)

// Deletion as a cluster operator, a GitOps tool and Kubernetes do it.
// envtest runs no kube-controller-manager, so the harness plays its garbage
// collector and its namespace controller, one pass per step, interleaved at
// random with the reconciles; and the seed guardian (controllers/seedstore)
// runs as a step of its own, as the manager would run it beside the
// enrollment controller.

var propagations = []metav1.DeletionPropagation{metav1.DeletePropagationBackground,
	metav1.DeletePropagationForeground, metav1.DeletePropagationOrphan}

// stepDelete deletes something: an enrollment with a propagation policy
// (Argo CD prunes with Foreground; kubectl --cascade=orphan), the
// enrollment's seed Secret by hand, or the enrollment's whole namespace.
func (w *world) stepDelete(i int) {
	e := w.pick()
	switch n := w.rng.IntN(8); {
	case n < 5:
		policy := propagations[w.rng.IntN(len(propagations))]
		err := k8s.Delete(ctx(), &v1alpha1.SoftwareTokenEnrollment{ObjectMeta: metav1.ObjectMeta{Namespace: e.ns, Name: e.name}},
			client.PropagationPolicy(policy))
		w.must(client.IgnoreNotFound(err))
		e.touched = true // a deletion is an input: it must be acted on
		w.step("delete %s (propagation %s)", e, policy)
	case n < 7:
		name := e.name
		if ste := w.get(e); ste != nil {
			name = v1alpha1.SecretNameOf(ste)
		}
		err := k8s.Delete(ctx(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: e.ns, Name: name}})
		w.must(client.IgnoreNotFound(err))
		e.touched = true
		w.secretsChanged(e.ns)
		w.step("delete Secret %s/%s by hand", e.ns, name)
	default:
		w.deleteNamespace(e.ns)
		w.step("delete namespace %s", e.ns)
	}
}

// deleteNamespace begins a namespace's deletion; the namespace controller
// (collect) empties it and then lets it go.
func (w *world) deleteNamespace(ns string) {
	if w.nsDeleting[ns] {
		return
	}
	w.must(client.IgnoreNotFound(k8s.Delete(ctx(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})))
	w.nsDeleting[ns] = true
	w.touchNamespace(ns)
}

// stepCollect runs one pass of the garbage collector and the namespace
// controller.
func (w *world) stepCollect(int) {
	w.step("collect: %s", w.collect())
}

// stepGuard runs the seed guardian on every Secret of the sequence whose
// deletion has begun.
func (w *world) stepGuard(int) {
	w.step("guard: %s", w.guardSeeds())
}

// collect is one pass of the garbage collector (ownerReferences and
// propagation policies) and of the namespace controller, and says what it did.
func (w *world) collect() string {
	var did []string
	for _, e := range w.enrs {
		if e.gone {
			did = append(did, w.deleteDependents(e.uid, false)...)
			continue
		}
		ste := w.get(e)
		if ste == nil || ste.DeletionTimestamp.IsZero() {
			continue
		}
		switch {
		case controllerutil.ContainsFinalizer(ste, metav1.FinalizerDeleteDependents):
			// Foreground: the dependents go first; the owner waits for the
			// ones that block its deletion.
			did = append(did, w.deleteDependents(ste.UID, false)...)
			if len(w.dependentsOf(ste.UID, true)) == 0 {
				w.liftFinalizer(e, metav1.FinalizerDeleteDependents)
				did = append(did, "lifted foregroundDeletion of "+e.String())
			}
		case controllerutil.ContainsFinalizer(ste, metav1.FinalizerOrphanDependents):
			did = append(did, w.deleteDependents(ste.UID, true)...)
			w.liftFinalizer(e, metav1.FinalizerOrphanDependents)
			did = append(did, "lifted orphan of "+e.String())
		}
	}
	for _, ns := range w.nss {
		if !w.nsDeleting[ns] || w.nsGone[ns] {
			continue
		}
		did = append(did, w.emptyNamespace(ns))
	}
	if len(did) == 0 {
		return "nothing to do"
	}
	return fmt.Sprint(did)
}

// dependentsOf are the Secrets of the sequence that name owner in an
// ownerReference (only blocking ones when blocking).
func (w *world) dependentsOf(owner ktypes.UID, blocking bool) []corev1.Secret {
	var out []corev1.Secret
	for _, s := range w.secrets() {
		if slices.ContainsFunc(s.OwnerReferences, func(r metav1.OwnerReference) bool {
			return r.UID == owner && (!blocking || (r.BlockOwnerDeletion != nil && *r.BlockOwnerDeletion))
		}) {
			out = append(out, s)
		}
	}
	return out
}

// deleteDependents deletes owner's dependents, or with orphan strips the
// ownerReference from them.
func (w *world) deleteDependents(owner ktypes.UID, orphan bool) []string {
	var did []string
	for _, s := range w.dependentsOf(owner, false) {
		if orphan {
			s.OwnerReferences = slices.DeleteFunc(s.OwnerReferences, func(r metav1.OwnerReference) bool { return r.UID == owner })
			w.must(client.IgnoreNotFound(k8s.Update(ctx(), &s)))
			did = append(did, "orphaned "+s.Namespace+"/"+s.Name)
			continue
		}
		if s.DeletionTimestamp.IsZero() {
			w.must(client.IgnoreNotFound(k8s.Delete(ctx(), &s)))
			w.secretsChanged(s.Namespace)
			did = append(did, "deleted dependent "+s.Namespace+"/"+s.Name)
		}
	}
	return did
}

// liftFinalizer removes a finalizer of the garbage collector's.
func (w *world) liftFinalizer(e *enrollment, finalizer string) {
	ste := w.get(e)
	if ste == nil || !controllerutil.ContainsFinalizer(ste, finalizer) {
		return
	}
	patch := client.MergeFromWithOptions(ste.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.RemoveFinalizer(ste, finalizer)
	if err := k8s.Patch(ctx(), ste, patch); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		w.must(err)
	}
	w.get(e) // notices when it went
}

// emptyNamespace deletes everything in a namespace being deleted, and lets
// the namespace go once nothing is left, as the namespace controller does.
func (w *world) emptyNamespace(ns string) string {
	var enrs v1alpha1.SoftwareTokenEnrollmentList
	w.must(k8s.List(ctx(), &enrs, client.InNamespace(ns)))
	var secrets corev1.SecretList
	w.must(k8s.List(ctx(), &secrets, client.InNamespace(ns)))
	left := len(enrs.Items) + len(secrets.Items)
	for i := range enrs.Items {
		if enrs.Items[i].DeletionTimestamp.IsZero() {
			w.must(client.IgnoreNotFound(k8s.Delete(ctx(), &enrs.Items[i])))
		}
	}
	for i := range secrets.Items {
		if secrets.Items[i].DeletionTimestamp.IsZero() {
			w.must(client.IgnoreNotFound(k8s.Delete(ctx(), &secrets.Items[i])))
			w.secretsChanged(ns)
		}
	}
	for _, e := range w.enrs {
		if e.ns == ns {
			w.get(e)
		}
	}
	if left > 0 {
		return fmt.Sprintf("namespace %s: deleting %d enrollments and %d Secrets", ns, len(enrs.Items), len(secrets.Items))
	}
	var n corev1.Namespace
	if err := k8s.Get(ctx(), ktypes.NamespacedName{Name: ns}, &n); err == nil {
		n.Spec.Finalizers = nil
		_, err := clientset.CoreV1().Namespaces().Finalize(ctx(), &n, metav1.UpdateOptions{})
		w.must(client.IgnoreNotFound(err))
	} else {
		w.must(client.IgnoreNotFound(err))
	}
	w.nsGone[ns] = true
	w.missing[ns] = true
	return "namespace " + ns + " is empty and gone"
}

// guardSeeds reconciles the seed guardian for each Secret of the sequence
// whose deletion has begun and which still holds its seed finalizer.
func (w *world) guardSeeds() string {
	var did []string
	for _, s := range w.secrets() {
		if s.DeletionTimestamp.IsZero() || !controllerutil.ContainsFinalizer(&s, v1alpha1.FinalizerSeed) {
			continue
		}
		_, err := guardian.Reconcile(ctx(), reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&s)})
		if err != nil {
			did = append(did, fmt.Sprintf("%s/%s: %v", s.Namespace, s.Name, err))
			continue
		}
		w.secretsChanged(s.Namespace)
		did = append(did, "kept the seed of "+s.Namespace+"/"+s.Name)
	}
	if len(did) == 0 {
		return "no Secret being deleted holds a seed"
	}
	return fmt.Sprint(did)
}

// storedSeeds are the seeds the seed store keeps for the sequence's namespaces.
func (w *world) storedSeeds(into map[string]string) {
	for _, uid := range w.nsUID {
		var list corev1.SecretList
		w.must(k8s.List(ctx(), &list, client.InNamespace(claimNamespace),
			client.MatchingLabels{v1alpha1.LabelOriginNamespaceUID: string(uid)}))
		for _, s := range list.Items {
			for _, k := range []string{v1alpha1.KeySecret, v1alpha1.KeyPendingSecret} {
				if v := string(s.Data[k]); v != "" {
					into[v] = "store " + s.Name + "[" + k + "]"
				}
			}
		}
	}
}

// reapply is a GitOps tool putting an enrollment back once every enrollment
// of the sequence is gone. It puts back the one whose seed the user's token
// is, where its namespace still exists (its Secret, released, or the store's
// copy for that namespace is adopted with a proof and no association);
// otherwise the first, in a namespace that is not being deleted (a new one
// if need be), and a seed the store keeps from a namespace that is gone is
// adopted by an administrator, as the README's Deletion section says
// (kubectl mfa seeds adopt): nobody else may.
func (w *world) reapply() *enrollment {
	ns, name, adopt := "", "first", (*corev1.Secret)(nil)
	if where, s := w.tokenAt(); where.Namespace != "" && !w.nsDeleting[where.Namespace] {
		ns, name = where.Namespace, where.Enrollment
	} else if s != nil {
		adopt = s
	}
	for _, n := range w.nss {
		if ns == "" && !w.nsDeleting[n] {
			ns = n
		}
	}
	if ns == "" {
		ns = fmt.Sprintf("%s-again%d", w.nss[0], len(w.nss))
		w.addNamespace(ns)
	} else if w.missing[ns] {
		w.writeCredentials(ns)
	}
	e := w.createEnrollment(ns, name)
	how := ""
	if adopt != nil {
		w.must(client.IgnoreAlreadyExists(k8s.Create(ctx(), kube.RestoredSecret(adopt, ns, v1alpha1.SecretNameOf(w.get(e)), name))))
		how = " (an administrator adopts the seed stored as " + adopt.Name + ")"
	}
	w.step("re-apply %s%s", e, how)
	return e
}

// tokenAt says where the user's token is kept when Cognito still asks for
// it: the enrollment (namespace and name) a Secret of a live namespace was
// retained from, or the origin of the seed store's copy (and that copy).
// Empty when no code is asked for, or when no copy names its enrollment.
func (w *world) tokenAt() (lifecycle.Origin, *corev1.Secret) {
	u := fake.User(w.pool, w.user)
	if u.TOTPSecret == "" || (!u.TOTPEnabled && w.mfa != cognitofake.MFAOn) {
		return lifecycle.Origin{}, nil
	}
	for _, s := range w.secrets() {
		if !holds(&s, u.TOTPSecret) || !s.DeletionTimestamp.IsZero() {
			continue
		}
		rec, _ := lifecycle.ReadRecord(s.Annotations)
		if _, name, ok := strings.Cut(rec.RetainedFrom, "/"); ok {
			return lifecycle.Origin{Namespace: s.Namespace, Enrollment: name}, nil
		}
	}
	for ns, uid := range w.nsUID {
		var list corev1.SecretList
		w.must(k8s.List(ctx(), &list, client.InNamespace(claimNamespace),
			client.MatchingLabels{v1alpha1.LabelOriginNamespaceUID: string(uid)}))
		for i := range list.Items {
			if s := &list.Items[i]; holds(s, u.TOTPSecret) {
				if w.nsGone[ns] || w.nsDeleting[ns] {
					return lifecycle.Origin{}, s
				}
				return kube.OriginOf(s), s
			}
		}
	}
	return lifecycle.Origin{}, nil
}

// deleting says an enrollment of the sequence is being deleted.
func (w *world) deleting() bool {
	for _, e := range w.enrs {
		if ste := w.get(e); ste != nil && !ste.DeletionTimestamp.IsZero() {
			return true
		}
	}
	return false
}

// holds says a Secret keeps seed, as its secret or as a verified seed held
// back (pending-secret).
func holds(s *corev1.Secret, seed string) bool {
	return string(s.Data[v1alpha1.KeySecret]) == seed || string(s.Data[v1alpha1.KeyPendingSecret]) == seed
}

// credentialsPresent says the credentials Secret of ns exists.
func (w *world) credentialsPresent(ns string) bool {
	err := k8s.Get(ctx(), ktypes.NamespacedName{Namespace: ns, Name: w.credName()}, &corev1.Secret{})
	if apierrors.IsNotFound(err) {
		return false
	}
	w.must(err)
	return true
}

// secretsChanged marks the enrollments of ns as not having seen a Secret's
// deletion yet.
func (w *world) secretsChanged(ns string) {
	for _, e := range w.enrs {
		if e.ns == ns {
			e.unseen = true
		}
	}
}

// credentialsHere says ns has a credentials Secret to edit: one not deleted,
// or one whose deletion a finalizer holds (an edit still reaches it).
func (w *world) credentialsHere(ns string) bool {
	return !w.nsGone[ns] && (!w.missing[ns] || w.credentialsPresent(ns))
}

// secrets are the Secrets of the sequence's namespaces that still exist.
func (w *world) secrets() []corev1.Secret {
	var out []corev1.Secret
	for _, ns := range w.nss {
		if w.nsGone[ns] {
			continue
		}
		var list corev1.SecretList
		w.must(k8s.List(ctx(), &list, client.InNamespace(ns)))
		out = append(out, list.Items...)
	}
	return out
}

// adoptInto is an administrator answering AlreadyEnrolled: the user's token
// is kept only in the store, from a namespace that is gone, and an
// enrollment of the user whose Secret does not exist adopts it (kubectl mfa
// seeds adopt). Nil when there is nothing to adopt or no one to adopt it.
func (w *world) adoptInto() *enrollment {
	where, stored := w.tokenAt()
	if where.Namespace != "" || stored == nil {
		return nil
	}
	for _, e := range w.enrs {
		ste := w.get(e)
		if ste == nil || !ste.DeletionTimestamp.IsZero() || w.secretOf(ste) != nil || w.nsDeleting[e.ns] {
			continue
		}
		w.must(client.IgnoreAlreadyExists(k8s.Create(ctx(), kube.RestoredSecret(stored, e.ns, v1alpha1.SecretNameOf(ste), e.name))))
		e.touched = true
		w.step("heal: an administrator adopts the seed stored as %s into %s", stored.Name, e)
		return e
	}
	return nil
}
