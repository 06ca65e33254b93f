package enrollment

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
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/lifecycle"
)

// finalize carries out the deletion policy the table chooses, then lets the
// enrollment go. Every failure comes back before the deletion timeout, so
// the fallback to Retain is never missed.
func (r *Reconciler) finalize(ctx, reportCtx context.Context, ste *v1alpha1.SoftwareTokenEnrollment) (reconcile.Result, error) {
	o, err := r.observe(ctx, ste)
	if err != nil {
		return r.reportDeletion(reportCtx, ste, err)
	}
	t := lifecycle.DecideDeletion(&o.Observation)
	r.observed(ctx, t)
	x := r.newRun(o, t)
	switch t.Plan {
	case lifecycle.PlanDisable:
		if err := x.disable(ctx); err != nil {
			return r.reportDeletion(reportCtx, ste, redacted(err, x.secretValues()...))
		}
		if err := r.deleteSecret(ctx, o.target); err != nil {
			return r.reportDeletion(reportCtx, ste, err)
		}
		r.Recorder.Eventf(ste, nil, corev1.EventTypeNormal, "Disabled", "Delete",
			"Turned software-token MFA off for the user and deleted Secret %q", o.target.Name)
	case lifecycle.PlanAbandon, lifecycle.PlanRelease:
		if t.Plan == lifecycle.PlanAbandon {
			r.Recorder.Eventf(ste, nil, corev1.EventTypeWarning, "DisableAbandoned", "Delete",
				"Could not turn MFA off within %s; keeping Secret %q so the user is not locked out", r.DeletionTimeout, o.target.Name)
		}
		if err := r.releaseSecret(ctx, o); err != nil {
			return r.reportDeletion(reportCtx, ste, err)
		}
	case lifecycle.PlanForget:
	default:
		return r.reportDeletion(reportCtx, ste, t.Err)
	}
	if err := r.releaseClaim(ctx, o.Record.Identity, ste); err != nil {
		return r.reportDeletion(reportCtx, ste, err)
	}
	if err := r.protectCredentials(ctx, nil, o.creds.credentials, r.credentialsStillNeeded(ctx, ste)); err != nil {
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
// MFA is required, Cognito may answer the request and change nothing. The
// table decides from what each call showed.
func (x *run) disable(ctx context.Context) error {
	if err := x.signIn(ctx); err != nil {
		return err
	}
	t := lifecycle.AfterDisableSignIn(&x.o.Observation, x.view)
	x.r.observed(ctx, t)
	if t.Err != nil || t.Step == lifecycle.StepDeleteSeed {
		return t.Err
	}
	err := x.api.SetSoftwareTokenPreference(ctx, x.accessToken, cognito.Preference{})
	if cognito.HasCode(err, "InvalidParameterException") {
		return x.disableResult(ctx, lifecycle.DisableRefused, err.Error())
	}
	if err != nil {
		return err
	}
	challenged, err := x.stillChallenged(ctx)
	if err != nil {
		return err
	}
	if challenged {
		return x.disableResult(ctx, lifecycle.StillChallenged, "")
	}
	return x.disableResult(ctx, lifecycle.ConfirmedOff, "")
}

// disableResult is the table's word on what turning TOTP off showed.
func (x *run) disableResult(ctx context.Context, ev lifecycle.Event, detail string) error {
	v := *x.view
	v.Detail = detail
	t := lifecycle.Resolve(&x.o.Observation, lifecycle.Releasing, ev, &v)
	x.r.observed(ctx, t)
	return t.Err
}

// stillChallenged asks Cognito whether the user would still be challenged
// for a TOTP code.
func (x *run) stillChallenged(ctx context.Context) (bool, error) {
	if x.o.creds.accessToken == "" {
		res, err := x.api.InitiateAuth(ctx, x.signInRequest())
		if err != nil {
			return false, err
		}
		return res.Challenge == cognito.ChallengeSoftwareTokenMFA || res.Challenge == cognito.ChallengeSelectMFAType, nil
	}
	u, err := x.api.GetUser(ctx, x.accessToken)
	if err != nil {
		return false, err
	}
	return slices.Contains(u.MFASettings, cognito.ChallengeSoftwareTokenMFA), nil
}

func (r *Reconciler) deletionTimedOut(ste *v1alpha1.SoftwareTokenEnrollment) bool {
	return r.Now().Sub(ste.DeletionTimestamp.Time) >= r.DeletionTimeout
}

// reportDeletion records a failed deletion step and comes back with
// backoff, never later than the deletion timeout.
func (r *Reconciler) reportDeletion(ctx context.Context, ste *v1alpha1.SoftwareTokenEnrollment, err error) (reconcile.Result, error) {
	x := &run{r: r, o: &observation{Observation: lifecycle.Observation{Enrollment: ste, Now: r.Now()}},
		t: lifecycle.Transition{Plan: "Delete"}}
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
// its Secret, so that garbage collection keeps it, and marks it retained in
// its record so that an enrollment of the same namespace and name adopts
// it. A record this release cannot read is left as it is (the Secret is
// then no one's to adopt, which keeps it safe).
func (r *Reconciler) releaseSecret(ctx context.Context, o *observation) error {
	ste, target := o.Enrollment, o.target
	if target == nil {
		return nil
	}
	s := target.DeepCopy()
	s.OwnerReferences = slices.DeleteFunc(s.OwnerReferences, func(ref metav1.OwnerReference) bool { return ref.UID == ste.UID })
	controllerutil.RemoveFinalizer(s, v1alpha1.FinalizerProtect)
	if o.RecordErr == nil {
		rec := o.Record
		rec.RetainedFrom = ste.Namespace + "/" + ste.Name
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		for _, k := range lifecycle.LegacyAnnotations {
			delete(s.Annotations, k)
		}
		s.Annotations[v1alpha1.AnnotationRecord] = rec.Encode()
	}
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
