package enrollment

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/kube"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/lifecycle"
)

// maxDeviceNameLength is what the CRD allows for friendlyDeviceName.
const maxDeviceNameLength = 128

// readInputs resolves the spec's references, straight from the API server.
// pool is the ClusterUserPool spec.userPoolRef names, nil when it names
// none or the pool does not exist. The inputs' hash identifies the
// generation, the rotate request and the contents (never the metadata) of
// the referenced Secrets: the operator's own writes (a finalizer on the
// credentials, its own Secret) never change it.
func (r *Reconciler) readInputs(ctx context.Context, ste *v1alpha1.SoftwareTokenEnrollment, pool *v1alpha1.ClusterUserPool) (in lifecycle.Inputs, creds secretInputs) {
	spec := &ste.Spec
	in = lifecycle.Inputs{DeviceName: spec.FriendlyDeviceName, Issuer: spec.Issuer, AccessToken: spec.AccessTokenSecretRef != nil}
	if in.DeviceName == "" {
		in.DeviceName = truncate(ste.Namespace+"/"+ste.Name, maxDeviceNameLength)
	}
	sum := hmac.New(sha256.New, r.FingerprintKey)
	fmt.Fprintf(sum, "%d\x00%s\x00", ste.Generation, ste.Annotations[v1alpha1.AnnotationRotate])
	defer func() { in.Hash = hex.EncodeToString(sum.Sum(nil)[:8]) }()

	if ref := spec.UserPoolRef; ref != nil && pool == nil {
		in.Err = lifecycle.Wait(v1alpha1.ReasonUserPoolNotFound, fmt.Sprintf("waiting for ClusterUserPool %q", ref.Name))
		return in, creds
	}
	in.Pool = lifecycle.SettingsOf(ste, pool, r.ClaimNamespace)
	if pool != nil {
		// The pool's settings are inputs the enrollment's generation does not cover.
		fmt.Fprintf(sum, "%s\x00%s\x00%s\x00%s\x00", in.Pool.ID, in.Pool.Region, in.Pool.ClientID, in.Pool.ClientSecretKey())
	}
	if in.Issuer == "" {
		in.Issuer = in.Pool.ID
	}
	creds.appClient = cognito.AppClient{ID: in.Pool.ClientID}
	in.Region = v1alpha1.RegionOf(in.Pool.ID, in.Pool.Region, r.Cognito.DefaultRegion())
	switch {
	case pool != nil:
		if msg := lifecycle.UserPoolProblem(pool, r.Cognito.DefaultRegion()); msg != "" {
			in.Err = poolNotReady(pool, msg)
			return in, creds
		}
	case in.Region == "":
		in.Err = stall(v1alpha1.ReasonInvalidSpec, fmt.Sprintf(
			"user pool id %q names no region: set spec.region or the manager's --region", in.Pool.ID))
		return in, creds
	}
	read := func(ns, name, missing, invalid string, keys ...string) (*corev1.Secret, map[string]string, error) {
		s, data, err := kube.ReadSecret(ctx, r.APIReader, ns, name, missing, invalid, keys...)
		if ns != ste.Namespace {
			name = ns + "/" + name
		}
		for _, k := range keys {
			fmt.Fprintf(sum, "%s/%s=%s\x00", name, k, data[k])
		}
		return s, data, err
	}
	keep := func(err error) {
		if err != nil && in.Err == nil {
			in.Err = err
		}
	}
	if ref := spec.CredentialsSecretRef; ref != nil {
		s, data, err := read(ste.Namespace, ref.Name, v1alpha1.ReasonCredentialsSecretNotFound, v1alpha1.ReasonInvalidCredentialsSecret,
			v1alpha1.CredentialsKeyUsername, v1alpha1.CredentialsKeyPassword)
		keep(err)
		creds.credentials, in.Username, creds.password = s, data[v1alpha1.CredentialsKeyUsername], data[v1alpha1.CredentialsKeyPassword]
	}
	if ref := spec.AccessTokenSecretRef; ref != nil {
		// The value is checked before it is hashed or sent: the key may name
		// any Secret of the namespace, and whoever may edit the enrollment
		// must not learn anything of one that holds no access token of this
		// pool, nor have the operator hand it to Cognito.
		s, _, err := kube.ReadSecret(ctx, r.APIReader, ste.Namespace, ref.Name, v1alpha1.ReasonAccessTokenSecretNotFound,
			v1alpha1.ReasonInvalidAccessTokenSecret, ref.Key)
		if err == nil {
			creds.accessToken, err = accessTokenOf(s, ref, in.Pool.ID)
		}
		fmt.Fprintf(sum, "%s/%s=%s\x00", ref.Name, ref.Key, creds.accessToken)
		keep(err)
		creds.accessTokenSecret = s
	}
	if cs := in.Pool.ClientSecret; cs != nil {
		ns := cmp.Or(cs.Namespace, ste.Namespace)
		s, data, err := read(ns, cs.Name, v1alpha1.ReasonClientSecretNotFound, v1alpha1.ReasonInvalidClientSecret, cs.Key)
		if ns == ste.Namespace {
			creds.clientSecretSecret = s // a pool's, in the operator's namespace, goes with no namespace deletion
		}
		if err != nil && pool != nil && asOutcome(err).Reason != v1alpha1.ReasonKubernetesAPIError {
			// The pool's secret is its administrators' to fix: the enrollment waits for the pool.
			err = poolNotReady(pool, asOutcome(err).Message)
		}
		keep(err)
		creds.appClient.Secret = strings.TrimSpace(data[cs.Key])
	}
	return in, creds
}

// accessTokenOf is the access token a Secret's key holds, when it is one
// of the pool's: a JWT whose token_use is access and whose issuer names the
// pool. Anything else is refused without a word of what it holds.
func accessTokenOf(s *corev1.Secret, ref *v1alpha1.SecretKeySelector, pool string) (string, error) {
	token := strings.TrimSpace(string(s.Data[ref.Key]))
	c, err := cognito.TokenClaims(token)
	switch {
	case err != nil || c.TokenUse != "access":
		return "", stall(v1alpha1.ReasonInvalidAccessTokenSecret, fmt.Sprintf(
			"Secret %q key %q does not hold a Cognito access token (a JWT whose token_use is access)", ref.Name, ref.Key))
	case pool != "" && c.PoolID() != pool:
		return "", stall(v1alpha1.ReasonUserPoolMismatch, fmt.Sprintf(
			"the access token in Secret %q was issued by another user pool than the enrollment's %q", ref.Name, pool))
	}
	return token, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
