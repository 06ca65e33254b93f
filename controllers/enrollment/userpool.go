package enrollment

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/lifecycle"
)

// observeUserPool reads the ClusterUserPool the enrollment names, and the
// namespace's labels when the pool's selector needs them. A missing pool
// is left nil: the inputs then wait for it.
func (r *Reconciler) observeUserPool(ctx context.Context, o *observation) error {
	ref := o.Enrollment.Spec.UserPoolRef
	if ref == nil {
		return nil
	}
	var pool v1alpha1.ClusterUserPool
	err := r.APIReader.Get(ctx, types.NamespacedName{Name: ref.Name}, &pool)
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return retry(v1alpha1.ReasonKubernetesAPIError, fmt.Sprintf("reading ClusterUserPool %q: %v", ref.Name, err))
	}
	o.Pool = &pool
	if !lifecycle.NeedsNamespaceLabels(&pool, o.Enrollment.Namespace) {
		return nil
	}
	var ns corev1.Namespace
	if err := r.APIReader.Get(ctx, types.NamespacedName{Name: o.Enrollment.Namespace}, &ns); err != nil {
		return retry(v1alpha1.ReasonKubernetesAPIError, fmt.Sprintf("reading namespace %q: %v", o.Enrollment.Namespace, err))
	}
	o.NamespaceLabels = ns.Labels
	return nil
}

func poolNotReady(pool *v1alpha1.ClusterUserPool, msg string) error {
	return lifecycle.Wait(v1alpha1.ReasonUserPoolNotReady, fmt.Sprintf("ClusterUserPool %q is not ready: %s", pool.Name, msg))
}
