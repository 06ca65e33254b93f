package controllers

import (
	"context"
	"fmt"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
)

// poolSettings is the user pool and app client an enrollment signs in
// through, from its inline fields or from the ClusterUserPool it names.
// They are resolved once per reconcile, so that both forms behave the same
// from there on.
type poolSettings struct {
	id, region, clientID string
	// clientSecret names the app client's secret, if any. Its namespace is
	// empty for an inline clientSecretRef: the enrollment's own.
	clientSecret *v1alpha1.ClusterSecretKeySelector
}

// settingsOf resolves the enrollment's pool: pool is the ClusterUserPool
// spec.userPoolRef names, nil for the inline form.
func settingsOf(ste *v1alpha1.SoftwareTokenEnrollment, pool *v1alpha1.ClusterUserPool, clusterNamespace string) poolSettings {
	if pool == nil {
		s := &ste.Spec
		p := poolSettings{id: s.UserPoolID, region: s.Region, clientID: s.ClientID}
		if ref := s.ClientSecretRef; ref != nil {
			p.clientSecret = &v1alpha1.ClusterSecretKeySelector{Name: ref.Name, Key: ref.Key}
		}
		return p
	}
	s := &pool.Spec
	p := poolSettings{id: s.UserPoolID, region: s.Region, clientID: s.ClientID}
	if ref := s.ClientSecretRef; ref != nil {
		p.clientSecret = &v1alpha1.ClusterSecretKeySelector{Namespace: pool.ClientSecretNamespace(clusterNamespace),
			Name: ref.Name, Key: ref.Key}
	}
	return p
}

// clientSecretKey names the client secret in the enrollment's record hash.
// The inline form keeps the spelling earlier versions recorded, so that an
// upgrade does not make every enrollment prove its seed again.
func (p poolSettings) clientSecretKey() string {
	cs := p.clientSecret
	switch {
	case cs == nil:
		return ""
	case cs.Namespace == "":
		return cs.Name + "/" + cs.Key
	}
	return cs.Namespace + "/" + cs.Name + "/" + cs.Key
}

// userPoolProblem says why a ClusterUserPool's spec cannot be used, or "".
// It reads nothing: the client secret is checked by whoever reads it.
func userPoolProblem(pool *v1alpha1.ClusterUserPool, defaultRegion string) string {
	s := &pool.Spec
	if cognito.RegionOf(s.UserPoolID, s.Region, defaultRegion) == "" {
		return fmt.Sprintf("user pool id %q names no region: set spec.region or the manager's --region", s.UserPoolID)
	}
	if a := s.AllowedNamespaces; a != nil && a.Selector != nil {
		if _, err := metav1.LabelSelectorAsSelector(a.Selector); err != nil {
			return fmt.Sprintf("spec.allowedNamespaces.selector: %v", err)
		}
	}
	return ""
}

// namespaceAllowed says a pool's allowedNamespaces let the namespace use
// it: absent allows every namespace; otherwise one listed in names or
// whose labels match the selector. An invalid selector matches nothing.
func namespaceAllowed(a *v1alpha1.AllowedNamespaces, namespace string, nsLabels map[string]string) bool {
	if a == nil || slices.Contains(a.Names, namespace) {
		return true
	}
	if a.Selector == nil {
		return false
	}
	sel, err := metav1.LabelSelectorAsSelector(a.Selector)
	return err == nil && sel.Matches(labels.Set(nsLabels))
}

// needsNamespaceLabels says only the namespace's labels can tell whether
// the pool allows it.
func needsNamespaceLabels(pool *v1alpha1.ClusterUserPool, namespace string) bool {
	a := pool.Spec.AllowedNamespaces
	return a != nil && a.Selector != nil && !slices.Contains(a.Names, namespace)
}

// observeUserPool reads the ClusterUserPool the enrollment names, and the
// namespace's labels when the pool's selector needs them. A missing pool
// is left nil: the inputs then wait for it.
func (r *Reconciler) observeUserPool(ctx context.Context, o *observation) error {
	ref := o.ste.Spec.UserPoolRef
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
	o.pool = &pool
	if !needsNamespaceLabels(&pool, o.ste.Namespace) {
		return nil
	}
	var ns corev1.Namespace
	if err := r.APIReader.Get(ctx, types.NamespacedName{Name: o.ste.Namespace}, &ns); err != nil {
		return retry(v1alpha1.ReasonKubernetesAPIError, fmt.Sprintf("reading namespace %q: %v", o.ste.Namespace, err))
	}
	o.nsLabels = ns.Labels
	return nil
}

func poolNotReady(pool *v1alpha1.ClusterUserPool, msg string) error {
	return wait(v1alpha1.ReasonUserPoolNotReady, fmt.Sprintf("ClusterUserPool %q is not ready: %s", pool.Name, msg))
}

// userPoolRefIndex indexes enrollments by the ClusterUserPool they name.
const userPoolRefIndex = ".spec.userPoolRef.name"

// indexed remembers the indexes registered per manager cache: both
// controllers need the enrollments' pool index, and a cache refuses to
// register one twice.
var indexed sync.Map

func indexEnrollmentsByPool(ctx context.Context, mgr manager.Manager) error {
	key := struct {
		indexer client.FieldIndexer
		field   string
	}{mgr.GetFieldIndexer(), userPoolRefIndex}
	if _, done := indexed.LoadOrStore(key, true); done {
		return nil
	}
	return mgr.GetFieldIndexer().IndexField(ctx, &v1alpha1.SoftwareTokenEnrollment{}, userPoolRefIndex, func(o client.Object) []string {
		if ref := o.(*v1alpha1.SoftwareTokenEnrollment).Spec.UserPoolRef; ref != nil {
			return []string{ref.Name}
		}
		return nil
	})
}

// poolsUsingSecret are the ClusterUserPools whose client secret is secret.
// Pools are few and cached, so they are filtered rather than indexed.
func poolsUsingSecret(ctx context.Context, c client.Reader, secret client.Object, clusterNamespace string) []v1alpha1.ClusterUserPool {
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
