package kube

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/lifecycle"
)

// ReadSecret reads the named keys of a Secret, straight from the API
// server. A missing Secret is a wait (it is watched), a missing key a stall.
func ReadSecret(ctx context.Context, reader client.Reader, ns, name, missingReason, invalidReason string, keys ...string) (*corev1.Secret, map[string]string, error) {
	var s corev1.Secret
	err := reader.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &s)
	if apierrors.IsNotFound(err) {
		return nil, nil, lifecycle.Wait(missingReason, fmt.Sprintf("waiting for Secret %q in namespace %q", name, ns))
	}
	if err != nil {
		return nil, nil, lifecycle.Retry(v1alpha1.ReasonKubernetesAPIError, fmt.Sprintf("reading Secret %q: %v", name, err))
	}
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		v := strings.TrimRight(string(s.Data[k]), "\r\n")
		if v == "" {
			return &s, out, lifecycle.Stall(invalidReason, fmt.Sprintf("Secret %q has no value for key %q", name, k))
		}
		out[k] = v
	}
	return &s, out, nil
}
