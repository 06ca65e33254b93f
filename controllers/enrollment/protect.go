package enrollment

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/lifecycle"
)

// inputSecrets are the input Secrets of the enrollment's namespace that
// were read: credentials, access token, client secret.
func (o *observation) inputSecrets() []*corev1.Secret {
	var out []*corev1.Secret
	for _, s := range []*corev1.Secret{o.creds.credentials, o.creds.accessTokenSecret, o.creds.clientSecretSecret} {
		if s != nil && !slices.ContainsFunc(out, func(t *corev1.Secret) bool { return t.Name == s.Name }) {
			out = append(out, s)
		}
	}
	return out
}

// protectInputs keeps every input Secret that deletionPolicy Disable needs
// from a namespace deletion while there is a seed to disable, and lets go
// of every other one: each carries the enrollment's own label, and keeps
// FinalizerProtect while any enrollment's label is on it (enrollments may
// share credentials). The Secrets protected are recorded, so that one the
// spec no longer names is let go too. Every path that succeeds ends here.
func (x *run) protectInputs(ctx context.Context) error {
	o := x.o
	if o.target == nil || o.Ownership != lifecycle.OwnOwned {
		return nil // no seed of this enrollment's: nothing to disable
	}
	want := o.Enrollment.Spec.DeletionPolicy == v1alpha1.DeletionPolicyDisable
	var names []string
	for _, s := range o.inputSecrets() {
		if err := x.r.setProtection(ctx, x, o.Enrollment, s, want); err != nil {
			return err
		}
		if want {
			names = append(names, s.Name)
		}
	}
	slices.Sort(names)
	if err := x.r.unprotectFormer(ctx, x, o, names); err != nil {
		return err
	}
	if slices.Equal(readRecordOf(o.target).Protected, names) {
		return nil
	}
	return x.writeSecret(ctx, func(_ *corev1.Secret, rec *lifecycle.Record) { rec.Protected = names })
}

// unprotectFormer lets go of the Secrets the record says are protected and
// that are not among keep.
func (r *Reconciler) unprotectFormer(ctx context.Context, x *run, o *observation, keep []string) error {
	for _, name := range readRecordOf(o.target).Protected {
		if slices.Contains(keep, name) || slices.ContainsFunc(o.inputSecrets(), func(s *corev1.Secret) bool { return s.Name == name }) {
			continue
		}
		var s corev1.Secret
		err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: o.Enrollment.Namespace, Name: name}, &s)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return retry(v1alpha1.ReasonKubernetesAPIError, fmt.Sprintf("reading Secret %q: %v", name, err))
		}
		if err := r.setProtection(ctx, x, o.Enrollment, &s, false); err != nil {
			return err
		}
	}
	return nil
}

// unprotectAll lets go of every Secret the enrollment protects, once its
// deletion policy is carried out.
func (r *Reconciler) unprotectAll(ctx context.Context, o *observation) error {
	for _, s := range o.inputSecrets() {
		if err := r.setProtection(ctx, nil, o.Enrollment, s, false); err != nil {
			return err
		}
	}
	return r.unprotectFormer(ctx, nil, o, nil)
}

// setProtection puts the enrollment's protect label on s, with
// FinalizerProtect, or takes its label off and the finalizer with it when no
// other enrollment's label is left (a finalizer with no label, from an
// earlier release, goes too). x is the reconcile that writes it, nil during
// a deletion.
func (r *Reconciler) setProtection(ctx context.Context, x *run, ste *v1alpha1.SoftwareTokenEnrollment, s *corev1.Secret, on bool) error {
	label := v1alpha1.LabelProtectPrefix + string(ste.UID)
	next := s.DeepCopy()
	if next.Labels == nil {
		next.Labels = map[string]string{}
	}
	if on {
		if !s.DeletionTimestamp.IsZero() {
			return nil // the API server refuses new finalizers on an object being deleted
		}
		next.Labels[label] = "true"
		controllerutil.AddFinalizer(next, v1alpha1.FinalizerProtect)
	} else {
		delete(next.Labels, label)
		if !slices.ContainsFunc(slices.Collect(maps.Keys(next.Labels)), func(k string) bool {
			return strings.HasPrefix(k, v1alpha1.LabelProtectPrefix)
		}) {
			controllerutil.RemoveFinalizer(next, v1alpha1.FinalizerProtect)
		}
	}
	if maps.Equal(next.Labels, s.Labels) && slices.Equal(next.Finalizers, s.Finalizers) {
		return nil // maps.Equal counts a nil map equal to an empty one
	}
	update := func() error { return r.Update(ctx, next) }
	if x != nil {
		update = func() error { return r.writeOwn(x, next, func() error { return r.Update(ctx, next) }) }
	}
	if err := update(); err != nil && !apierrors.IsNotFound(err) {
		return kubeError(fmt.Sprintf("updating the protection of Secret %q", s.Name), err)
	}
	return nil
}
