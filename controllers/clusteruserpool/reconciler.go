// Package clusteruserpool is the ClusterUserPool controller: it reports
// whether a pool can be used and holds it while enrollments name it. It
// never calls Cognito.
package clusteruserpool

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/conditions"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/kube"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/lifecycle"
)

// Reconciler keeps a ClusterUserPool's status (whether it can be
// used, and by how many enrollments) and holds it with a finalizer while
// enrollments name it. It never calls Cognito.
type Reconciler struct {
	// Client reads pools and enrollments from the cache and writes.
	client.Client
	// APIReader reads the client secret straight from the API server: the
	// manager caches no Secret data.
	APIReader client.Reader
	// ClusterResourceNamespace is the operator's own namespace
	// (--cluster-resource-namespace), where a client secret is when its
	// reference names no namespace.
	ClusterResourceNamespace string
	// DefaultRegion is the manager's region, for pool ids that name none.
	DefaultRegion string
	// SecretEvents reports changes to Secrets (one shared by the
	// controllers); nil makes one that watches every namespace.
	SecretEvents *kube.SecretEvents
}

// secretRecheck is how often a pool waiting for its client secret looks
// again: the secret's namespace may be outside --namespaces, whose Secrets
// alone are watched.
const secretRecheck = time.Minute

// +kubebuilder:rbac:groups=mfa.cognito-operator.dev,resources=clusteruserpools,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=mfa.cognito-operator.dev,resources=clusteruserpools/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=mfa.cognito-operator.dev,resources=clusteruserpools/finalizers,verbs=update

// Reconcile counts the pool's enrollments, holds or releases the pool, and
// reports whether it can be used.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	pool := &v1alpha1.ClusterUserPool{}
	if err := r.Get(ctx, req.NamespacedName, pool); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	n, err := r.countUsers(ctx, pool)
	if err != nil {
		return reconcile.Result{}, err
	}
	if err := r.holdWhileUsed(ctx, pool, n > 0); err != nil {
		return reconcile.Result{}, err
	}
	deleting := !pool.DeletionTimestamp.IsZero()
	if deleting && n == 0 {
		return reconcile.Result{}, nil // released: the API server deletes it
	}
	before := pool.DeepCopy()
	status, reason, msg := r.readiness(ctx, pool)
	if deleting {
		msg += fmt.Sprintf("; its deletion waits for the %d enrollments that name it", n)
		log.FromContext(ctx).Info("deletion waits for enrollments", "enrollments", n)
	}
	conditions.Set(&pool.Status.Conditions, pool.Generation, v1alpha1.ConditionReady, status, reason, msg)
	pool.Status.ObservedGeneration = pool.Generation
	pool.Status.Enrollments = int32(n)
	if !equality.Semantic.DeepEqual(before.Status, pool.Status) {
		err := r.Status().Patch(ctx, pool, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
		if apierrors.IsConflict(err) {
			return reconcile.Result{RequeueAfter: 100 * time.Millisecond}, nil
		}
		if err != nil {
			return reconcile.Result{}, client.IgnoreNotFound(err)
		}
	}
	if reason == v1alpha1.ReasonClientSecretNotFound || reason == v1alpha1.ReasonInvalidClientSecret {
		return reconcile.Result{RequeueAfter: secretRecheck}, nil
	}
	return reconcile.Result{}, nil
}

// countUsers counts the enrollments that name the pool from a namespace it
// allows: one it refuses can neither use it nor hold its deletion.
func (r *Reconciler) countUsers(ctx context.Context, pool *v1alpha1.ClusterUserPool) (int, error) {
	var users v1alpha1.SoftwareTokenEnrollmentList
	if err := r.List(ctx, &users, client.MatchingFields{kube.UserPoolRefIndex: pool.Name}); err != nil {
		return 0, err
	}
	n := 0
	for _, ste := range users.Items {
		var labels map[string]string
		if lifecycle.NeedsNamespaceLabels(pool, ste.Namespace) {
			ns := &metav1.PartialObjectMetadata{}
			ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
			if err := r.Get(ctx, client.ObjectKey{Name: ste.Namespace}, ns); err != nil {
				return 0, client.IgnoreNotFound(err)
			}
			labels = ns.Labels
		}
		if lifecycle.NamespaceAllowed(pool.Spec.AllowedNamespaces, ste.Namespace, labels) {
			n++
		}
	}
	return n, nil
}

// readiness says whether enrollments can use the pool: the same checks an
// enrollment makes before it signs in, so the two agree.
func (r *Reconciler) readiness(ctx context.Context, pool *v1alpha1.ClusterUserPool) (metav1.ConditionStatus, string, string) {
	if msg := lifecycle.UserPoolProblem(pool, r.DefaultRegion); msg != "" {
		return metav1.ConditionFalse, v1alpha1.ReasonInvalidSpec, msg
	}
	if ref := pool.Spec.ClientSecretRef; ref != nil {
		ns := pool.ClientSecretNamespace(r.ClusterResourceNamespace)
		if _, _, err := kube.ReadSecret(ctx, r.APIReader, ns, ref.Name,
			v1alpha1.ReasonClientSecretNotFound, v1alpha1.ReasonInvalidClientSecret, ref.Key); err != nil {
			o := lifecycle.OutcomeOf(err)
			return metav1.ConditionFalse, o.Reason, o.Message
		}
	}
	info, _ := v1alpha1.LookupReason(v1alpha1.ReasonValid)
	return metav1.ConditionTrue, v1alpha1.ReasonValid, info.Hint
}

// holdWhileUsed keeps the in-use finalizer exactly while enrollments name
// the pool: deleting it under them would leave them, and a deletion policy
// Disable, nothing to sign in to. A pool already being deleted gets no new
// finalizer (the API server refuses one).
func (r *Reconciler) holdWhileUsed(ctx context.Context, pool *v1alpha1.ClusterUserPool, used bool) error {
	has := controllerutil.ContainsFinalizer(pool, v1alpha1.FinalizerUserPoolInUse)
	if has == used || (used && !pool.DeletionTimestamp.IsZero()) {
		return nil
	}
	patch := client.MergeFromWithOptions(pool.DeepCopy(), client.MergeFromWithOptimisticLock{})
	if used {
		controllerutil.AddFinalizer(pool, v1alpha1.FinalizerUserPoolInUse)
	} else {
		controllerutil.RemoveFinalizer(pool, v1alpha1.FinalizerUserPoolInUse)
	}
	return client.IgnoreNotFound(r.Patch(ctx, pool, patch))
}

// SetupWithManager registers the controller. Enrollments are watched for
// the count, as created, deleted or pointed elsewhere (both the old and the
// new pool are reconciled); client secrets through SecretEvents, for Ready.
func (r *Reconciler) SetupWithManager(mgr manager.Manager) error {
	if err := kube.IndexEnrollmentsByPool(context.Background(), mgr); err != nil {
		return err
	}
	if r.SecretEvents == nil {
		var err error
		if r.SecretEvents, err = kube.NewSecretEvents(mgr.GetConfig(), nil); err != nil {
			return err
		}
	}
	return builder.ControllerManagedBy(mgr).
		For(&v1alpha1.ClusterUserPool{}).
		Watches(&v1alpha1.SoftwareTokenEnrollment{}, handler.EnqueueRequestsFromMapFunc(poolOf),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WatchesRawSource(r.SecretEvents.Source(r.poolsForSecret, r.allPools)).
		Complete(r)
}

func poolOf(_ context.Context, o client.Object) []reconcile.Request {
	if ref := o.(*v1alpha1.SoftwareTokenEnrollment).Spec.UserPoolRef; ref != nil {
		return []reconcile.Request{{NamespacedName: client.ObjectKey{Name: ref.Name}}}
	}
	return nil
}

func (r *Reconciler) allPools(ctx context.Context) []reconcile.Request {
	var list v1alpha1.ClusterUserPoolList
	if err := r.List(ctx, &list); err != nil {
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for _, p := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKey{Name: p.Name}})
	}
	return reqs
}

func (r *Reconciler) poolsForSecret(ctx context.Context, secret client.Object) []reconcile.Request {
	var reqs []reconcile.Request
	for _, p := range kube.PoolsUsingSecret(ctx, r.Client, secret, r.ClusterResourceNamespace) {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKey{Name: p.Name}})
	}
	return reqs
}
