package kube

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
)

// TrimCache is the manager cache's transform. It drops managed fields from
// everything, and from the metadata-only watches keeps just what maps an
// event to an enrollment: every Secret in the watched namespaces passes
// through that watch, and annotations such as kubectl's
// last-applied-configuration can be as large as the Secret's data.
// Namespaces keep their labels, which ClusterUserPools select on.
func TrimCache(obj any) (any, error) {
	if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
		trimmed := &metav1.PartialObjectMetadata{TypeMeta: m.TypeMeta, ObjectMeta: metav1.ObjectMeta{
			Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
			DeletionTimestamp: m.DeletionTimestamp}}
		if m.Kind == "Namespace" {
			trimmed.Labels = m.Labels
		}
		return trimmed, nil
	}
	return cache.TransformStripManagedFields()(obj)
}
