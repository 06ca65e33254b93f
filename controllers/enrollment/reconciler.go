// Package enrollment is the SoftwareTokenEnrollment controller. A reconcile
// observes (observation.go, inputs.go), lets internal/lifecycle's
// transitions table decide, and acts (enroll.go, signin.go, finalize.go);
// only the act and report steps write.
package enrollment

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/conditions"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/kube"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/lifecycle"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/metrics"
)

// CognitoProvider hands out the Cognito client for a region.
type CognitoProvider interface {
	ForRegion(region string) cognito.Client
	DefaultRegion() string
}

// Reconciler enrolls Cognito users in software-token MFA.
type Reconciler struct {
	// Client reads enrollments and Secret metadata from the cache and writes.
	client.Client
	// APIReader reads Secrets and claims straight from the API server, so
	// the manager never caches the cluster's Secrets.
	APIReader client.Reader
	Recorder  events.EventRecorder
	Cognito   CognitoProvider

	// Now is the clock for TOTP codes, timestamps and timers.
	Now func() time.Time
	// RetryBase is the first retry delay after a failure; it doubles up to RetryMax.
	RetryBase, RetryMax time.Duration
	// Timeout bounds one reconcile's Cognito work.
	Timeout time.Duration
	// DeletionTimeout is how long deletionPolicy Disable keeps trying before
	// it falls back to Retain, on the API server's clock.
	DeletionTimeout time.Duration
	// ServerNow is the API server's clock, estimated from its answers
	// (kube.ServerClock): the deletion timeout runs on it, since a
	// deletionTimestamp is the API server's. nil means Now.
	ServerNow func() time.Time
	// ResyncPeriod, when set, brings a Ready enrollment back this often to
	// re-read its Secret and its claim (no Cognito call), so that a claim
	// deleted or taken over by hand is noticed without another trigger.
	ResyncPeriod time.Duration
	// ClaimNamespace is the operator's own namespace, where the claims that
	// keep two enrollments off one user live, and where a ClusterUserPool's
	// client secret is when its reference names no namespace.
	ClaimNamespace string
	// RequireUserPoolRef refuses enrollments that name their own user pool
	// and app client instead of a ClusterUserPool.
	RequireUserPoolRef bool
	// SecretEvents reports changes to Secrets (one shared by the
	// controllers); nil makes one that watches every namespace.
	SecretEvents *kube.SecretEvents
	// FingerprintKey keys the inputs fingerprints (kube.FingerprintKey);
	// SetupWithManager makes a random one when unset (a restart changes it).
	FingerprintKey []byte
	// Transitions, when set, is told every transition the table gave: the
	// property tests fail on one the table calls impossible.
	Transitions func(lifecycle.Transition)

	// ownWrites is set up by SetupWithManager.
	ownWrites *ownWrites
}

// +kubebuilder:rbac:groups=mfa.cognito-operator.dev,resources=softwaretokenenrollments,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=mfa.cognito-operator.dev,resources=softwaretokenenrollments/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=mfa.cognito-operator.dev,resources=softwaretokenenrollments/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;delete
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;create;update;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// With --metrics-secure, the metrics endpoint asks the API server who a
// scraper is and whether it may GET /metrics.
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create
// +kubebuilder:rbac:groups=mfa.cognito-operator.dev,resources=clusteruserpools,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch

// Reconcile observes, decides and acts.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	// The cache serves the fast path; whatever acts (a deletion, a plan that
	// calls Cognito) re-reads the enrollment fresh first, because the status
	// carries the backoff and the stall, and a stale copy would let a
	// reconcile triggered by the operator's own writes act again before the
	// failure it just had is seen.
	ste := &v1alpha1.SoftwareTokenEnrollment{}
	if err := r.Get(ctx, req.NamespacedName, ste); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if !ste.DeletionTimestamp.IsZero() {
		if err := r.APIReader.Get(ctx, req.NamespacedName, ste); err != nil {
			return reconcile.Result{}, client.IgnoreNotFound(err)
		}
	}
	// Reporting outlives the reconcile's deadline, so that a timeout is recorded.
	reportCtx := context.WithoutCancel(ctx)
	timeout := r.Timeout
	if !ste.DeletionTimestamp.IsZero() && r.DeletionTimeout > 0 {
		// A hung Cognito must not hold a deletion past its timeout.
		left := max(r.deletionLeft(ste), time.Second)
		if timeout <= 0 || left < timeout {
			timeout = left
		}
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if !ste.DeletionTimestamp.IsZero() {
		if !controllerutil.ContainsFinalizer(ste, v1alpha1.FinalizerEnrollment) {
			return reconcile.Result{}, nil
		}
		return r.finalize(ctx, reportCtx, ste)
	}
	// An enrollment that is likely to act has its fresh copy read beside the
	// observation rather than after it.
	var o *observation
	var fresh *v1alpha1.SoftwareTokenEnrollment
	var freshErr error
	err := together(func() (err error) {
		o, err = r.observe(ctx, ste)
		return err
	}, func() error {
		if r.likelyToAct(ste) {
			fresh, freshErr = r.readFresh(ctx, req.NamespacedName)
		}
		return nil
	})
	if err != nil {
		return r.report(reportCtx, r.failedRun(ste), err)
	}
	t := lifecycle.Decide(&o.Observation)
	if t.Plan.SignsIn() || t.Plan == lifecycle.PlanPromoteVerified {
		if fresh == nil && freshErr == nil {
			fresh, freshErr = r.readFresh(ctx, req.NamespacedName)
		}
		if freshErr != nil {
			return reconcile.Result{}, client.IgnoreNotFound(freshErr)
		}
		if fresh.ResourceVersion != ste.ResourceVersion {
			if o, err = r.observe(ctx, fresh); err != nil {
				return r.report(reportCtx, r.failedRun(fresh), err)
			}
			t = lifecycle.Decide(&o.Observation)
		}
	}
	r.observed(ctx, t)
	x := r.newRun(o, t)
	return r.report(reportCtx, x, r.act(ctx, x))
}

// serverNow is the API server's clock.
func (r *Reconciler) serverNow() time.Time {
	if r.ServerNow != nil {
		return r.ServerNow()
	}
	return r.Now()
}

// deletionLeft is how much of the deletion timeout is left.
func (r *Reconciler) deletionLeft(ste *v1alpha1.SoftwareTokenEnrollment) time.Duration {
	return r.DeletionTimeout - r.serverNow().Sub(ste.DeletionTimestamp.Time)
}

// store is the seed store in the operator's namespace.
func (r *Reconciler) store() kube.SeedStore {
	return kube.SeedStore{Client: r.Client, Reader: r.APIReader, Namespace: r.ClaimNamespace}
}

// failedRun is the run of a reconcile whose observation failed.
func (r *Reconciler) failedRun(ste *v1alpha1.SoftwareTokenEnrollment) *run {
	return &run{r: r, o: &observation{Observation: lifecycle.Observation{Enrollment: ste, Now: r.Now()}}}
}

// observed logs a transition, counts an impossible one, and tells the
// Transitions hook.
func (r *Reconciler) observed(ctx context.Context, t lifecycle.Transition) {
	l := log.FromContext(ctx)
	if t.Impossible != "" {
		metrics.ImpossibleTransitions.WithLabelValues(string(t.Phase), string(t.Event)).Inc()
		l.Error(nil, "the transitions table calls this pair impossible", "phase", t.Phase, "event", t.Event, "why", t.Impossible)
	} else if t.Plan != "" {
		l.V(1).Info("decided", "phase", t.Phase, "event", t.Event, "plan", t.Plan, "why", t.Why)
	} else {
		l.V(1).Info("heard", "phase", t.Phase, "event", t.Event, "step", t.Step, "why", t.Why)
	}
	if r.Transitions != nil {
		r.Transitions(t)
	}
}

func (r *Reconciler) readFresh(ctx context.Context, key types.NamespacedName) (*v1alpha1.SoftwareTokenEnrollment, error) {
	fresh := &v1alpha1.SoftwareTokenEnrollment{}
	if err := r.APIReader.Get(ctx, key, fresh); err != nil {
		return nil, err
	}
	return fresh, nil
}

// likelyToAct says the cached enrollment has work to do: not Ready for its
// generation, and not backing off.
func (r *Reconciler) likelyToAct(ste *v1alpha1.SoftwareTokenEnrollment) bool {
	st := &ste.Status
	if st.NextAttemptTime != nil && r.Now().Before(st.NextAttemptTime.Time) {
		return false
	}
	return st.ObservedGeneration != ste.Generation || !conditions.IsTrue(st.Conditions, v1alpha1.ConditionReady)
}

// act carries out the transition's plan.
func (r *Reconciler) act(ctx context.Context, x *run) error {
	switch x.plan() {
	case lifecycle.PlanWait, lifecycle.PlanStall, lifecycle.PlanBackoff, lifecycle.PlanWaitForStep, lifecycle.PlanImpossible:
		return x.t.Err
	}
	if !x.plan().SignsIn() {
		if err := r.ensureFinalizer(ctx, x.o.Enrollment); err != nil {
			return err
		}
	}
	switch x.plan() {
	case lifecycle.PlanUpToDate:
		if err := x.repairMetadata(ctx); err != nil {
			return err
		}
		return x.finishRestore(ctx)
	case lifecycle.PlanRestore:
		return x.restore(ctx)
	case lifecycle.PlanPromoteVerified:
		x.view, x.step = &lifecycle.View{ID: x.o.Record.Identity}, lifecycle.StepPromote
		if err := x.promote(ctx, x.o.pending); err != nil {
			return err
		}
		return x.protectInputs(ctx)
	}
	if err := x.actWithCognito(ctx); err != nil {
		return err
	}
	if err := x.protectInputs(ctx); err != nil {
		return err
	}
	return x.finishRestore(ctx)
}

// repairMetadata brings an up-to-date Secret's metadata, the claim and the
// credentials' protection in line with the spec, without Cognito.
func (x *run) repairMetadata(ctx context.Context) error {
	x.view = &lifecycle.View{ID: x.o.Record.Identity}
	secret := x.o.secret
	if err := x.writeSecret(ctx, func(s *corev1.Secret, rec *lifecycle.Record) {
		s.Data[v1alpha1.KeyOTPAuthURL] = x.otpauthURL(secret)
		rec.Seed.Generation = x.o.Enrollment.Generation
	}); err != nil {
		return err
	}
	return x.protectInputs(ctx)
}

// signInWithFinalizer signs in while the finalizer is added: both must be
// done before anything exists to clean up (the claim, the association), and
// signing in changes nothing. The finalizer is patched on a copy, whose new
// resourceVersion and finalizers are taken over once both are done.
func (x *run) signInWithFinalizer(ctx context.Context) error {
	ste := x.o.Enrollment
	if controllerutil.ContainsFinalizer(ste, v1alpha1.FinalizerEnrollment) {
		return x.signIn(ctx)
	}
	patched := ste.DeepCopy()
	err := together(func() error { return x.signIn(ctx) }, func() error { return x.r.ensureFinalizer(ctx, patched) })
	if controllerutil.ContainsFinalizer(patched, v1alpha1.FinalizerEnrollment) && patched.ResourceVersion != ste.ResourceVersion {
		ste.Finalizers, ste.ResourceVersion = patched.Finalizers, patched.ResourceVersion
	}
	return err
}

// ensureFinalizer adds the finalizer before anything exists to clean up.
func (r *Reconciler) ensureFinalizer(ctx context.Context, ste *v1alpha1.SoftwareTokenEnrollment) error {
	if controllerutil.ContainsFinalizer(ste, v1alpha1.FinalizerEnrollment) {
		return nil
	}
	patch := client.MergeFromWithOptions(ste.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.AddFinalizer(ste, v1alpha1.FinalizerEnrollment)
	if err := r.Patch(ctx, ste, patch); err != nil {
		return kubeError("adding the finalizer", err)
	}
	return nil
}
