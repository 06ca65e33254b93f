// Package controllers holds the SoftwareTokenEnrollment reconciler. A
// reconcile observes (observation.go), decides (decide.go, a pure function
// with a name for every plan), and acts (enroll.go, finalize.go); only the
// act and report steps write.
package controllers

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrl "sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	crevent "sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
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
	// it falls back to Retain.
	DeletionTimeout time.Duration
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
	SecretEvents *SecretEvents

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
		left := max(r.DeletionTimeout-r.Now().Sub(ste.DeletionTimestamp.Time), time.Second)
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
		return r.report(reportCtx, &run{r: r, o: &observation{ste: ste, now: r.Now()}}, err)
	}
	p := decide(o)
	if p.needsCognito() || p.name == planPromoteVerified {
		if fresh == nil && freshErr == nil {
			fresh, freshErr = r.readFresh(ctx, req.NamespacedName)
		}
		if freshErr != nil {
			return reconcile.Result{}, client.IgnoreNotFound(freshErr)
		}
		if fresh.ResourceVersion != ste.ResourceVersion {
			if o, err = r.observe(ctx, fresh); err != nil {
				return r.report(reportCtx, &run{r: r, o: &observation{ste: fresh, now: r.Now()}}, err)
			}
			p = decide(o)
		}
	}
	x := r.newRun(o, p)
	log.FromContext(ctx).V(1).Info("decided", "plan", p.name, "why", p.why)
	return r.report(reportCtx, x, r.act(ctx, x))
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
	return st.ObservedGeneration != ste.Generation || !isTrue(st.Conditions, v1alpha1.ConditionReady)
}

// act carries out the plan.
func (r *Reconciler) act(ctx context.Context, x *run) error {
	switch x.p.name {
	case planWait, planStall, planBackoff, planWaitForStep:
		return x.p.err
	}
	if !x.p.needsCognito() {
		if err := r.ensureFinalizer(ctx, x.o.ste); err != nil {
			return err
		}
	}
	switch x.p.name {
	case planUpToDate:
		return x.repairMetadata(ctx)
	case planPromoteVerified:
		x.view, x.step = &cognitoView{id: x.o.rec.identity()}, stepPromote
		if err := x.promote(ctx, x.o.pending); err != nil {
			return err
		}
		return x.protectCredentials(ctx)
	}
	if err := x.actWithCognito(ctx); err != nil {
		return err
	}
	return x.protectCredentials(ctx)
}

// protectCredentials keeps the credentials Secret from a namespace deletion
// while this enrollment, or another one reading the same Secret, has
// deletionPolicy Disable (it needs the password to turn MFA off), and lets
// it go otherwise. Every path that succeeds ends here: no later reconcile
// is woken by the operator's own writes to do it.
func (x *run) protectCredentials(ctx context.Context) error {
	ste := x.o.ste
	protect := ste.Spec.DeletionPolicy == v1alpha1.DeletionPolicyDisable || x.r.credentialsStillNeeded(ctx, ste)
	return x.r.protectCredentials(ctx, x, ste, x.o.in.credentials, protect)
}

// repairMetadata brings an up-to-date Secret's metadata, the claim and the
// credentials' protection in line with the spec, without Cognito.
func (x *run) repairMetadata(ctx context.Context) error {
	x.view = &cognitoView{id: x.o.rec.identity()}
	secret := x.o.secret
	if err := x.writeSecret(ctx, func(s *corev1.Secret) {
		s.Data[v1alpha1.KeyOTPAuthURL] = x.otpauthURL(secret)
		s.Annotations[v1alpha1.AnnotationEnrolledGeneration] = generationString(x.o.ste)
	}); err != nil {
		return err
	}
	return x.protectCredentials(ctx)
}

// signInWithFinalizer signs in while the finalizer is added: both must be
// done before anything exists to clean up (the claim, the association), and
// signing in changes nothing. The finalizer is patched on a copy, whose new
// resourceVersion and finalizers are taken over once both are done.
func (x *run) signInWithFinalizer(ctx context.Context) error {
	ste := x.o.ste
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

// secretNamesIndex indexes enrollments by every Secret they read or write.
const secretNamesIndex = ".spec.secretNames"

// SetupWithManager registers the controller. Changes to Secrets come from
// SecretEvents, which keeps none of them: enough to notice a change to one an
// enrollment names, without caching every Secret in the cluster.
// ClusterUserPools and namespaces' labels are watched for what decides
// whether an enrollment may use its pool.
func (r *Reconciler) SetupWithManager(mgr manager.Manager, opts ctrl.Options) error {
	ctx := context.Background()
	r.ownWrites = &ownWrites{}
	if r.SecretEvents == nil {
		var err error
		if r.SecretEvents, err = NewSecretEvents(mgr.GetConfig(), nil); err != nil {
			return err
		}
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &v1alpha1.SoftwareTokenEnrollment{},
		secretNamesIndex, func(o client.Object) []string {
			return referencedSecrets(o.(*v1alpha1.SoftwareTokenEnrollment))
		}); err != nil {
		return err
	}
	if err := indexEnrollmentsByPool(ctx, mgr); err != nil {
		return err
	}
	return builder.ControllerManagedBy(mgr).
		For(&v1alpha1.SoftwareTokenEnrollment{}, builder.WithPredicates(
			predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		WatchesRawSource(r.SecretEvents.Source(r.enrollmentsForSecret, r.allEnrollments)).
		// An enrollment gone for good may leave a credentials Secret
		// protected for it: those that share the Secret decide again.
		Watches(&v1alpha1.SoftwareTokenEnrollment{}, handler.EnqueueRequestsFromMapFunc(r.credentialSharers),
			builder.WithPredicates(predicate.Funcs{
				CreateFunc:  func(crevent.CreateEvent) bool { return false },
				UpdateFunc:  func(crevent.UpdateEvent) bool { return false },
				GenericFunc: func(crevent.GenericEvent) bool { return false },
			})).
		Watches(&v1alpha1.ClusterUserPool{}, handler.EnqueueRequestsFromMapFunc(r.enrollmentsForPool),
			builder.WithPredicates(poolUsabilityChanged)).
		WatchesMetadata(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.enrollmentsForNamespace),
			builder.WithPredicates(labelsChanged)).
		WithOptions(opts).
		Complete(r)
}

func (r *Reconciler) enrollmentsForSecret(ctx context.Context, secret client.Object) []reconcile.Request {
	var list v1alpha1.SoftwareTokenEnrollmentList
	if err := r.List(ctx, &list, client.InNamespace(secret.GetNamespace()),
		client.MatchingFields{secretNamesIndex: secret.GetName()}); err != nil {
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for _, req := range requestsFor(list.Items) {
		if !r.ownWrites.echo(secret, req.NamespacedName) {
			reqs = append(reqs, req)
		}
	}
	for _, pool := range poolsUsingSecret(ctx, r.Client, secret, r.ClaimNamespace) {
		reqs = append(reqs, r.enrollmentsForPool(ctx, &pool)...)
	}
	return reqs
}

// credentialSharers are the other enrollments that read the credentials
// Secret of a deleted one.
func (r *Reconciler) credentialSharers(ctx context.Context, obj client.Object) []reconcile.Request {
	ste, ok := obj.(*v1alpha1.SoftwareTokenEnrollment)
	if !ok || ste.Spec.CredentialsSecretRef == nil {
		return nil
	}
	var list v1alpha1.SoftwareTokenEnrollmentList
	if err := r.List(ctx, &list, client.InNamespace(ste.Namespace),
		client.MatchingFields{secretNamesIndex: ste.Spec.CredentialsSecretRef.Name}); err != nil {
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for _, req := range requestsFor(list.Items) {
		if req.Name != ste.Name {
			reqs = append(reqs, req)
		}
	}
	return reqs
}

func (r *Reconciler) allEnrollments(ctx context.Context) []reconcile.Request {
	var list v1alpha1.SoftwareTokenEnrollmentList
	if err := r.List(ctx, &list); err != nil {
		return nil
	}
	return requestsFor(list.Items)
}

func requestsFor(items []v1alpha1.SoftwareTokenEnrollment) []reconcile.Request {
	reqs := make([]reconcile.Request, 0, len(items))
	for _, ste := range items {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ste.Namespace, Name: ste.Name}})
	}
	return reqs
}

func referencedSecrets(ste *v1alpha1.SoftwareTokenEnrollment) []string {
	names := []string{v1alpha1.SecretNameOf(ste)}
	if ref := ste.Spec.CredentialsSecretRef; ref != nil {
		names = append(names, ref.Name)
	}
	if ref := ste.Spec.AccessTokenSecretRef; ref != nil {
		names = append(names, ref.Name)
	}
	if ref := ste.Spec.ClientSecretRef; ref != nil {
		names = append(names, ref.Name)
	}
	return names
}
