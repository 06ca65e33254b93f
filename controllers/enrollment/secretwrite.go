package enrollment

import (
	"context"
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/kube"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/lifecycle"
)

// writeSecret applies change to the enrollment's Secret and its record,
// creating it if needed (or adopting a retained one), and writes only when
// something differs. The seeds and the record go in one update, so they
// never disagree; a Secret written by an earlier release has its
// annotations migrated to the record by the same write. The operator's
// metadata always wins over secretTemplate.
func (x *run) writeSecret(ctx context.Context, change func(*corev1.Secret, *lifecycle.Record)) error {
	current, desired := x.desiredSecret(change)
	if current != nil && secretEqual(current, desired) {
		return nil
	}
	err := x.r.writeOwn(x, desired, func() error {
		if current == nil {
			return x.r.Create(ctx, desired)
		}
		return x.r.Update(ctx, desired)
	})
	if err != nil {
		return kubeError(fmt.Sprintf("writing Secret %q", desired.Name), err)
	}
	x.o.target, x.o.Ownership = desired, lifecycle.OwnOwned
	return nil
}

// preflightSecret asks the API server, with a dry run, whether it would
// accept the Secret a first association stores its seed in (its labels,
// annotations, any admission policy): refused after the association, the
// seed would be lost and the next attempt would associate again.
func (x *run) preflightSecret(ctx context.Context) error {
	if x.o.target != nil {
		return nil // an existing Secret was just written (or its record was)
	}
	_, desired := x.desiredSecret(func(s *corev1.Secret, _ *lifecycle.Record) {
		s.Data[v1alpha1.KeyPendingSecret] = []byte(preflightSeed)
	})
	if err := x.r.Create(ctx, desired, client.DryRunAll); err != nil && !apierrors.IsAlreadyExists(err) {
		return kubeError(fmt.Sprintf("the Secret %q a new seed would be stored in", desired.Name), err)
	}
	return nil
}

// preflightSeed stands for a seed in a dry run: as long as Cognito's.
const preflightSeed = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

// desiredSecret is the Secret writeSecret would write: change applied to
// the current one (or a new one) and to its record.
func (x *run) desiredSecret(change func(*corev1.Secret, *lifecycle.Record)) (current, desired *corev1.Secret) {
	ste := x.o.Enrollment
	current = x.o.target
	desired = current.DeepCopy()
	if desired == nil {
		desired = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ste.Namespace, Name: x.o.SecretName},
			Type: corev1.SecretTypeOpaque}
	}
	if desired.Data == nil {
		desired.Data = map[string][]byte{}
	}
	if desired.Annotations == nil {
		desired.Annotations = map[string]string{}
	}
	if desired.Labels == nil {
		desired.Labels = map[string]string{}
	}
	rec := readRecordOf(current)
	change(desired, &rec)
	rec.RetainedFrom, rec.Owner = "", ste.Name // adopted, if it was retained
	for _, k := range lifecycle.LegacyAnnotations {
		delete(desired.Annotations, k)
	}
	desired.Annotations[v1alpha1.AnnotationRecord] = rec.Encode()
	if x.o.In.Username != "" {
		desired.Data[v1alpha1.KeyUsername] = []byte(x.o.In.Username)
	}
	applyTemplate(desired, ste)
	// Ownership is the UID label, never an ownerReference: the garbage
	// collector would delete the seed with the enrollment, before its
	// finalizer ran (foreground deletion) or without it (orphaned, then
	// cascaded). Earlier releases set one; it goes with this write.
	desired.Labels[v1alpha1.LabelEnrollmentUID] = string(ste.UID)
	desired.OwnerReferences = slices.DeleteFunc(desired.OwnerReferences,
		func(ref metav1.OwnerReference) bool { return ref.UID == ste.UID })
	keepSeedFinalizer(desired)
	return current, desired
}

// keepSeedFinalizer puts FinalizerSeed on a Secret exactly while it holds a
// seed, and drops the disable-protection earlier releases put on seed
// Secrets (FinalizerSeed covers every deletion policy).
func keepSeedFinalizer(s *corev1.Secret) {
	controllerutil.RemoveFinalizer(s, v1alpha1.FinalizerProtect)
	if kube.SeedOf(s, v1alpha1.KeySecret) != "" || kube.SeedOf(s, v1alpha1.KeyPendingSecret) != "" {
		controllerutil.AddFinalizer(s, v1alpha1.FinalizerSeed)
	} else {
		controllerutil.RemoveFinalizer(s, v1alpha1.FinalizerSeed)
	}
}

// writeOwn sends one of x's writes to secret, registered with ownWrites so
// that its echo does not reconcile the enrollment again. When someone else
// changed the Secret meanwhile, x comes back right away.
func (r *Reconciler) writeOwn(x *run, secret *corev1.Secret, write func() error) error {
	key := client.ObjectKeyFromObject(secret)
	r.ownWrites.begin(key, client.ObjectKeyFromObject(x.o.Enrollment))
	err := write()
	rv := secret.ResourceVersion
	if err != nil {
		rv = ""
	}
	if r.ownWrites.end(key, rv) {
		x.lookAgain = true
	}
	return err
}

// applyTemplate sets the spec's secretTemplate, then the operator's labels
// on top, leaving other metadata alone.
func applyTemplate(s *corev1.Secret, ste *v1alpha1.SoftwareTokenEnrollment) {
	if t := ste.Spec.SecretTemplate; t != nil {
		for k, v := range t.Labels {
			if !lifecycle.IsOperatorKey(k) {
				s.Labels[k] = v
			}
		}
		for k, v := range t.Annotations {
			if !lifecycle.IsOperatorKey(k) {
				s.Annotations[k] = v
			}
		}
	}
	s.Labels[v1alpha1.LabelManagedBy] = v1alpha1.ManagedByValue
	s.Labels[v1alpha1.LabelEnrollment] = v1alpha1.EnrollmentLabelValue(ste.Name)
}

func secretEqual(a, b *corev1.Secret) bool {
	return maps.Equal(a.Labels, b.Labels) && maps.Equal(a.Annotations, b.Annotations) &&
		maps.EqualFunc(a.Data, b.Data, func(x, y []byte) bool { return string(x) == string(y) }) &&
		len(a.OwnerReferences) == len(b.OwnerReferences) && slices.Equal(a.Finalizers, b.Finalizers)
}
