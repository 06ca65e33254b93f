package kube

import (
	"context"
	"sync"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
)

// UserPoolRefIndex indexes enrollments by the ClusterUserPool they name.
const UserPoolRefIndex = ".spec.userPoolRef.name"

// indexed remembers the indexes registered per manager cache: both
// controllers need the enrollments' pool index, and a cache refuses to
// register one twice.
var indexed sync.Map

// IndexEnrollmentsByPool registers UserPoolRefIndex, once per manager.
func IndexEnrollmentsByPool(ctx context.Context, mgr manager.Manager) error {
	key := struct {
		indexer client.FieldIndexer
		field   string
	}{mgr.GetFieldIndexer(), UserPoolRefIndex}
	if _, done := indexed.LoadOrStore(key, true); done {
		return nil
	}
	return mgr.GetFieldIndexer().IndexField(ctx, &v1alpha1.SoftwareTokenEnrollment{}, UserPoolRefIndex, func(o client.Object) []string {
		if ref := o.(*v1alpha1.SoftwareTokenEnrollment).Spec.UserPoolRef; ref != nil {
			return []string{ref.Name}
		}
		return nil
	})
}

// PoolsUsingSecret are the ClusterUserPools whose client secret is secret.
// Pools are few and cached, so they are filtered rather than indexed.
func PoolsUsingSecret(ctx context.Context, c client.Reader, secret client.Object, clusterNamespace string) []v1alpha1.ClusterUserPool {
	var pools v1alpha1.ClusterUserPoolList
	if err := c.List(ctx, &pools); err != nil {
		return nil
	}
	var out []v1alpha1.ClusterUserPool
	for _, p := range pools.Items {
		if ref := p.Spec.ClientSecretRef; ref != nil && ref.Name == secret.GetName() &&
			p.ClientSecretNamespace(clusterNamespace) == secret.GetNamespace() {
			out = append(out, p)
		}
	}
	return out
}
