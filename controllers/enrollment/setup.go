package enrollment

import (
	"context"
	"crypto/rand"
	"maps"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrl "sigs.k8s.io/controller-runtime/pkg/controller"
	crevent "sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/conditions"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/kube"
)

// secretNamesIndex indexes enrollments by every Secret they read or write.
const secretNamesIndex = ".spec.secretNames"

// SetupWithManager registers the controller. Changes to Secrets come from
// SecretEvents, which keeps none of them: enough to notice a change to one an
// enrollment names, without caching every Secret in the cluster.
// ClusterUserPools and namespaces' labels are watched for what decides
// whether an enrollment may use its pool.
func (r *Reconciler) SetupWithManager(mgr manager.Manager, opts ctrl.Options) error {
	ctx := context.Background()
	r.ownWrites = &ownWrites{}
	if len(r.FingerprintKey) == 0 {
		r.FingerprintKey = make([]byte, 32)
		if _, err := rand.Read(r.FingerprintKey); err != nil {
			return err
		}
	}
	if r.SecretEvents == nil {
		var err error
		if r.SecretEvents, err = kube.NewSecretEvents(mgr.GetConfig(), nil); err != nil {
			return err
		}
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &v1alpha1.SoftwareTokenEnrollment{},
		secretNamesIndex, func(o client.Object) []string {
			return referencedSecrets(o.(*v1alpha1.SoftwareTokenEnrollment))
		}); err != nil {
		return err
	}
	if err := kube.IndexEnrollmentsByPool(ctx, mgr); err != nil {
		return err
	}
	return builder.ControllerManagedBy(mgr).
		For(&v1alpha1.SoftwareTokenEnrollment{}, builder.WithPredicates(
			predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		WatchesRawSource(r.SecretEvents.Source(r.enrollmentsForSecret, r.allEnrollments)).
		Watches(&v1alpha1.ClusterUserPool{}, handler.EnqueueRequestsFromMapFunc(r.enrollmentsForPool),
			builder.WithPredicates(poolUsabilityChanged)).
		WatchesMetadata(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.enrollmentsForNamespace),
			builder.WithPredicates(labelsChanged)).
		WithOptions(opts).
		Complete(r)
}

func (r *Reconciler) enrollmentsForSecret(ctx context.Context, secret client.Object) []reconcile.Request {
	var list v1alpha1.SoftwareTokenEnrollmentList
	if err := r.List(ctx, &list, client.InNamespace(secret.GetNamespace()),
		client.MatchingFields{secretNamesIndex: secret.GetName()}); err != nil {
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for _, req := range requestsFor(list.Items) {
		if !r.ownWrites.echo(secret, req.NamespacedName) {
			reqs = append(reqs, req)
		}
	}
	for _, pool := range kube.PoolsUsingSecret(ctx, r.Client, secret, r.ClaimNamespace) {
		reqs = append(reqs, r.enrollmentsForPool(ctx, &pool)...)
	}
	return reqs
}

func (r *Reconciler) allEnrollments(ctx context.Context) []reconcile.Request {
	var list v1alpha1.SoftwareTokenEnrollmentList
	if err := r.List(ctx, &list); err != nil {
		return nil
	}
	return requestsFor(list.Items)
}

func requestsFor(items []v1alpha1.SoftwareTokenEnrollment) []reconcile.Request {
	reqs := make([]reconcile.Request, 0, len(items))
	for _, ste := range items {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ste.Namespace, Name: ste.Name}})
	}
	return reqs
}

func referencedSecrets(ste *v1alpha1.SoftwareTokenEnrollment) []string {
	names := []string{v1alpha1.SecretNameOf(ste)}
	if ref := ste.Spec.CredentialsSecretRef; ref != nil {
		names = append(names, ref.Name)
	}
	if ref := ste.Spec.AccessTokenSecretRef; ref != nil {
		names = append(names, ref.Name)
	}
	if ref := ste.Spec.ClientSecretRef; ref != nil {
		names = append(names, ref.Name)
	}
	return names
}

// enrollmentsForPool maps a ClusterUserPool to the enrollments naming it.
func (r *Reconciler) enrollmentsForPool(ctx context.Context, pool client.Object) []reconcile.Request {
	var list v1alpha1.SoftwareTokenEnrollmentList
	if err := r.List(ctx, &list, client.MatchingFields{kube.UserPoolRefIndex: pool.GetName()}); err != nil {
		return nil
	}
	return requestsFor(list.Items)
}

// enrollmentsForNamespace maps a namespace whose labels changed to its
// enrollments whose pool admits namespaces by a selector.
func (r *Reconciler) enrollmentsForNamespace(ctx context.Context, ns client.Object) []reconcile.Request {
	var list v1alpha1.SoftwareTokenEnrollmentList
	if err := r.List(ctx, &list, client.InNamespace(ns.GetName())); err != nil {
		return nil
	}
	var affected []v1alpha1.SoftwareTokenEnrollment
	for _, ste := range list.Items {
		ref := ste.Spec.UserPoolRef
		if ref == nil {
			continue
		}
		var pool v1alpha1.ClusterUserPool
		if err := r.Get(ctx, client.ObjectKey{Name: ref.Name}, &pool); err != nil {
			continue
		}
		if a := pool.Spec.AllowedNamespaces; a != nil && a.Selector != nil {
			affected = append(affected, ste)
		}
	}
	return requestsFor(affected)
}

// poolUsabilityChanged passes what can change whether enrollments may use
// a pool: its creation and deletion, its spec, and its Ready condition.
// The status's enrollment count changes with every enrollment, and would
// wake all the pool's enrollments each time.
var poolUsabilityChanged = predicate.Funcs{UpdateFunc: func(e crevent.UpdateEvent) bool {
	before, after := e.ObjectOld.(*v1alpha1.ClusterUserPool), e.ObjectNew.(*v1alpha1.ClusterUserPool)
	return before.Generation != after.Generation || readiness(before) != readiness(after)
}}

func readiness(pool *v1alpha1.ClusterUserPool) string {
	if c := conditions.Get(pool.Status.Conditions, v1alpha1.ConditionReady); c != nil {
		return string(c.Status) + "/" + c.Reason
	}
	return ""
}

// labelsChanged passes label changes only: a namespace's creation cannot
// matter to enrollments, which do not exist yet.
var labelsChanged = predicate.Funcs{
	CreateFunc:  func(crevent.CreateEvent) bool { return false },
	DeleteFunc:  func(crevent.DeleteEvent) bool { return false },
	GenericFunc: func(crevent.GenericEvent) bool { return false },
	UpdateFunc: func(e crevent.UpdateEvent) bool {
		return !maps.Equal(e.ObjectOld.GetLabels(), e.ObjectNew.GetLabels())
	},
}
