package enrollment

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/conditions"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/lifecycle"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/metrics"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/totp"
)

// statusWriteTimeout bounds the report's writes, which run after the
// reconcile's own deadline may have passed.
const statusWriteTimeout = 15 * time.Second

// event is one Event to emit after the status is written.
type event struct{ kind, reason, note string }

// report writes what the reconcile ended with into the status (only when it
// changed), emits Events for transitions, and decides when to come back.
func (r *Reconciler) report(ctx context.Context, x *run, runErr error) (reconcile.Result, error) {
	if x.plan() == lifecycle.PlanBackoff {
		return reconcile.Result{RequeueAfter: x.t.RetryIn}, nil
	}
	ste := x.o.Enrollment
	before := ste.DeepCopy()
	st := &ste.Status
	st.ObservedGeneration = ste.Generation
	st.SecretName = v1alpha1.SecretNameOf(ste)
	var result reconcile.Result
	var ev *event
	if runErr == nil {
		ev = x.markEnrolled(before)
		if r.ResyncPeriod > 0 {
			result.RequeueAfter = r.ResyncPeriod
		}
		for _, next := range []*metav1.Time{st.NextRotationTime, st.NextAttemptTime} {
			if next != nil {
				d := max(next.Sub(r.Now()), time.Second)
				if result.RequeueAfter == 0 || d < result.RequeueAfter {
					result.RequeueAfter = d
				}
			}
		}
		due := x.dueAfter()
		if x.lookAgain {
			// A change by someone else to the Secret this reconcile wrote was
			// held back as a possible echo of its own write.
			due = time.Millisecond
		}
		if due > 0 && (result.RequeueAfter == 0 || due < result.RequeueAfter) {
			result.RequeueAfter = due
		}
	} else {
		o := *asOutcome(runErr)
		o.Message = cognito.Redact(o.Message, x.secretValues()...)
		result.RequeueAfter = x.markFailed(&o)
		// A Progressing wait (the one-time-code hold, a claim race) is an
		// ordinary step: the status shows it, an Event would only add a write.
		if prev := failureReason(before); prev != o.Reason && o.Reason != v1alpha1.ReasonProgressing {
			kind := corev1.EventTypeWarning
			if o.Waiting {
				kind = corev1.EventTypeNormal
			}
			ev = &event{kind, o.Reason, o.Message}
		}
		if !o.Waiting {
			metrics.Failures.WithLabelValues(o.Reason).Inc()
		}
		log.FromContext(ctx).Info("enrollment not complete", "plan", x.plan(), "reason", o.Reason, "class", o.Class.String(),
			"message", o.Message, "retryAfter", result.RequeueAfter)
	}
	wctx, cancel := context.WithTimeout(ctx, statusWriteTimeout)
	defer cancel()
	if !equality.Semantic.DeepEqual(before.Status, ste.Status) {
		// The lock keeps a reconcile that read a stale status from the cache
		// from writing it back over a newer one.
		written, err := r.writeStatus(wctx, ste, before)
		if err != nil {
			return reconcile.Result{}, client.IgnoreNotFound(err)
		}
		if !written {
			// This reconcile started from an older status than the API
			// server's; nothing else may wake it (its own writes do not), so
			// it comes back to decide again on the newer one.
			return reconcile.Result{RequeueAfter: staleStatusRetry}, nil
		}
	}
	if ev != nil {
		r.Recorder.Eventf(ste, nil, ev.kind, ev.reason, "Enroll", "%s", ev.note)
	}
	return result, nil
}

// writeStatus patches the status with an optimistic lock, so that a stale
// copy never overwrites a newer status. On a conflict (someone wrote the
// object meanwhile, a label or an annotation, say) it re-reads the object
// and, if the spec and the status are still those this reconcile started
// from, writes again: a failure that is not recorded would not be backed
// off from.
func (r *Reconciler) writeStatus(ctx context.Context, ste, before *v1alpha1.SoftwareTokenEnrollment) (written bool, err error) {
	err = r.Status().Patch(ctx, ste, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
	for attempt := 0; apierrors.IsConflict(err) && attempt < 3; attempt++ {
		fresh := &v1alpha1.SoftwareTokenEnrollment{}
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(ste), fresh); err != nil {
			return false, err
		}
		if fresh.Generation != before.Generation || !equality.Semantic.DeepEqual(fresh.Status, before.Status) {
			return false, nil // the next reconcile decides on what changed
		}
		base := fresh.DeepCopy()
		fresh.Status = ste.Status
		err = r.Status().Patch(ctx, fresh, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
	}
	return err == nil, err
}

// staleStatusRetry is how soon a reconcile whose status write found a newer
// status comes back: the cache has seen that status by then, as a rule.
const staleStatusRetry = 200 * time.Millisecond

// failureReason is the reason of the failure a status reports, or "".
func failureReason(ste *v1alpha1.SoftwareTokenEnrollment) string {
	for _, t := range []string{v1alpha1.ConditionStalled, v1alpha1.ConditionReconciling, v1alpha1.ConditionRotationFailed} {
		if c := conditions.Get(ste.Status.Conditions, t); c != nil && c.Status == metav1.ConditionTrue {
			if info, ok := v1alpha1.LookupReason(c.Reason); ok && info.Class == v1alpha1.ClassProgressing {
				continue // "Rotating" marks a step, not a failure
			}
			return c.Reason
		}
	}
	if c := conditions.Get(ste.Status.Conditions, v1alpha1.ConditionReady); c != nil && c.Status == metav1.ConditionFalse {
		return c.Reason
	}
	return ""
}

// markEnrolled records success from the Secret's record, and returns the
// Event that marks it, if it is news.
func (x *run) markEnrolled(before *v1alpha1.SoftwareTokenEnrollment) *event {
	ste := x.o.Enrollment
	st := &ste.Status
	rec := readRecordOf(x.o.target)
	secret := x.o.secret
	if x.o.target != nil {
		secret = string(x.o.target.Data[v1alpha1.KeySecret])
	}
	st.SecretFingerprint = totp.Fingerprint(secret)
	if rec.Seed.EnrolledAt != nil {
		t := metav1.NewTime(*rec.Seed.EnrolledAt)
		st.EnrolledTime = &t
	}
	st.User = rec.Identity.User
	st.InputsFingerprint = x.o.In.Hash
	if x.rotation && !x.newSeed() {
		// A failed rotation resolved by proving the old secret: Ready again,
		// but the rotation is still owed, after a backoff that keeps growing.
		x.scheduleRetry(x.r.backoff(max(st.FailedAttempts, 1), lifecycle.Retryable), false)
	} else {
		st.FailedAttempts, st.LastFailureTime, st.NextAttemptTime = 0, nil, nil
		if x.newSeed() {
			st.LastRotateRequest = x.handledRotate()
		} else if !x.o.RotationDue() {
			st.LastRotateRequest = ste.Annotations[v1alpha1.AnnotationRotate]
		}
	}
	if x.verified || st.FriendlyDeviceName == "" {
		st.FriendlyDeviceName = x.o.In.DeviceName
	}
	if x.verifyStatus != "" {
		st.VerificationStatus = v1alpha1.VerificationStatus(x.verifyStatus)
	} else if st.VerificationStatus == "" {
		st.VerificationStatus = cognito.VerifySuccess
	}
	if x.rotation && x.newSeed() {
		conditions.Set(&st.Conditions, ste.Generation, v1alpha1.ConditionRotationFailed, metav1.ConditionFalse,
			v1alpha1.ReasonRotated, "the last rotation succeeded")
		metrics.Rotations.WithLabelValues("success").Inc()
	}
	x.o.Record = rec
	if next := x.o.NextRotation(); next != nil {
		t := metav1.NewTime(*next)
		st.NextRotationTime = &t
	} else {
		st.NextRotationTime = nil
	}
	conditions.MarkReady(&st.Conditions, ste.Generation, v1alpha1.ReasonEnrolled, readyMessage(st.SecretName))
	switch {
	case x.rotation && x.newSeed():
		return &event{corev1.EventTypeNormal, v1alpha1.ReasonRotated, fmt.Sprintf(
			"Rotated: a new verified secret replaced the previous one in Secret %q (%s)", st.SecretName, st.SecretFingerprint)}
	case x.newSeed():
		if before.Status.EnrolledTime == nil {
			metrics.TimeToReady.Observe(x.r.Now().Sub(ste.CreationTimestamp.Time).Seconds())
		}
		return &event{corev1.EventTypeNormal, "Verified", fmt.Sprintf(
			"Verified a new software token; its secret is in Secret %q (%s)", st.SecretName, st.SecretFingerprint)}
	case !conditions.IsTrue(before.Status.Conditions, v1alpha1.ConditionReady):
		return &event{corev1.EventTypeNormal, v1alpha1.ReasonEnrolled, readyMessage(st.SecretName)}
	}
	return nil
}

// markFailed records a failure and returns when to retry. Ready stays True
// while the stored secret still works; it goes False only when no working
// seed is known.
func (x *run) markFailed(o *lifecycle.Outcome) time.Duration {
	ste := x.o.Enrollment
	st := &ste.Status
	gen := ste.Generation
	if h := x.o.In.Hash; h != "" && st.InputsFingerprint != h {
		// New inputs: earlier failures say nothing about these.
		st.FailedAttempts, st.InputsFingerprint = 0, h
	}
	if x.verifyStatus != "" {
		st.VerificationStatus = v1alpha1.VerificationStatus(x.verifyStatus)
	}
	// A failure never makes an enrollment Ready: only a proof (or the fast
	// path on a record nothing has contradicted) does.
	trusted := x.trusted() && conditions.IsTrue(st.Conditions, v1alpha1.ConditionReady)
	msg := o.Message
	if x.rotation && x.associated && !o.Waiting {
		// A wait (the verified seed held until its code's step has passed)
		// is no failure: the generic branch below reports it.
		return x.markRotationUnresolved(o)
	}
	switch {
	case trusted && o.Waiting:
		// A wait (for the next TOTP step, say) is no failure, in a rotation
		// or not: the stored secret works, and Reconciling says why.
		conditions.Set(&st.Conditions, gen, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonEnrolled, readyMessage(st.SecretName))
	case trusted && x.rotation:
		msg = "rotation failed, the previous secret stays in place: " + msg
		conditions.Set(&st.Conditions, gen, v1alpha1.ConditionRotationFailed, metav1.ConditionTrue, o.Reason, msg)
		conditions.Set(&st.Conditions, gen, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonEnrolled, readyMessage(st.SecretName))
		metrics.Rotations.WithLabelValues("failure").Inc()
	case trusted:
		msg = "the stored secret still works, but the spec is not fully applied: " + msg
		conditions.Set(&st.Conditions, gen, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonEnrolled, readyMessage(st.SecretName))
	default:
		conditions.MarkNotReady(&st.Conditions, gen, o.Reason, msg)
	}
	switch {
	case o.Class == lifecycle.Terminal && trusted && x.rotation:
		// Retried at the next rotate value, or the interval (at most RetryMax) from now.
		conditions.Delete(&st.Conditions, v1alpha1.ConditionReconciling)
		conditions.Delete(&st.Conditions, v1alpha1.ConditionStalled)
		st.LastRotateRequest = ste.Annotations[v1alpha1.AnnotationRotate]
		st.NextAttemptTime = nil
		if rot := ste.Spec.Rotation; rot != nil && rot.Interval != nil {
			next := metav1.NewTime(x.r.Now().Add(min(x.r.RetryMax, rot.Interval.Duration)))
			st.NextRotationTime = &next
			return max(next.Sub(x.r.Now()), time.Second)
		}
		return 0
	case o.Class == lifecycle.Terminal && rechecked(o.Reason):
		// Looked at again every RetryMax: the enrollment holding the user
		// may be deleted, a Lambda trigger fixed, and nothing else would say so.
		conditions.MarkStalled(&st.Conditions, gen, o.Reason, msg)
		st.NextAttemptTime = nil
		st.LastFailureTime = &metav1.Time{Time: x.r.Now()}
		return x.r.RetryMax
	case o.Class == lifecycle.Terminal:
		conditions.MarkStalled(&st.Conditions, gen, o.Reason, msg)
		st.NextAttemptTime = nil
		return 0
	case o.Waiting && o.Hold:
		conditions.MarkReconciling(&st.Conditions, gen, o.Reason, msg)
		return x.scheduleRetry(o.After, false)
	case o.Waiting:
		conditions.MarkReconciling(&st.Conditions, gen, o.Reason, msg)
		return o.After
	}
	conditions.MarkReconciling(&st.Conditions, gen, o.Reason, msg)
	st.FailedAttempts++
	return x.scheduleRetry(x.r.backoff(st.FailedAttempts, o.Class), true)
}

// markRotationUnresolved records a rotation that failed after its
// association: which secret Cognito holds is unknown until a sign-in
// proves one, so the enrollment is not Ready and comes back after a
// backoff to find out, whatever the failure's class. A terminal failure
// is not retried for the same request, nor before the deferral.
func (x *run) markRotationUnresolved(o *lifecycle.Outcome) time.Duration {
	ste := x.o.Enrollment
	st := &ste.Status
	gen := ste.Generation
	msg := "rotation failed after a new token was associated; the next attempt proves which stored secret Cognito holds: " + o.Message
	conditions.Set(&st.Conditions, gen, v1alpha1.ConditionRotationFailed, metav1.ConditionTrue, o.Reason, msg)
	conditions.MarkNotReady(&st.Conditions, gen, o.Reason, msg)
	conditions.MarkReconciling(&st.Conditions, gen, o.Reason, msg)
	metrics.Rotations.WithLabelValues("failure").Inc()
	if o.Class == lifecycle.Terminal {
		st.LastRotateRequest = ste.Annotations[v1alpha1.AnnotationRotate]
		if rot := ste.Spec.Rotation; rot != nil && rot.Interval != nil {
			next := metav1.NewTime(x.r.Now().Add(min(x.r.RetryMax, rot.Interval.Duration)))
			st.NextRotationTime = &next
		}
	}
	st.FailedAttempts++
	return x.scheduleRetry(x.r.backoff(st.FailedAttempts, o.Class), true)
}

// scheduleRetry records when the next attempt may run and returns how long
// until then. The status keeps whole seconds, so the time is rounded up: a
// time rounded down could already have passed when the operator's own
// writes trigger the next reconcile, and the backoff would not hold.
func (x *run) scheduleRetry(d time.Duration, failed bool) time.Duration {
	st := &x.o.Enrollment.Status
	now := x.r.Now()
	at := now.Add(d).Truncate(time.Second)
	if at.Before(now.Add(d)) {
		at = at.Add(time.Second)
	}
	st.NextAttemptTime = &metav1.Time{Time: at}
	if failed {
		st.LastFailureTime = &metav1.Time{Time: now}
	}
	return at.Sub(now)
}

// markRotating says, before the association, that the stored secret may
// stop working until the new one is promoted.
func (r *Reconciler) markRotating(ctx context.Context, x *run) error {
	ste := x.o.Enrollment
	before := ste.DeepCopy()
	msg := "rotating: a new secret is being associated and verified; the stored one may stop working until the new one is promoted"
	conditions.MarkNotReady(&ste.Status.Conditions, ste.Generation, v1alpha1.ReasonRotating, msg)
	conditions.MarkReconciling(&ste.Status.Conditions, ste.Generation, v1alpha1.ReasonRotating, msg)
	ste.Status.ObservedGeneration = ste.Generation
	if err := r.Status().Patch(ctx, ste, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return kubeError("recording the rotation", err)
	}
	return nil
}

// backoff doubles from RetryBase (twice that when throttled) up to RetryMax,
// with ±20% jitter so that enrollments failing together spread out: the
// delay of attempt n of wait.Backoff's sequence.
func (r *Reconciler) backoff(attempts int32, class lifecycle.Class) time.Duration {
	n := int(max(attempts, 1))
	b := wait.Backoff{Duration: r.RetryBase, Factor: 2, Steps: n, Cap: r.RetryMax}
	if class == lifecycle.Throttled {
		b.Duration *= 2
	}
	var d time.Duration
	for range n { // once capped, Step keeps returning the cap
		d = b.Step()
	}
	d = min(d, r.RetryMax)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

func readyMessage(secretName string) string {
	return fmt.Sprintf("software-token MFA is enrolled and verified; the secret is in Secret %q", secretName)
}

// rechecked says a terminal reason is looked at again every RetryMax.
func rechecked(reason string) bool {
	info, _ := v1alpha1.LookupReason(reason)
	return info.Rechecked
}
