package kube

import (
	"context"
	"crypto/rand"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
)

// FingerprintKeySecret is the Secret in the operator's namespace that holds
// the key of the inputs fingerprints.
const FingerprintKeySecret = "cognito-mfa-operator-fingerprint-key"

// FingerprintKey reads the key the enrollments' inputs fingerprints are
// keyed with, creating a random one the first time. An unkeyed hash over
// fields a reader knows plus a password would let whoever reads an
// enrollment's status test guesses of the password against it.
func FingerprintKey(ctx context.Context, c client.Client, namespace string) ([]byte, error) {
	key := types.NamespacedName{Namespace: namespace, Name: FingerprintKeySecret}
	for range 2 {
		var s corev1.Secret
		err := c.Get(ctx, key, &s)
		if err == nil && len(s.Data["key"]) >= 32 {
			return s.Data["key"], nil
		}
		if err != nil && !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("reading the fingerprint key %s: %w", key, err)
		}
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		s = corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: FingerprintKeySecret,
			Labels: map[string]string{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue}},
			Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"key": b}}
		err = c.Create(ctx, &s)
		if err == nil {
			return b, nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("creating the fingerprint key %s: %w", key, err)
		}
		// Another manager created it meanwhile: read that one.
	}
	return nil, fmt.Errorf("the fingerprint key %s holds no key", key)
}
