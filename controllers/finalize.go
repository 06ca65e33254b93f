package controllers

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
)

// Finalizer holds an enrollment until its deletion policy is carried out:
// without it, garbage collection would delete the Secret of a user who is
// still enrolled, locking that user out.
const Finalizer = "mfa.cognito-operator.dev/finalizer"

// AnnotationRetainedFrom marks a Secret an enrollment left behind on deletion.
const AnnotationRetainedFrom = "mfa.cognito-operator.dev/retained-from"

// ensureFinalizer adds the finalizer before anything exists to clean up.
func (r *Reconciler) ensureFinalizer(ctx context.Context, ste *v1alpha1.SoftwareTokenEnrollment) error {
	if controllerutil.ContainsFinalizer(ste, Finalizer) {
		return nil
	}
	patch := client.MergeFromWithOptions(ste.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.AddFinalizer(ste, Finalizer)
	if err := r.Patch(ctx, ste, patch); err != nil {
		return retry(v1alpha1.ReasonKubernetesAPIError, fmt.Sprintf("adding the finalizer: %v", err))
	}
	return nil
}

// finalize carries out the deletion policy, then lets the enrollment go.
// Disable that cannot reach Cognito within DeletionTimeout falls back to
// Retain: keeping the Secret is always safe, deleting it never is while the
// user may still be enrolled.
func (e *enrolment) finalize(ctx context.Context) error {
	if err := e.loadTargetSecret(ctx); err != nil {
		if o := asOutcome(err); o.reason != v1alpha1.ReasonSecretConflict {
			return err
		}
		e.target = nil // someone else's Secret: not ours to keep or delete
	}
	retain := e.ste.Spec.DeletionPolicy != v1alpha1.DeletionPolicyDisable || e.stored(keySecret) == ""
	if !retain {
		err := e.disable(ctx)
		switch {
		case err == nil:
			if err := e.deleteSecret(ctx); err != nil {
				return err
			}
			e.r.Recorder.Eventf(e.ste, nil, corev1.EventTypeNormal, "Disabled", "Delete",
				"Turned software-token MFA off for the user and deleted Secret %q", e.target.Name)
		case asOutcome(err).reason == v1alpha1.ReasonDisableRejected || !e.deletionTimedOut():
			return err
		default:
			e.r.Recorder.Eventf(e.ste, nil, corev1.EventTypeWarning, "DisableAbandoned", "Delete",
				"Could not turn MFA off within %s (%s); keeping Secret %q so the user is not locked out",
				e.r.DeletionTimeout, asOutcome(err).reason, e.target.Name)
			retain = true
		}
	}
	if retain {
		if err := e.releaseSecret(ctx); err != nil {
			return err
		}
	}
	patch := client.MergeFrom(e.ste.DeepCopy())
	controllerutil.RemoveFinalizer(e.ste, Finalizer)
	if err := e.r.Patch(ctx, e.ste, patch); err != nil && !apierrors.IsNotFound(err) {
		return retry(v1alpha1.ReasonKubernetesAPIError, fmt.Sprintf("removing the finalizer: %v", err))
	}
	return nil
}

// disable signs in as for an enrolment and turns software-token MFA off.
func (e *enrolment) disable(ctx context.Context) error {
	if err := e.resolveInputs(ctx); err != nil {
		return err
	}
	if err := e.authenticate(ctx); err != nil {
		return err
	}
	if e.accessToken == "" {
		return stall(v1alpha1.ReasonDisableRejected, "the user has no MFA to turn off but is asked to set it up; set deletionPolicy Retain")
	}
	err := e.api.SetSoftwareTokenPreference(ctx, e.accessToken, cognito.Preference{})
	if cognito.HasCode(err, "InvalidParameterException") {
		return stall(v1alpha1.ReasonDisableRejected, fmt.Sprintf(
			"Cognito refuses to turn software-token MFA off (does the user pool require MFA?): %v; set spec.deletionPolicy: Retain to delete the enrollment and keep the Secret", err))
	}
	return err
}

func (e *enrolment) deletionTimedOut() bool {
	return e.r.Now().Sub(e.ste.DeletionTimestamp.Time) >= e.r.DeletionTimeout
}

// deletionRequeue is when to look again at a deletion that failed: no later
// than its timeout, so the fallback is never missed.
func (e *enrolment) deletionRequeue(after time.Duration) time.Duration {
	left := e.r.DeletionTimeout - e.r.Now().Sub(e.ste.DeletionTimestamp.Time)
	if left < time.Second {
		left = time.Second
	}
	if after == 0 || after > left {
		return left
	}
	return after
}

// releaseSecret drops the enrollment's ownerReference from its Secret, so
// that garbage collection keeps the Secret, and says where it came from.
func (e *enrolment) releaseSecret(ctx context.Context) error {
	if e.target == nil {
		return nil
	}
	s := e.target.DeepCopy()
	refs := s.OwnerReferences[:0]
	for _, ref := range s.OwnerReferences {
		if ref.UID != e.ste.UID {
			refs = append(refs, ref)
		}
	}
	s.OwnerReferences = refs
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[AnnotationRetainedFrom] = e.ste.Namespace + "/" + e.ste.Name
	if err := e.r.Update(ctx, s); err != nil && !apierrors.IsNotFound(err) {
		return retry(v1alpha1.ReasonKubernetesAPIError, fmt.Sprintf("releasing Secret %q: %v", s.Name, err))
	}
	e.r.Recorder.Eventf(e.ste, nil, corev1.EventTypeNormal, "Retained", "Delete",
		"Kept Secret %q and the user's MFA enrolment (deletionPolicy Retain)", s.Name)
	return nil
}

func (e *enrolment) deleteSecret(ctx context.Context) error {
	err := e.r.Delete(ctx, e.target, client.Preconditions{UID: &e.target.UID})
	if err != nil && !apierrors.IsNotFound(err) {
		return retry(v1alpha1.ReasonKubernetesAPIError, fmt.Sprintf("deleting Secret %q: %v", e.target.Name, err))
	}
	return nil
}
