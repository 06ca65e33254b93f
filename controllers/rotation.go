package controllers

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
)

// rotationDue says a new secret is wanted: the rotate annotation carries a
// value not handled yet, or spec.rotation.interval has run out.
// The Secret's record (read fresh) counts alongside the status, which the
// cache may serve stale: a rotation must never be repeated for that reason.
func (e *enrolment) rotationDue() bool {
	if v := e.ste.Annotations[v1alpha1.AnnotationRotate]; v != "" && v != e.ste.Status.LastRotateRequest &&
		v != e.secretAnnotation(AnnotationRotateHandled) {
		return true
	}
	next := e.nextRotation(e.enrolledAt())
	if next == nil {
		return false
	}
	if deferred := e.ste.Status.NextRotationTime; deferred != nil && deferred.After(next.Time) {
		next = deferred
	}
	return !e.r.Now().Before(next.Time)
}

// nextRotation is when the interval next asks for a rotation, or nil.
func (e *enrolment) nextRotation(enrolled *metav1.Time) *metav1.Time {
	rot := e.ste.Spec.Rotation
	if rot == nil || rot.Interval == nil || enrolled == nil {
		return nil
	}
	t := metav1.NewTime(enrolled.Add(rot.Interval.Duration))
	return &t
}

// dropPending removes a staged secret that a failed rotation left behind:
// it was never verified, so nothing depends on it.
func (e *enrolment) dropPending(ctx context.Context) {
	if e.stored(keyPending) == "" || e.verified {
		return
	}
	_ = e.writeSecret(ctx, func(s *corev1.Secret) { delete(s.Data, keyPending) })
}

// markRotationFailed records a rotation that failed while the old secret is
// still in place: Ready stays True, consumers keep working. A terminal
// failure is not retried before the next interval (or RetryMax) or a new
// rotate value; a transient one is retried with backoff.
func (r *Reconciler) markRotationFailed(ctx context.Context, e *enrolment, o *outcome) time.Duration {
	st := &e.ste.Status
	set := func(t string, s metav1.ConditionStatus, reason, msg string) {
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: t, Status: s, Reason: reason, Message: msg,
			ObservedGeneration: e.ste.Generation})
	}
	msg := "rotation failed, the previous secret stays in place: " + o.message
	set(v1alpha1.ConditionRotationFailed, metav1.ConditionTrue, o.reason, msg)
	if o.class == cognito.Terminal {
		e.dropPending(ctx)
		st.LastRotateRequest = e.ste.Annotations[v1alpha1.AnnotationRotate]
		if e.ste.Spec.Rotation != nil && e.ste.Spec.Rotation.Interval != nil {
			next := metav1.NewTime(e.r.Now().Add(min(r.RetryMax, e.ste.Spec.Rotation.Interval.Duration)))
			st.NextRotationTime = &next
		}
		set(v1alpha1.ConditionReconciling, metav1.ConditionFalse, o.reason, "no work in progress")
		if st.NextRotationTime == nil {
			return 0
		}
		return max(time.Until(st.NextRotationTime.Time), time.Second)
	}
	set(v1alpha1.ConditionReconciling, metav1.ConditionTrue, o.reason, msg)
	st.FailedAttempts++
	now := e.r.now()
	st.LastFailureTime = &now
	return r.backoff(st.FailedAttempts, o.class)
}
