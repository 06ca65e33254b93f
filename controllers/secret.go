package controllers

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/totp"
)

// Keys of the enrollment's Secret.
const (
	// keySecret is the verified TOTP seed: consumers read only this.
	keySecret = "secret"
	// keyPending is a seed stored before Cognito verifies it, so that a crash
	// can never leave a verified token whose seed was not kept.
	keyPending = "pending-secret"
	keyURL     = "otpauth-url"
)

// Labels and annotations on the enrollment's Secret.
const (
	LabelManagedBy  = "app.kubernetes.io/managed-by"
	ManagedByValue  = "cognito-mfa-operator"
	LabelEnrollment = "mfa.cognito-operator.dev/enrollment"

	AnnotationEnrolledGeneration = "mfa.cognito-operator.dev/enrolled-generation"
	AnnotationEnrolledAt         = "mfa.cognito-operator.dev/enrolled-at"
	AnnotationFingerprint        = "mfa.cognito-operator.dev/secret-fingerprint"
	AnnotationRotateHandled      = "mfa.cognito-operator.dev/rotate-handled"
)

func targetSecretName(ste *v1alpha1.SoftwareTokenEnrollment) string {
	return v1alpha1.SecretNameOf(ste)
}

// loadTargetSecret reads the enrollment's Secret, refusing one it does not own.
func (e *enrolment) loadTargetSecret(ctx context.Context) error {
	if e.targetLoaded {
		return nil
	}
	name := targetSecretName(e.ste)
	var s corev1.Secret
	err := e.r.APIReader.Get(ctx, types.NamespacedName{Namespace: e.ste.Namespace, Name: name}, &s)
	switch {
	case apierrors.IsNotFound(err):
		e.target, e.targetLoaded = nil, true
		return nil
	case err != nil:
		return retry(v1alpha1.ReasonKubernetesAPIError, fmt.Sprintf("reading Secret %q: %v", name, err))
	}
	if !metav1.IsControlledBy(&s, e.ste) {
		return stall(v1alpha1.ReasonSecretConflict, fmt.Sprintf(
			"Secret %q exists and is not owned by this SoftwareTokenEnrollment: it is left untouched; delete it or choose another spec.secretName", name))
	}
	e.target, e.targetLoaded = &s, true
	return nil
}

// secretAnnotation is an annotation of the enrollment's Secret, or "".
func (e *enrolment) secretAnnotation(key string) string {
	if e.target == nil {
		return ""
	}
	return e.target.Annotations[key]
}

// stored is a key of the enrollment's Secret, or "".
func (e *enrolment) stored(key string) string {
	if e.target == nil {
		return ""
	}
	return string(e.target.Data[key])
}

// stagePending stores a newly associated seed before Cognito verifies it.
func (e *enrolment) stagePending(ctx context.Context) error {
	secret := e.association
	return e.writeSecret(ctx, func(s *corev1.Secret) {
		s.Data[keyPending] = []byte(secret)
	})
}

// promote makes the proven seed the one consumers read, in one write, and
// records on the Secret that this generation's enrolment is complete: the
// Secret, read fresh from the API server, is the durable record of success.
func (e *enrolment) promote(ctx context.Context) error {
	secret := e.candidate
	username := e.in.username
	if username == "" {
		username = e.stored(keyUsername)
	}
	enrolledAt := e.secretAnnotation(AnnotationEnrolledAt)
	if e.verified || enrolledAt == "" || e.stored(keySecret) != secret {
		enrolledAt = e.r.Now().UTC().Format(time.RFC3339)
	}
	return e.writeSecret(ctx, func(s *corev1.Secret) {
		s.Data[keySecret] = []byte(secret)
		s.Data[keyURL] = []byte(totp.URL(e.in.issuer, username, secret))
		delete(s.Data, keyPending)
		s.Annotations[AnnotationEnrolledGeneration] = strconv.FormatInt(e.ste.Generation, 10)
		s.Annotations[AnnotationEnrolledAt] = enrolledAt
		s.Annotations[AnnotationFingerprint] = totp.Fingerprint(secret)
		if v := e.ste.Annotations[v1alpha1.AnnotationRotate]; v != "" {
			s.Annotations[AnnotationRotateHandled] = v
		}
	})
}

// writeSecret applies change to the enrollment's Secret, creating it if
// needed, and writes only when something differs.
func (e *enrolment) writeSecret(ctx context.Context, change func(*corev1.Secret)) error {
	desired := e.target.DeepCopy()
	if desired == nil {
		desired = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: e.ste.Namespace, Name: targetSecretName(e.ste)},
			Type: corev1.SecretTypeOpaque}
	}
	if desired.Data == nil {
		desired.Data = map[string][]byte{}
	}
	if desired.Annotations == nil {
		desired.Annotations = map[string]string{}
	}
	change(desired)
	if e.in.username != "" {
		desired.Data[keyUsername] = []byte(e.in.username)
	}
	applyTemplate(desired, e.ste)
	if err := controllerutil.SetControllerReference(e.ste, desired, e.r.Scheme()); err != nil {
		return err
	}
	if e.target != nil && secretEqual(e.target, desired) {
		return nil
	}
	var err error
	if e.target == nil {
		err = e.r.Create(ctx, desired)
	} else {
		err = e.r.Update(ctx, desired)
	}
	if err != nil {
		return retry(v1alpha1.ReasonKubernetesAPIError, fmt.Sprintf("writing Secret %q: %v", desired.Name, err))
	}
	e.target = desired
	return nil
}

// applyTemplate sets the operator's labels and the spec's secretTemplate,
// leaving other metadata alone.
func applyTemplate(s *corev1.Secret, ste *v1alpha1.SoftwareTokenEnrollment) {
	labels := map[string]string{}
	annotations := map[string]string{}
	if t := ste.Spec.SecretTemplate; t != nil {
		maps.Copy(labels, t.Labels)
		maps.Copy(annotations, t.Annotations)
	}
	labels[LabelManagedBy] = ManagedByValue
	labels[LabelEnrollment] = ste.Name
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	maps.Copy(s.Labels, labels)
	maps.Copy(s.Annotations, annotations)
}

func secretEqual(a, b *corev1.Secret) bool {
	return maps.Equal(a.Labels, b.Labels) && maps.Equal(a.Annotations, b.Annotations) && len(a.Annotations) == len(b.Annotations) &&
		maps.EqualFunc(a.Data, b.Data, func(x, y []byte) bool { return string(x) == string(y) }) &&
		len(a.OwnerReferences) == len(b.OwnerReferences)
}

// stillEnrolled is the fast path: the Secret records that this generation
// was enrolled and still holds that seed. Then nothing is asked of Cognito;
// at most the Secret's metadata is repaired. The Secret is read fresh, so a
// stale cached status cannot cause a second enrolment.
func (e *enrolment) stillEnrolled(ctx context.Context) (bool, error) {
	if err := e.loadTargetSecret(ctx); err != nil || e.target == nil {
		return false, err
	}
	a := e.target.Annotations
	secret := e.stored(keySecret)
	if secret == "" || e.stored(keyPending) != "" || a[AnnotationFingerprint] != totp.Fingerprint(secret) ||
		a[AnnotationEnrolledGeneration] != strconv.FormatInt(e.ste.Generation, 10) || e.rotationDue() {
		return false, nil
	}
	e.prove(secret)
	e.upToDate = true
	return true, e.writeSecret(ctx, func(*corev1.Secret) {})
}

// enrolledAt is when the stored seed was verified, as the Secret records it.
func (e *enrolment) enrolledAt() *metav1.Time {
	t, err := time.Parse(time.RFC3339, e.secretAnnotation(AnnotationEnrolledAt))
	if err != nil {
		return nil
	}
	mt := metav1.NewTime(t)
	return &mt
}
