package enrollment

import (
	"context"
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/lifecycle"
)

// writeSecret applies change to the enrollment's Secret and its record,
// creating it if needed (or adopting a retained one), and writes only when
// something differs. The seeds and the record go in one update, so they
// never disagree; a Secret written by an earlier release has its
// annotations migrated to the record by the same write. The operator's
// metadata always wins over secretTemplate.
func (x *run) writeSecret(ctx context.Context, change func(*corev1.Secret, *lifecycle.Record)) error {
	ste := x.o.Enrollment
	current := x.o.target
	desired := current.DeepCopy()
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
	rec.RetainedFrom = "" // adopted, if it was retained
	for _, k := range lifecycle.LegacyAnnotations {
		delete(desired.Annotations, k)
	}
	desired.Annotations[v1alpha1.AnnotationRecord] = rec.Encode()
	if x.o.In.Username != "" {
		desired.Data[v1alpha1.KeyUsername] = []byte(x.o.In.Username)
	}
	applyTemplate(desired, ste)
	if ste.Spec.DeletionPolicy == v1alpha1.DeletionPolicyDisable {
		controllerutil.AddFinalizer(desired, v1alpha1.FinalizerProtect)
	} else {
		controllerutil.RemoveFinalizer(desired, v1alpha1.FinalizerProtect)
	}
	if err := controllerutil.SetControllerReference(ste, desired, x.r.Scheme()); err != nil {
		return err
	}
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
	s.Labels[v1alpha1.LabelEnrollment] = ste.Name
}

func secretEqual(a, b *corev1.Secret) bool {
	return maps.Equal(a.Labels, b.Labels) && maps.Equal(a.Annotations, b.Annotations) &&
		maps.EqualFunc(a.Data, b.Data, func(x, y []byte) bool { return string(x) == string(y) }) &&
		len(a.OwnerReferences) == len(b.OwnerReferences) && slices.Equal(a.Finalizers, b.Finalizers)
}

// protectCredentials keeps the credentials Secret from a namespace
// deletion while deletionPolicy Disable needs it, and lets it go otherwise.
// x is the reconcile that writes it, nil during a deletion (whose echo may
// come back: the enrollment is going away).
func (r *Reconciler) protectCredentials(ctx context.Context, x *run, creds *corev1.Secret, protect bool) error {
	if creds == nil || controllerutil.ContainsFinalizer(creds, v1alpha1.FinalizerProtect) == protect {
		return nil
	}
	if protect && !creds.DeletionTimestamp.IsZero() {
		return nil // the API server refuses new finalizers on an object being deleted
	}
	s := creds.DeepCopy()
	if protect {
		controllerutil.AddFinalizer(s, v1alpha1.FinalizerProtect)
	} else {
		controllerutil.RemoveFinalizer(s, v1alpha1.FinalizerProtect)
	}
	update := func() error { return r.Update(ctx, s) }
	if x != nil {
		update = func() error { return r.writeOwn(x, s, func() error { return r.Update(ctx, s) }) }
	}
	if err := update(); err != nil {
		return kubeError(fmt.Sprintf("updating the finalizers of Secret %q", s.Name), err)
	}
	return nil
}
