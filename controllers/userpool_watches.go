package controllers

import (
	"context"
	"maps"

	"sigs.k8s.io/controller-runtime/pkg/client"
	crevent "sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/conditions"
)

// enrollmentsForPool maps a ClusterUserPool to the enrollments naming it.
func (r *Reconciler) enrollmentsForPool(ctx context.Context, pool client.Object) []reconcile.Request {
	var list v1alpha1.SoftwareTokenEnrollmentList
	if err := r.List(ctx, &list, client.MatchingFields{userPoolRefIndex: pool.GetName()}); err != nil {
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
