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
// the fallback to Retain is never missed; a failing Disable backs off like
// any failure, whatever wakes it.
func (r *Reconciler) finalize(ctx, reportCtx context.Context, ste *v1alpha1.SoftwareTokenEnrollment) (reconcile.Result, error) {
	o, err := r.observe(ctx, ste)
	if err != nil {
		return r.reportDeletion(reportCtx, r.failedRun(ste), err)
	}
	o.useStoredSeed()
	t := lifecycle.DecideDeletion(&o.Observation)
	r.observed(ctx, t)
	x := r.newRun(o, t)
	if t.Plan == lifecycle.PlanBackoff {
		return r.reportDeletion(reportCtx, x, nil) // no step; comes back at the retry time, or the timeout
	}
	if err := x.carryOutDeletion(ctx); err != nil {
		return r.reportDeletion(reportCtx, x, redacted(err, x.secretValues()...))
	}
	if err := r.releaseClaim(ctx, o.Record.Identity, ste); err != nil {
		return r.reportDeletion(reportCtx, x, err)
	}
	if err := r.releaseSetupLockOf(ctx, o.In.Region, o.Record.Identity, ste); err != nil {
		return r.reportDeletion(reportCtx, x, err)
	}
	if err := r.unprotectAll(ctx, o); err != nil {
		return r.reportDeletion(reportCtx, x, err)
	}
	patch := client.MergeFrom(ste.DeepCopy())
	controllerutil.RemoveFinalizer(ste, v1alpha1.FinalizerEnrollment)
	if err := r.Patch(ctx, ste, patch); err != nil && !apierrors.IsNotFound(err) {
		return r.reportDeletion(reportCtx, x, kubeError("removing the finalizer", err))
	}
	return reconcile.Result{}, nil
}

// carryOutDeletion takes the deletion plan's steps.
func (x *run) carryOutDeletion(ctx context.Context) error {
	r, o := x.r, x.o
	switch x.plan() {
	case lifecycle.PlanDisable:
		return x.disable(ctx)
	case lifecycle.PlanAbandon, lifecycle.PlanAbandonToStore:
		r.Recorder.Eventf(o.Enrollment, nil, corev1.EventTypeWarning, "DisableAbandoned", "Delete",
			"Could not turn MFA off within %s; keeping the user's seed so the user is not locked out", r.DeletionTimeout)
		if x.plan() == lifecycle.PlanAbandonToStore {
			return x.storeSeed(ctx, lifecycle.SeedRetained)
		}
		return r.releaseSecret(ctx, o)
	case lifecycle.PlanRelease:
		return r.releaseSecret(ctx, o)
	case lifecycle.PlanStoreRetained:
		return x.storeSeed(ctx, lifecycle.SeedRetained)
	case lifecycle.PlanForget:
		return nil
	}
	if x.t.Err == nil { // never lift the finalizer on a plan that did nothing
		return retry(v1alpha1.ReasonInvalidState, fmt.Sprintf("no deletion step for plan %s", x.plan()))
	}
	return x.t.Err // a stall or a wait
}

// disable signs in as for an enrollment and turns software-token MFA off,
// then confirms that Cognito no longer asks the user for a TOTP code: where
// MFA is required, Cognito may answer the request and change nothing. The
// table decides from what each call showed. TOTP off, the seed goes to the
// store as dormant (Cognito keeps the registration); only a sign-in that
// shows the recorded user has no factor at all lets it be deleted.
func (x *run) disable(ctx context.Context) error {
	if err := x.signIn(ctx); err != nil {
		return err
	}
	t := lifecycle.AfterDisableSignIn(&x.o.Observation, x.view)
	x.r.observed(ctx, t)
	if t.Err != nil {
		return t.Err
	}
	if t.Step == lifecycle.StepTurnOff {
		if t = x.turnOff(ctx); t.Err != nil {
			return t.Err
		}
	}
	ste := x.o.Enrollment
	switch t.Step {
	case lifecycle.StepStoreDormant:
		if err := x.storeSeed(ctx, lifecycle.SeedDormant); err != nil {
			return err
		}
		x.r.Recorder.Eventf(ste, nil, corev1.EventTypeNormal, "Disabled", "Delete",
			"Turned software-token MFA off for the user; Cognito keeps the registration, so its seed is kept, dormant, in the seed store, and Secret %q is deleted", x.o.SecretName)
	case lifecycle.StepStoreUnconfirmed:
		if err := x.storeSeed(ctx, lifecycle.SeedRetained); err != nil {
			return err
		}
		x.r.Recorder.Eventf(ste, nil, corev1.EventTypeWarning, v1alpha1.ReasonDisableUnconfirmed, "Delete",
			"Turned software-token MFA off with the access token, which no sign-in can confirm (GetUser is no witness where MFA is required): the seed is kept, retained, in the seed store, and Secret %q is deleted", x.o.SecretName)
	case lifecycle.StepDeleteSeed:
		if err := x.deleteSeed(ctx); err != nil {
			return err
		}
		x.r.Recorder.Eventf(ste, nil, corev1.EventTypeNormal, "Disabled", "Delete",
			"The user has no MFA factor (Cognito asks for MFA setup); deleted Secret %q", x.o.SecretName)
	}
	return nil
}

// turnOff turns TOTP off and asks Cognito whether the user would still be
// challenged: the table's word on what it showed.
func (x *run) turnOff(ctx context.Context) lifecycle.Transition {
	resolve := func(ev lifecycle.Event, detail string) lifecycle.Transition {
		v := *x.view
		v.Detail = detail
		t := lifecycle.Resolve(&x.o.Observation, lifecycle.Releasing, ev, &v)
		x.r.observed(ctx, t)
		return t
	}
	err := x.api.SetSoftwareTokenPreference(ctx, x.accessToken, cognito.Preference{})
	if cognito.HasCode(err, "InvalidParameterException") {
		return resolve(lifecycle.DisableRefused, err.Error())
	}
	if err != nil {
		return lifecycle.Transition{Err: err}
	}
	if x.o.creds.accessToken != "" {
		// No password to sign in with, and GetUser is no witness: where MFA
		// is required it lists no factor while sign-in still asks for one.
		return resolve(lifecycle.OffUnconfirmed, "")
	}
	challenged, err := x.stillChallenged(ctx)
	switch {
	case err != nil:
		return lifecycle.Transition{Err: err}
	case challenged:
		return resolve(lifecycle.StillChallenged, "")
	}
	return resolve(lifecycle.ConfirmedOff, "")
}

// stillChallenged signs in and says whether Cognito still challenges the
// user for a TOTP code: only a sign-in tells.
func (x *run) stillChallenged(ctx context.Context) (bool, error) {
	res, err := x.api.InitiateAuth(ctx, x.signInRequest())
	if err != nil {
		return false, err
	}
	return res.Challenge == cognito.ChallengeSoftwareTokenMFA || res.Challenge == cognito.ChallengeSelectMFAType, nil
}

// storeSeed keeps the enrollment's seed in the seed store, marked state,
// then lets its Secret go: first stored, then deleted, so that a crash in
// between leaves two copies, never none.
func (x *run) storeSeed(ctx context.Context, state lifecycle.SeedState) error {
	o := x.o
	source := o.stored
	if o.Ownership == lifecycle.OwnOwned && o.target != nil && o.HasSeedHere() {
		source = o.target
	}
	if source == nil {
		return nil
	}
	if _, err := x.r.store().Put(ctx, source, o.origin(), state, x.r.Now()); err != nil {
		return err
	}
	x.r.Recorder.Eventf(o.Enrollment, nil, corev1.EventTypeNormal, "SeedStored", "Delete",
		"Kept the user's seed in the seed store (%s, %s): its namespace cannot keep it", lifecycle.StoreName(o.namespaceUID, o.Enrollment.Name), state)
	return x.letGoSecret(ctx)
}

// deleteSeed deletes the enrollment's Secret and any stored copy: Cognito
// proved the seed is no one's token.
func (x *run) deleteSeed(ctx context.Context) error {
	if err := x.letGoSecret(ctx); err != nil {
		return err
	}
	if x.o.stored != nil {
		return x.r.store().Delete(ctx, x.o.stored)
	}
	return nil
}

// letGoSecret deletes the enrollment's Secret, its seed kept elsewhere or
// proven void: the finalizers are lifted, then it is deleted.
func (x *run) letGoSecret(ctx context.Context) error {
	s := x.o.target
	if x.o.Ownership != lifecycle.OwnOwned || s == nil {
		return nil
	}
	if controllerutil.ContainsFinalizer(s, v1alpha1.FinalizerSeed) || controllerutil.ContainsFinalizer(s, v1alpha1.FinalizerProtect) {
		s = s.DeepCopy()
		controllerutil.RemoveFinalizer(s, v1alpha1.FinalizerSeed)
		controllerutil.RemoveFinalizer(s, v1alpha1.FinalizerProtect)
		if err := x.r.Update(ctx, s); err != nil && !apierrors.IsNotFound(err) {
			return kubeError(fmt.Sprintf("releasing Secret %q", s.Name), err)
		}
	}
	err := x.r.Delete(ctx, s, client.Preconditions{UID: &s.UID})
	if err != nil && !apierrors.IsNotFound(err) {
		return kubeError(fmt.Sprintf("deleting Secret %q", s.Name), err)
	}
	return nil
}

func (r *Reconciler) deletionTimedOut(ste *v1alpha1.SoftwareTokenEnrollment) bool {
	return r.deletionLeft(ste) <= 0
}

// reportDeletion records a failed deletion step and comes back with
// backoff, never later than the deletion timeout.
func (r *Reconciler) reportDeletion(ctx context.Context, x *run, err error) (reconcile.Result, error) {
	if x.t.Plan == "" {
		x.t.Plan = "Delete"
	}
	x.deleting = true
	res, rerr := r.report(ctx, x, err)
	left := max(r.deletionLeft(x.o.Enrollment), time.Second)
	if res.RequeueAfter == 0 || res.RequeueAfter > left {
		res.RequeueAfter = left
	}
	return res, rerr
}

// releaseSecret keeps the enrollment's Secret where it is, released: no
// longer the enrollment's (the UID label and any ownerReference go, and the
// disable-protection), marked retained in its record so that an enrollment
// of the same namespace and name adopts it. FinalizerSeed stays: if the
// Secret is deleted later, its seed goes to the store first. A record this
// release cannot read is left as it is (no one then adopts the Secret,
// which keeps it safe).
func (r *Reconciler) releaseSecret(ctx context.Context, o *observation) error {
	ste, target := o.Enrollment, o.target
	if target == nil || o.Ownership != lifecycle.OwnOwned {
		return nil
	}
	s := target.DeepCopy()
	s.OwnerReferences = slices.DeleteFunc(s.OwnerReferences, func(ref metav1.OwnerReference) bool { return ref.UID == ste.UID })
	delete(s.Labels, v1alpha1.LabelEnrollmentUID)
	keepSeedFinalizer(s)
	if o.RecordErr == nil {
		rec := o.Record
		rec.RetainedFrom, rec.Protected = ste.Namespace+"/"+ste.Name, nil
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
