package controllers

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/metrics"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/totp"
)

// report writes what the reconcile ended with into the status (only when it
// changed), emits Events for transitions, and decides when to come back.
func (r *Reconciler) report(ctx context.Context, e *enrolment, runErr error) (reconcile.Result, error) {
	ste := e.ste
	before := ste.DeepCopy()
	st := &ste.Status
	st.ObservedGeneration = ste.Generation
	st.SecretName = targetSecretName(ste)
	var result reconcile.Result
	var eventType, eventReason, eventNote string

	if runErr == nil {
		e.markEnrolled()
		// Only the reconcile that verified the first token counts: a later one
		// may read a stale status and think the enrollment new.
		if e.verified && !e.rotating && before.Status.EnrolledTime == nil {
			metrics.TimeToReady.Observe(r.Now().Sub(ste.CreationTimestamp.Time).Seconds())
		}
		if e.rotating {
			metrics.Rotations.WithLabelValues("success").Inc()
		}
		if next := st.NextRotationTime; next != nil {
			result.RequeueAfter = max(time.Until(next.Time), time.Second)
		}
		if e.rotating {
			eventType, eventReason = corev1.EventTypeNormal, v1alpha1.ReasonRotated
			eventNote = fmt.Sprintf("Rotated: a new verified secret replaced the previous one in Secret %q (%s)", st.SecretName, st.SecretFingerprint)
		} else if e.verified {
			eventType, eventReason = corev1.EventTypeNormal, "Verified"
			eventNote = fmt.Sprintf("Verified a new software token; its secret is in Secret %q (%s)", st.SecretName, st.SecretFingerprint)
		} else if !isTrue(before.Status.Conditions, v1alpha1.ConditionReady) {
			eventType, eventReason, eventNote = corev1.EventTypeNormal, v1alpha1.ReasonEnrolled, readyMessage(st.SecretName)
		}
	} else {
		o := asOutcome(runErr)
		o.message = cognito.Redact(o.message, e.secretValues()...)
		prevType := v1alpha1.ConditionReady
		if !o.waiting {
			metrics.Failures.WithLabelValues(o.reason).Inc()
		}
		if e.rotating {
			metrics.Rotations.WithLabelValues("failure").Inc()
			prevType = v1alpha1.ConditionRotationFailed
			result.RequeueAfter = r.markRotationFailed(ctx, e, o)
		} else {
			result = r.markFailed(e, o)
		}
		prev := findCondition(before.Status.Conditions, prevType)
		if prev == nil || prev.Reason != o.reason || prev.Message != o.message {
			eventType, eventReason, eventNote = corev1.EventTypeWarning, o.reason, o.message
			if o.waiting {
				eventType = corev1.EventTypeNormal
			}
		}
		log.FromContext(ctx).Info("enrolment not complete", "reason", o.reason, "class", o.class.String(),
			"message", o.message, "retryAfter", result.RequeueAfter)
	}

	if !equality.Semantic.DeepEqual(before.Status, ste.Status) {
		if err := r.Status().Patch(ctx, ste, client.MergeFrom(before)); err != nil {
			return reconcile.Result{}, client.IgnoreNotFound(err)
		}
	}
	if eventReason != "" {
		r.Recorder.Eventf(ste, nil, eventType, eventReason, "Enrol", "%s", eventNote)
	}
	return result, nil
}

// markEnrolled records success; the Secret's record is the source of truth.
func (e *enrolment) markEnrolled() {
	st := &e.ste.Status
	st.SecretFingerprint = totp.Fingerprint(e.candidate)
	st.EnrolledTime = e.enrolledAt()
	st.FailedAttempts, st.LastFailureTime = 0, nil
	if !e.upToDate {
		st.FriendlyDeviceName = e.in.deviceName
		st.InputsFingerprint = e.fingerprint()
	}
	if e.verifyStatus != "" {
		st.VerificationStatus = v1alpha1.VerificationStatus(e.verifyStatus)
	} else if st.VerificationStatus == "" {
		// Proven through a sign-in challenge, or recorded by an earlier run.
		st.VerificationStatus = cognito.VerifySuccess
	}
	st.NextRotationTime = e.nextRotation(st.EnrolledTime)
	st.LastRotateRequest = e.ste.Annotations[v1alpha1.AnnotationRotate]
	if e.rotating {
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: v1alpha1.ConditionRotationFailed,
			Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonRotated, Message: "the last rotation succeeded",
			ObservedGeneration: e.ste.Generation})
	}
	setConditions(e.ste, metav1.ConditionTrue, v1alpha1.ReasonEnrolled, readyMessage(st.SecretName), metav1.ConditionFalse, metav1.ConditionFalse)
}

// markFailed records a failure and returns when to retry.
func (r *Reconciler) markFailed(e *enrolment, o *outcome) reconcile.Result {
	st := &e.ste.Status
	if e.in.versions != "" {
		if fp := e.fingerprint(); st.InputsFingerprint != fp {
			// New inputs: earlier failures say nothing about these.
			st.FailedAttempts = 0
			st.InputsFingerprint = fp
		}
	}
	if e.verifyStatus != "" {
		st.VerificationStatus = v1alpha1.VerificationStatus(e.verifyStatus)
	}
	switch {
	case o.class == cognito.Terminal:
		setConditions(e.ste, metav1.ConditionFalse, o.reason, o.message, metav1.ConditionFalse, metav1.ConditionTrue)
		return reconcile.Result{}
	case o.waiting:
		setConditions(e.ste, metav1.ConditionFalse, o.reason, o.message, metav1.ConditionTrue, metav1.ConditionFalse)
		return reconcile.Result{}
	}
	setConditions(e.ste, metav1.ConditionFalse, o.reason, o.message, metav1.ConditionTrue, metav1.ConditionFalse)
	st.FailedAttempts++
	now := e.r.now()
	st.LastFailureTime = &now
	return reconcile.Result{RequeueAfter: r.backoff(st.FailedAttempts, o.class)}
}

// backoff doubles from RetryBase (twice that when throttled) up to RetryMax,
// with ±20% jitter so that enrollments failing together spread out.
func (r *Reconciler) backoff(attempts int32, class cognito.Class) time.Duration {
	d := r.RetryBase
	if class == cognito.Throttled {
		d *= 2
	}
	for i := int32(1); i < attempts && d < r.RetryMax; i++ {
		d *= 2
	}
	d = min(d, r.RetryMax)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// setConditions sets Ready, Reconciling and Stalled together, so that they
// never contradict each other.
func setConditions(ste *v1alpha1.SoftwareTokenEnrollment, ready metav1.ConditionStatus, reason, message string,
	reconciling, stalled metav1.ConditionStatus) {
	set := func(t string, s metav1.ConditionStatus, reason, message string) {
		meta.SetStatusCondition(&ste.Status.Conditions, metav1.Condition{Type: t, Status: s, Reason: reason,
			Message: message, ObservedGeneration: ste.Generation})
	}
	set(v1alpha1.ConditionReady, ready, reason, message)
	if reconciling == metav1.ConditionTrue {
		set(v1alpha1.ConditionReconciling, reconciling, reason, message)
	} else {
		set(v1alpha1.ConditionReconciling, reconciling, reason, "no work in progress")
	}
	if stalled == metav1.ConditionTrue {
		set(v1alpha1.ConditionStalled, stalled, reason, message)
	} else {
		set(v1alpha1.ConditionStalled, stalled, reason, "not stalled")
	}
}

func readyMessage(secretName string) string {
	return fmt.Sprintf("software-token MFA is enrolled and verified; the secret is in Secret %q", secretName)
}

func findCondition(conds []metav1.Condition, t string) *metav1.Condition {
	return meta.FindStatusCondition(conds, t)
}

func isTrue(conds []metav1.Condition, t string) bool {
	return meta.IsStatusConditionTrue(conds, t)
}
