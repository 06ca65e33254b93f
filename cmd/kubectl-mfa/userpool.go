package main

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/types"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
)

// signInTarget is the user pool and app client an enrollment signs in
// through: its inline fields, or those of the ClusterUserPool it names.
type signInTarget struct {
	poolID, region string
	clientID       string
	clientSecret   *v1alpha1.ClusterSecretKeySelector
}

// target resolves the enrollment's pool. clusterNamespace stands for the
// manager's --cluster-resource-namespace, where a pool's client secret is
// when its reference names no namespace.
func (c *cli) target(ctx context.Context, ste *v1alpha1.SoftwareTokenEnrollment, clusterNamespace string) (*signInTarget, error) {
	s := &ste.Spec
	if s.UserPoolRef == nil {
		t := &signInTarget{poolID: s.UserPoolID, region: s.Region, clientID: s.ClientID}
		if ref := s.ClientSecretRef; ref != nil {
			t.clientSecret = &v1alpha1.ClusterSecretKeySelector{Namespace: ste.Namespace, Name: ref.Name, Key: ref.Key}
		}
		return t, nil
	}
	pool := &v1alpha1.ClusterUserPool{}
	if err := c.k8s.Get(ctx, types.NamespacedName{Name: s.UserPoolRef.Name}, pool); err != nil {
		return nil, fmt.Errorf("reading ClusterUserPool %q: %w", s.UserPoolRef.Name, err)
	}
	t := &signInTarget{poolID: pool.Spec.UserPoolID, region: pool.Spec.Region, clientID: pool.Spec.ClientID}
	if ref := pool.Spec.ClientSecretRef; ref != nil {
		t.clientSecret = &v1alpha1.ClusterSecretKeySelector{Namespace: pool.ClientSecretNamespace(clusterNamespace), Name: ref.Name, Key: ref.Key}
	}
	return t, nil
}
