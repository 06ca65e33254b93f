package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/lifecycle"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/totp"
)

// SeedStore keeps, in the operator's namespace, the seeds that cannot stay
// where they were: a namespace being deleted, or a Disable that turned TOTP
// off while Cognito keeps the registration. One Secret per (namespace UID,
// enrollment name), named by lifecycle.StoreName. Stored Secrets carry no
// ownerReference: a namespaced owner in another namespace counts as absent,
// and the garbage collector would delete them.
type SeedStore struct {
	Client    client.Client
	Reader    client.Reader
	Namespace string
}

// seedKeys are the data keys a stored seed keeps.
var seedKeys = []string{v1alpha1.KeySecret, v1alpha1.KeyPendingSecret, v1alpha1.KeyOTPAuthURL, v1alpha1.KeyUsername}

// Get reads a stored seed; nil when there is none.
func (s SeedStore) Get(ctx context.Context, name string) (*corev1.Secret, error) {
	var sec corev1.Secret
	err := s.Reader.Get(ctx, types.NamespacedName{Namespace: s.Namespace, Name: name}, &sec)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, lifecycle.Retry(v1alpha1.ReasonKubernetesAPIError, fmt.Sprintf("reading the seed store: %v", err))
	}
	return &sec, nil
}

// Put keeps the seeds of from (a Secret of an enrollment's) in the store,
// marked state, and returns the stored Secret. It is idempotent: a seed
// already stored is rewritten with the same content, and a Dormant mark is
// not lowered to Retained for the same seed (Retained says less: the
// seed may still be asked for; Dormant says a sign-in confirmed it is not).
func (s SeedStore) Put(ctx context.Context, from *corev1.Secret, origin lifecycle.Origin, state lifecycle.SeedState, now time.Time) (*corev1.Secret, error) {
	name := lifecycle.StoreName(origin.NamespaceUID, origin.Enrollment)
	rec, _ := lifecycle.ReadRecord(from.Annotations)
	rec.RetainedFrom, rec.RestoredFrom, rec.Protected = "", "", nil
	originJSON, err := json.Marshal(origin)
	if err != nil {
		return nil, err
	}
	desired := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: name,
		Labels: map[string]string{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue, v1alpha1.LabelSeedState: string(state),
			v1alpha1.LabelOriginNamespaceUID: origin.NamespaceUID},
		Annotations: map[string]string{v1alpha1.AnnotationRecord: rec.Encode(), v1alpha1.AnnotationOrigin: string(originJSON),
			v1alpha1.AnnotationStoredAt: now.UTC().Format(time.RFC3339)}},
		Type: corev1.SecretTypeOpaque, Data: map[string][]byte{}}
	for _, k := range seedKeys {
		if v, ok := from.Data[k]; ok {
			desired.Data[k] = v
		}
	}
	current, err := s.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	if current == nil {
		if err := s.Client.Create(ctx, desired); err != nil {
			return nil, storeError("keeping the seed in the seed store", err)
		}
		return desired, nil
	}
	if state == lifecycle.SeedRetained && current.Labels[v1alpha1.LabelSeedState] == string(lifecycle.SeedDormant) &&
		string(current.Data[v1alpha1.KeySecret]) == string(desired.Data[v1alpha1.KeySecret]) {
		desired.Labels[v1alpha1.LabelSeedState] = string(lifecycle.SeedDormant)
	}
	if current.Labels[v1alpha1.LabelSeedState] == desired.Labels[v1alpha1.LabelSeedState] && current.Annotations[v1alpha1.AnnotationStoredAt] != "" {
		desired.Annotations[v1alpha1.AnnotationStoredAt] = current.Annotations[v1alpha1.AnnotationStoredAt]
	}
	next := current.DeepCopy()
	if next.Labels == nil {
		next.Labels = map[string]string{}
	}
	maps.Copy(next.Labels, desired.Labels)
	if next.Annotations == nil {
		next.Annotations = map[string]string{}
	}
	maps.Copy(next.Annotations, desired.Annotations)
	next.Data = desired.Data
	if err := s.Client.Update(ctx, next); err != nil {
		return nil, storeError("updating the seed store", err)
	}
	return next, nil
}

// Delete removes a stored seed (gone already is fine).
func (s SeedStore) Delete(ctx context.Context, stored *corev1.Secret) error {
	err := s.Client.Delete(ctx, stored, client.Preconditions{UID: &stored.UID})
	if err != nil && !apierrors.IsNotFound(err) {
		return storeError("deleting a stored seed", err)
	}
	return nil
}

func storeError(what string, err error) error {
	if apierrors.IsNotFound(err) {
		return lifecycle.Retry(v1alpha1.ReasonKubernetesAPIError, fmt.Sprintf(
			"%s: the operator's namespace does not exist (--cluster-resource-namespace)", what))
	}
	return lifecycle.Retry(v1alpha1.ReasonKubernetesAPIError, fmt.Sprintf("%s: %v", what, err))
}

// StoredSeedOf is what the pure observation knows of a stored seed.
func StoredSeedOf(s *corev1.Secret) *lifecycle.StoredSeed {
	rec, _ := lifecycle.ReadRecord(s.Annotations)
	return &lifecycle.StoredSeed{Name: s.Name, State: lifecycle.SeedState(s.Labels[v1alpha1.LabelSeedState]), Record: rec,
		Active: fingerprintOf(s, v1alpha1.KeySecret), Pending: fingerprintOf(s, v1alpha1.KeyPendingSecret)}
}

// OriginOf is the origin a stored seed records.
func OriginOf(s *corev1.Secret) lifecycle.Origin {
	var o lifecycle.Origin
	_ = json.Unmarshal([]byte(s.Annotations[v1alpha1.AnnotationOrigin]), &o)
	return o
}

// SeedOf is a key of a Secret when it holds a usable base32 seed.
func SeedOf(s *corev1.Secret, key string) string {
	v := string(s.Data[key])
	if v == "" || totp.CheckSecret(v) != nil {
		return ""
	}
	return v
}

func fingerprintOf(s *corev1.Secret, key string) string {
	if v := SeedOf(s, key); v != "" {
		return totp.Fingerprint(v)
	}
	return ""
}

// RestoredSecret is the Secret a stored seed is written back as, for the
// enrollment name in namespace: retained for it (so that it is adopted only
// once Cognito proves the seed there), marked as restored from the store
// (so that the stored copy is deleted only after that proof), and carrying
// FinalizerSeed.
func RestoredSecret(stored *corev1.Secret, namespace, secretName, enrollment string) *corev1.Secret {
	rec, _ := lifecycle.ReadRecord(stored.Annotations)
	rec.RetainedFrom, rec.RestoredFrom, rec.Protected = namespace+"/"+enrollment, stored.Name, nil
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: secretName,
		Labels:      map[string]string{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue, v1alpha1.LabelEnrollment: v1alpha1.EnrollmentLabelValue(enrollment)},
		Annotations: map[string]string{v1alpha1.AnnotationRecord: rec.Encode()},
		Finalizers:  []string{v1alpha1.FinalizerSeed}},
		Type: corev1.SecretTypeOpaque, Data: maps.Clone(stored.Data)}
}
