package lifecycle

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
)

// PoolSettings is the user pool and app client an enrollment signs in
// through, from its inline fields or from the ClusterUserPool it names.
// They are resolved once per reconcile, so that both forms behave the same
// from there on.
type PoolSettings struct {
	ID, Region, ClientID string
	// ClientSecret names the app client's secret, if any. Its namespace is
	// empty for an inline clientSecretRef: the enrollment's own.
	ClientSecret *v1alpha1.ClusterSecretKeySelector
}

// SettingsOf resolves the enrollment's pool: pool is the ClusterUserPool
// spec.userPoolRef names, nil for the inline form.
func SettingsOf(ste *v1alpha1.SoftwareTokenEnrollment, pool *v1alpha1.ClusterUserPool, clusterNamespace string) PoolSettings {
	if pool == nil {
		s := &ste.Spec
		p := PoolSettings{ID: s.UserPoolID, Region: s.Region, ClientID: s.ClientID}
		if ref := s.ClientSecretRef; ref != nil {
			p.ClientSecret = &v1alpha1.ClusterSecretKeySelector{Name: ref.Name, Key: ref.Key}
		}
		return p
	}
	s := &pool.Spec
	p := PoolSettings{ID: s.UserPoolID, Region: s.Region, ClientID: s.ClientID}
	if ref := s.ClientSecretRef; ref != nil {
		p.ClientSecret = &v1alpha1.ClusterSecretKeySelector{Namespace: pool.ClientSecretNamespace(clusterNamespace),
			Name: ref.Name, Key: ref.Key}
	}
	return p
}

// ClientSecretKey names the client secret in the record's spec hash. The
// inline form keeps the spelling earlier versions recorded, so that an
// upgrade does not make every enrollment prove its seed again.
func (p PoolSettings) ClientSecretKey() string {
	cs := p.ClientSecret
	switch {
	case cs == nil:
		return ""
	case cs.Namespace == "":
		return cs.Name + "/" + cs.Key
	}
	return cs.Namespace + "/" + cs.Name + "/" + cs.Key
}

// SpecHash identifies the spec fields that need Cognito to apply, with the
// pool resolved: other edits (secretTemplate, issuer, rotation, a
// ClusterUserPool's allowedNamespaces) are applied locally, with no
// sign-in, so a Ready enrollment stays Ready through them.
func SpecHash(ste *v1alpha1.SoftwareTokenEnrollment, pool PoolSettings) string {
	s := &ste.Spec
	cred, tok := "", ""
	if s.CredentialsSecretRef != nil {
		cred = s.CredentialsSecretRef.Name
	}
	if s.AccessTokenSecretRef != nil {
		tok = s.AccessTokenSecretRef.Name + "/" + s.AccessTokenSecretRef.Key
	}
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s",
		pool.ID, pool.Region, pool.ClientID, cred, tok, pool.ClientSecretKey(), s.MFAPreference)))
	return hex.EncodeToString(sum[:6])
}

// UserPoolProblem says why a ClusterUserPool's spec cannot be used, or "".
// It reads nothing: the client secret is checked by whoever reads it.
func UserPoolProblem(pool *v1alpha1.ClusterUserPool, defaultRegion string) string {
	s := &pool.Spec
	if v1alpha1.RegionOf(s.UserPoolID, s.Region, defaultRegion) == "" {
		return fmt.Sprintf("user pool id %q names no region: set spec.region or the manager's --region", s.UserPoolID)
	}
	if a := s.AllowedNamespaces; a != nil && a.Selector != nil {
		if _, err := metav1.LabelSelectorAsSelector(a.Selector); err != nil {
			return fmt.Sprintf("spec.allowedNamespaces.selector: %v", err)
		}
	}
	return ""
}

// NamespaceAllowed says a pool's allowedNamespaces let the namespace use
// it: absent allows every namespace; otherwise one listed in names or
// whose labels match the selector. An invalid selector matches nothing.
func NamespaceAllowed(a *v1alpha1.AllowedNamespaces, namespace string, nsLabels map[string]string) bool {
	if a == nil || slices.Contains(a.Names, namespace) {
		return true
	}
	if a.Selector == nil {
		return false
	}
	sel, err := metav1.LabelSelectorAsSelector(a.Selector)
	return err == nil && sel.Matches(labels.Set(nsLabels))
}

// NeedsNamespaceLabels says only the namespace's labels can tell whether
// the pool allows it.
func NeedsNamespaceLabels(pool *v1alpha1.ClusterUserPool, namespace string) bool {
	a := pool.Spec.AllowedNamespaces
	return a != nil && a.Selector != nil && !slices.Contains(a.Names, namespace)
}
