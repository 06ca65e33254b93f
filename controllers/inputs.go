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
	// versions identifies the generation and referenced Secret versions.
	versions string
}

// Keys of the credentials Secret.
const (
	keyUsername = "username"
	keyPassword = "password"
)

// maxDeviceNameLength is what the CRD allows for friendlyDeviceName.
const maxDeviceNameLength = 128

func (e *enrolment) resolveInputs(ctx context.Context) error {
	spec := &e.ste.Spec
	in := &e.in
	*in = inputs{deviceName: spec.FriendlyDeviceName, issuer: spec.Issuer, appClient: cognito.AppClient{ID: spec.ClientID}}
	if in.deviceName == "" {
		in.deviceName = truncate(e.ste.Namespace+"/"+e.ste.Name, maxDeviceNameLength)
	}
	if in.issuer == "" {
		in.issuer = spec.UserPoolID
	}
	region, err := e.region()
	if err != nil {
		return err
	}
	in.region = region

	versions := []string{fmt.Sprint(e.ste.Generation)}
	read := func(name, missingReason, invalidReason string, keys ...string) (map[string]string, error) {
		data, version, err := e.readSecret(ctx, name, missingReason, invalidReason, keys...)
		versions = append(versions, name+"="+version)
		return data, err
	}
	if ref := spec.CredentialsSecretRef; ref != nil {
		data, err := read(ref.Name, v1alpha1.ReasonCredentialsSecretNotFound, v1alpha1.ReasonInvalidCredentialsSecret, keyUsername, keyPassword)
		if err != nil {
			return err
		}
		in.username, in.password = data[keyUsername], data[keyPassword]
	}
	if ref := spec.AccessTokenSecretRef; ref != nil {
		data, err := read(ref.Name, v1alpha1.ReasonAccessTokenSecretNotFound, v1alpha1.ReasonInvalidAccessTokenSecret, ref.Key)
		if err != nil {
			return err
		}
		in.accessToken = strings.TrimSpace(data[ref.Key])
	}
	if ref := spec.ClientSecretRef; ref != nil {
		data, err := read(ref.Name, v1alpha1.ReasonClientSecretNotFound, v1alpha1.ReasonInvalidClientSecret, ref.Key)
		if err != nil {
			return err
		}
		in.appClient.Secret = strings.TrimSpace(data[ref.Key])
	}
	in.versions = strings.Join(versions, ",")
	e.api = e.r.Cognito.ForRegion(region)
	return nil
}

// region is spec.region, else the region a pool id starts with, else the manager's.
func (e *enrolment) region() (string, error) {
	if r := cognito.RegionOf(e.ste.Spec.UserPoolID, e.ste.Spec.Region, e.r.Cognito.DefaultRegion()); r != "" {
		return r, nil
	}
	return "", stall(v1alpha1.ReasonInvalidSpec, fmt.Sprintf(
		"user pool id %q names no region: set spec.region or the manager's --region", e.ste.Spec.UserPoolID))
}

// readSecret reads the named keys of a Secret in the enrollment's namespace,
// straight from the API server. It returns the Secret's version for the
// inputs fingerprint, so a stall is retried once the Secret changes.
func (e *enrolment) readSecret(ctx context.Context, name, missingReason, invalidReason string, keys ...string) (map[string]string, string, error) {
	var s corev1.Secret
	err := e.r.APIReader.Get(ctx, types.NamespacedName{Namespace: e.ste.Namespace, Name: name}, &s)
	if apierrors.IsNotFound(err) {
		return nil, "absent", wait(missingReason, fmt.Sprintf("waiting for Secret %q in namespace %q", name, e.ste.Namespace))
	}
	if err != nil {
		return nil, "", retry(v1alpha1.ReasonKubernetesAPIError, fmt.Sprintf("reading Secret %q: %v", name, err))
	}
	version := string(s.UID) + "/" + s.ResourceVersion
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		v := strings.TrimRight(string(s.Data[k]), "\r\n")
		if v == "" {
			return nil, version, stall(invalidReason, fmt.Sprintf("Secret %q has no value for key %q", name, k))
		}
		out[k] = v
	}
	return out, version, nil
}

// unchangedSinceStall refuses to call Cognito again for the inputs that
// already ended in a terminal failure.
func (e *enrolment) unchangedSinceStall() error {
	st := &e.ste.Status
	stalled := findCondition(st.Conditions, v1alpha1.ConditionStalled)
	if stalled == nil || stalled.Status != "True" || st.ObservedGeneration != e.ste.Generation ||
		st.InputsFingerprint != e.fingerprint() {
		return nil
	}
	return stall(stalled.Reason, stalled.Message)
}

// fingerprint identifies what a reconcile acted on: the spec generation and
// the versions of the referenced Secrets and of the enrollment's own Secret
// (as this reconcile leaves it, so that its own writes do not count as news).
func (e *enrolment) fingerprint() string {
	target := "absent"
	if e.target != nil {
		target = string(e.target.UID) + "/" + e.target.ResourceVersion
	}
	sum := sha256.Sum256([]byte(e.in.versions + ",target=" + target))
	return hex.EncodeToString(sum[:8])
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
