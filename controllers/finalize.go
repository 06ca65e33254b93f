package controllers

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
)

// finalize carries out the deletion policy, then lets the enrollment go.
// Disable that does not succeed within DeletionTimeout, whatever the error,
// falls back to Retain: keeping the Secret is always safe, deleting it never
// is while the user may still be enrolled. Every failure comes back before
// the timeout, so the fallback is never missed.
func (r *Reconciler) finalize(ctx, reportCtx context.Context, ste *v1alpha1.SoftwareTokenEnrollment) (reconcile.Result, error) {
	o, err := r.observe(ctx, ste)
	if err != nil {
		return r.reportDeletion(reportCtx, ste, err)
	}
	x := r.newRun(o, plan{name: "Delete"})
	owned := o.ownership == ownOwned
	disable := ste.Spec.DeletionPolicy == v1alpha1.DeletionPolicyDisable && owned && (o.secret != "" || o.pending != "")
	if disable && !r.deletionTimedOut(ste) {
		err := x.disable(ctx)
		if err != nil {
			return r.reportDeletion(reportCtx, ste, redacted(err, x.secretValues()...))
		}
		if err := r.deleteSecret(ctx, o.target); err != nil {
			return r.reportDeletion(reportCtx, ste, err)
		}
		r.Recorder.Eventf(ste, nil, corev1.EventTypeNormal, "Disabled", "Delete",
			"Turned software-token MFA off for the user and deleted Secret %q", o.target.Name)
	} else {
		if disable {
			r.Recorder.Eventf(ste, nil, corev1.EventTypeWarning, "DisableAbandoned", "Delete",
				"Could not turn MFA off within %s; keeping Secret %q so the user is not locked out", r.DeletionTimeout, o.target.Name)
		}
		if owned {
			if err := r.releaseSecret(ctx, ste, o.target); err != nil {
				return r.reportDeletion(reportCtx, ste, err)
			}
		}
	}
	if err := r.releaseClaim(ctx, o.rec.identity(), ste); err != nil {
		return r.reportDeletion(reportCtx, ste, err)
	}
	if err := r.protectCredentials(ctx, nil, ste, o.in.credentials, r.credentialsStillNeeded(ctx, ste)); err != nil {
		return r.reportDeletion(reportCtx, ste, err)
	}
	patch := client.MergeFrom(ste.DeepCopy())
	controllerutil.RemoveFinalizer(ste, v1alpha1.FinalizerEnrollment)
	if err := r.Patch(ctx, ste, patch); err != nil && !apierrors.IsNotFound(err) {
		return r.reportDeletion(reportCtx, ste, kubeError("removing the finalizer", err))
	}
	return reconcile.Result{}, nil
}

// disable signs in as for an enrollment and turns software-token MFA off,
// then confirms that Cognito no longer asks the user for a TOTP code: where
// MFA is required, Cognito may answer the request and change nothing.
func (x *run) disable(ctx context.Context) error {
	// Signing in sends the password: the pool's policies hold here too.
	for _, refused := range []policy{inlinePoolRefused, namespaceNotAllowed} {
		if p := refused(x.o); p != nil {
			return p.err
		}
	}
	if x.o.in.err != nil {
		return x.o.in.err
	}
	if err := x.signIn(ctx); err != nil {
		return err
	}
	v := x.view
	switch {
	case v.setup:
		return nil // no factor at all: nothing stored is the user's token
	case x.o.rec.hasIdentity() && !x.o.rec.sameUser(v.id):
		return stall(v1alpha1.ReasonIdentityChanged, "the credentials now sign in as another user; not turning that user's MFA off")
	case v.hasToken && v.proven == "":
		// A rejected code proves nothing under clock skew, nor while an
		// association is pending (VerifySoftwareToken checks that one):
		// keep the seed; after the deletion timeout the Secret is retained.
		return retry(v1alpha1.ReasonVerificationFailed,
			"Cognito did not accept the stored seed (clock skew, or an association pending): not turning MFA off, and keeping the Secret")
	}
	err := x.api.SetSoftwareTokenPreference(ctx, x.accessToken, cognito.Preference{})
	if cognito.HasCode(err, "InvalidParameterException") {
		return stall(v1alpha1.ReasonDisableRejected, fmt.Sprintf(
			"Cognito refuses to turn software-token MFA off (does the user pool require MFA?): %v; the Secret is kept. After --deletion-timeout the operator falls back to Retain; set spec.deletionPolicy: Retain to delete the enrollment now and keep the Secret", err))
	}
	if err != nil {
		return err
	}
	return x.confirmDisabled(ctx)
}

// confirmDisabled asks Cognito whether the user would still be challenged.
func (x *run) confirmDisabled(ctx context.Context) error {
	rejected := stall(v1alpha1.ReasonDisableRejected,
		"Cognito accepted turning software-token MFA off, but still challenges the user for it (the pool requires MFA); the Secret is kept. After --deletion-timeout the operator falls back to Retain; set spec.deletionPolicy: Retain to delete the enrollment now")
	if x.o.in.accessToken == "" {
		in := &x.o.in
		res, err := x.api.InitiateAuth(ctx, cognito.SignIn{Client: in.appClient, Username: in.username, Password: in.password})
		if err != nil {
			return err
		}
		if res.Challenge == cognito.ChallengeSoftwareTokenMFA || res.Challenge == cognito.ChallengeSelectMFAType {
			return rejected
		}
		return nil
	}
	u, err := x.api.GetUser(ctx, x.accessToken)
	if err != nil {
		return err
	}
	if slices.Contains(u.MFASettings, cognito.ChallengeSoftwareTokenMFA) {
		return rejected
	}
	return nil
}

func (r *Reconciler) deletionTimedOut(ste *v1alpha1.SoftwareTokenEnrollment) bool {
	return r.Now().Sub(ste.DeletionTimestamp.Time) >= r.DeletionTimeout
}

// reportDeletion records a failed deletion step and comes back with
// backoff, never later than the deletion timeout.
func (r *Reconciler) reportDeletion(ctx context.Context, ste *v1alpha1.SoftwareTokenEnrollment, err error) (reconcile.Result, error) {
	x := &run{r: r, o: &observation{ste: ste, now: r.Now()}, p: plan{name: "Delete"}}
	res, rerr := r.report(ctx, x, err)
	left := r.DeletionTimeout - r.Now().Sub(ste.DeletionTimestamp.Time)
	if left < time.Second {
		left = time.Second
	}
	if res.RequeueAfter == 0 || res.RequeueAfter > left {
		res.RequeueAfter = left
	}
	return res, rerr
}

// releaseSecret drops the enrollment's ownerReference and protection from
// its Secret, so that garbage collection keeps it, and marks it retained so
// that an enrollment of the same namespace and name adopts it.
func (r *Reconciler) releaseSecret(ctx context.Context, ste *v1alpha1.SoftwareTokenEnrollment, target *corev1.Secret) error {
	if target == nil {
		return nil
	}
	s := target.DeepCopy()
	s.OwnerReferences = slices.DeleteFunc(s.OwnerReferences, func(ref metav1.OwnerReference) bool { return ref.UID == ste.UID })
	controllerutil.RemoveFinalizer(s, v1alpha1.FinalizerProtect)
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[v1alpha1.AnnotationRetainedFrom] = ste.Namespace + "/" + ste.Name
	if err := r.Update(ctx, s); err != nil && !apierrors.IsNotFound(err) {
		return kubeError(fmt.Sprintf("releasing Secret %q", s.Name), err)
	}
	r.Recorder.Eventf(ste, nil, corev1.EventTypeNormal, "Retained", "Delete",
		"Kept Secret %q and the user's MFA enrollment (deletionPolicy Retain)", s.Name)
	return nil
}

func (r *Reconciler) deleteSecret(ctx context.Context, s *corev1.Secret) error {
	if controllerutil.ContainsFinalizer(s, v1alpha1.FinalizerProtect) {
		s = s.DeepCopy()
		controllerutil.RemoveFinalizer(s, v1alpha1.FinalizerProtect)
		if err := r.Update(ctx, s); err != nil && !apierrors.IsNotFound(err) {
			return kubeError(fmt.Sprintf("releasing Secret %q", s.Name), err)
		}
	}
	err := r.Delete(ctx, s, client.Preconditions{UID: &s.UID})
	if err != nil && !apierrors.IsNotFound(err) {
		return kubeError(fmt.Sprintf("deleting Secret %q", s.Name), err)
	}
	return nil
}

// credentialsStillNeeded says another enrollment with deletionPolicy Disable
// reads the same credentials Secret, so its protection stays.
func (r *Reconciler) credentialsStillNeeded(ctx context.Context, ste *v1alpha1.SoftwareTokenEnrollment) bool {
	ref := ste.Spec.CredentialsSecretRef
	if ref == nil {
		return false
	}
	var list v1alpha1.SoftwareTokenEnrollmentList
	if err := r.List(ctx, &list, client.InNamespace(ste.Namespace), client.MatchingFields{secretNamesIndex: ref.Name}); err != nil {
		return true // keep the protection when in doubt
	}
	for _, other := range list.Items {
		if other.UID != ste.UID && other.Spec.DeletionPolicy == v1alpha1.DeletionPolicyDisable &&
			other.Spec.CredentialsSecretRef != nil && other.Spec.CredentialsSecretRef.Name == ref.Name {
			return true
		}
	}
	return false
}
