package controllers

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
)

// inputs is everything the spec and its referenced Secrets resolve to.
type inputs struct {
	// pool is where the enrollment signs in, inline or from its
	// ClusterUserPool; region and appClient are resolved from it.
	pool        poolSettings
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
// pool is the ClusterUserPool spec.userPoolRef names, nil when it names
// none or the pool does not exist.
func (r *Reconciler) readInputs(ctx context.Context, ste *v1alpha1.SoftwareTokenEnrollment, pool *v1alpha1.ClusterUserPool) (in inputs) {
	spec := &ste.Spec
	in = inputs{deviceName: spec.FriendlyDeviceName, issuer: spec.Issuer}
	if in.deviceName == "" {
		in.deviceName = truncate(ste.Namespace+"/"+ste.Name, maxDeviceNameLength)
	}
	sum := sha256.New()
	fmt.Fprintf(sum, "%d\x00%s\x00", ste.Generation, ste.Annotations[v1alpha1.AnnotationRotate])
	defer func() { in.hash = hex.EncodeToString(sum.Sum(nil)[:8]) }()

	if ref := spec.UserPoolRef; ref != nil && pool == nil {
		in.err = wait(v1alpha1.ReasonUserPoolNotFound, fmt.Sprintf("waiting for ClusterUserPool %q", ref.Name))
		return in
	}
	in.pool = settingsOf(ste, pool, r.ClaimNamespace)
	if pool != nil {
		// The pool's settings are inputs the enrollment's generation does not cover.
		fmt.Fprintf(sum, "%s\x00%s\x00%s\x00%s\x00", in.pool.id, in.pool.region, in.pool.clientID, in.pool.clientSecretKey())
	}
	if in.issuer == "" {
		in.issuer = in.pool.id
	}
	in.appClient = cognito.AppClient{ID: in.pool.clientID}
	in.region = cognito.RegionOf(in.pool.id, in.pool.region, r.Cognito.DefaultRegion())
	switch {
	case pool != nil:
		if msg := userPoolProblem(pool, r.Cognito.DefaultRegion()); msg != "" {
			in.err = poolNotReady(pool, msg)
			return in
		}
	case in.region == "":
		in.err = stall(v1alpha1.ReasonInvalidSpec, fmt.Sprintf(
			"user pool id %q names no region: set spec.region or the manager's --region", in.pool.id))
		return in
	}
	read := func(ns, name, missing, invalid string, keys ...string) (*corev1.Secret, map[string]string, error) {
		s, data, err := readSecret(ctx, r.APIReader, ns, name, missing, invalid, keys...)
		if ns != ste.Namespace {
			name = ns + "/" + name
		}
		for _, k := range keys {
			fmt.Fprintf(sum, "%s/%s=%s\x00", name, k, data[k])
		}
		return s, data, err
	}
	keep := func(err error) {
		if err != nil && in.err == nil {
			in.err = err
		}
	}
	if ref := spec.CredentialsSecretRef; ref != nil {
		s, data, err := read(ste.Namespace, ref.Name, v1alpha1.ReasonCredentialsSecretNotFound, v1alpha1.ReasonInvalidCredentialsSecret,
			v1alpha1.CredentialsKeyUsername, v1alpha1.CredentialsKeyPassword)
		keep(err)
		in.credentials, in.username, in.password = s, data[v1alpha1.CredentialsKeyUsername], data[v1alpha1.CredentialsKeyPassword]
	}
	if ref := spec.AccessTokenSecretRef; ref != nil {
		_, data, err := read(ste.Namespace, ref.Name, v1alpha1.ReasonAccessTokenSecretNotFound, v1alpha1.ReasonInvalidAccessTokenSecret, ref.Key)
		keep(err)
		in.accessToken = strings.TrimSpace(data[ref.Key])
	}
	if cs := in.pool.clientSecret; cs != nil {
		ns := cmp.Or(cs.Namespace, ste.Namespace)
		_, data, err := read(ns, cs.Name, v1alpha1.ReasonClientSecretNotFound, v1alpha1.ReasonInvalidClientSecret, cs.Key)
		if err != nil && pool != nil && asOutcome(err).reason != v1alpha1.ReasonKubernetesAPIError {
			// The pool's secret is its administrators' to fix: the enrollment waits for the pool.
			err = poolNotReady(pool, asOutcome(err).message)
		}
		keep(err)
		in.appClient.Secret = strings.TrimSpace(data[cs.Key])
	}
	return in
}

// readSecret reads the named keys of a Secret, straight from the API server.
func readSecret(ctx context.Context, reader client.Reader, ns, name, missingReason, invalidReason string, keys ...string) (*corev1.Secret, map[string]string, error) {
	var s corev1.Secret
	err := reader.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &s)
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
