package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
)

// inputs is everything the spec and its referenced Secrets resolve to.
type inputs struct {
	region      string
	appClient   cognito.AppClient
	username    string
	password    string
	accessToken string
	deviceName  string
	issuer      string
	// credentials is the credentials Secret as read, for its finalizer.
	credentials *corev1.Secret
	// hash identifies the generation, the rotate request and the contents
	// (never the metadata) of the referenced Secrets: a change of any of
	// them is news that ends a backoff or a stall. The operator's own writes
	// (a finalizer on the credentials, its own Secret) never change it.
	hash string
	// err is why the inputs are incomplete: a wait or a stall.
	err error
}

// maxDeviceNameLength is what the CRD allows for friendlyDeviceName.
const maxDeviceNameLength = 128

// readInputs resolves the spec's references, straight from the API server.
func (r *Reconciler) readInputs(ctx context.Context, ste *v1alpha1.SoftwareTokenEnrollment) (in inputs) {
	spec := &ste.Spec
	in = inputs{deviceName: spec.FriendlyDeviceName, issuer: spec.Issuer, appClient: cognito.AppClient{ID: spec.ClientID}}
	if in.deviceName == "" {
		in.deviceName = truncate(ste.Namespace+"/"+ste.Name, maxDeviceNameLength)
	}
	if in.issuer == "" {
		in.issuer = spec.UserPoolID
	}
	sum := sha256.New()
	fmt.Fprintf(sum, "%d\x00%s\x00", ste.Generation, ste.Annotations[v1alpha1.AnnotationRotate])
	defer func() { in.hash = hex.EncodeToString(sum.Sum(nil)[:8]) }()

	in.region = cognito.RegionOf(spec.UserPoolID, spec.Region, r.Cognito.DefaultRegion())
	if in.region == "" {
		in.err = stall(v1alpha1.ReasonInvalidSpec, fmt.Sprintf(
			"user pool id %q names no region: set spec.region or the manager's --region", spec.UserPoolID))
		return in
	}
	read := func(name, missing, invalid string, keys ...string) (*corev1.Secret, map[string]string) {
		s, data, err := r.readSecret(ctx, ste.Namespace, name, missing, invalid, keys...)
		for _, k := range keys {
			fmt.Fprintf(sum, "%s/%s=%s\x00", name, k, data[k])
		}
		if err != nil && in.err == nil {
			in.err = err
		}
		return s, data
	}
	if ref := spec.CredentialsSecretRef; ref != nil {
		s, data := read(ref.Name, v1alpha1.ReasonCredentialsSecretNotFound, v1alpha1.ReasonInvalidCredentialsSecret,
			v1alpha1.CredentialsKeyUsername, v1alpha1.CredentialsKeyPassword)
		in.credentials, in.username, in.password = s, data[v1alpha1.CredentialsKeyUsername], data[v1alpha1.CredentialsKeyPassword]
	}
	if ref := spec.AccessTokenSecretRef; ref != nil {
		_, data := read(ref.Name, v1alpha1.ReasonAccessTokenSecretNotFound, v1alpha1.ReasonInvalidAccessTokenSecret, ref.Key)
		in.accessToken = strings.TrimSpace(data[ref.Key])
	}
	if ref := spec.ClientSecretRef; ref != nil {
		_, data := read(ref.Name, v1alpha1.ReasonClientSecretNotFound, v1alpha1.ReasonInvalidClientSecret, ref.Key)
		in.appClient.Secret = strings.TrimSpace(data[ref.Key])
	}
	return in
}

// readSecret reads the named keys of a Secret, straight from the API server.
func (r *Reconciler) readSecret(ctx context.Context, ns, name, missingReason, invalidReason string, keys ...string) (*corev1.Secret, map[string]string, error) {
	var s corev1.Secret
	err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &s)
	if apierrors.IsNotFound(err) {
		return nil, nil, wait(missingReason, fmt.Sprintf("waiting for Secret %q in namespace %q", name, ns))
	}
	if err != nil {
		return nil, nil, retry(v1alpha1.ReasonKubernetesAPIError, fmt.Sprintf("reading Secret %q: %v", name, err))
	}
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		v := strings.TrimRight(string(s.Data[k]), "\r\n")
		if v == "" {
			return &s, out, stall(invalidReason, fmt.Sprintf("Secret %q has no value for key %q", name, k))
		}
		out[k] = v
	}
	return &s, out, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
