// Package controllers holds the SoftwareTokenEnrollment reconciler.
package controllers

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrl "sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
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

// Reconciler enrols Cognito users in software-token MFA.
type Reconciler struct {
	// Client reads enrollments and Secret metadata from the cache and writes.
	client.Client
	// APIReader reads Secret data straight from the API server, so the
	// manager never caches the cluster's Secrets.
	APIReader client.Reader
	Recorder  events.EventRecorder
	Cognito   CognitoProvider

	// Now is the clock for TOTP codes and timestamps.
	Now func() time.Time
	// RetryBase is the first retry delay after a failure; it doubles up to RetryMax.
	RetryBase, RetryMax time.Duration
	// Timeout bounds one reconcile's Cognito work.
	Timeout time.Duration
	// DeletionTimeout is how long deletionPolicy Disable keeps trying before
	// it falls back to Retain.
	DeletionTimeout time.Duration
}

// +kubebuilder:rbac:groups=mfa.cognito-operator.dev,resources=softwaretokenenrollments,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=mfa.cognito-operator.dev,resources=softwaretokenenrollments/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=mfa.cognito-operator.dev,resources=softwaretokenenrollments/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile performs the enrolment steps that are still missing and reports them.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	ste := &v1alpha1.SoftwareTokenEnrollment{}
	if err := r.Get(ctx, req.NamespacedName, ste); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if r.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.Timeout)
		defer cancel()
	}
	e := &enrolment{r: r, ste: ste}
	if !ste.DeletionTimestamp.IsZero() {
		if !controllerutil.ContainsFinalizer(ste, Finalizer) {
			return reconcile.Result{}, nil
		}
		err := e.finalize(ctx)
		if err == nil {
			return reconcile.Result{}, nil
		}
		res, rerr := r.report(ctx, e, err)
		if asOutcome(err).class != cognito.Terminal {
			res.RequeueAfter = e.deletionRequeue(res.RequeueAfter)
		}
		return res, rerr
	}
	if err := r.ensureFinalizer(ctx, ste); err != nil {
		return r.report(ctx, e, err)
	}
	return r.report(ctx, e, e.run(ctx))
}

// run is the enrolment, step by step. Every step is safe to repeat after a
// crash at any point: a new seed is stored before Cognito verifies it, what
// is stored is proven before anything new is associated, and consumers see
// a seed under "secret" only once it is verified and the preference is set.
func (e *enrolment) run(ctx context.Context) error {
	if done, err := e.stillEnrolled(ctx); done || err != nil {
		return err
	}
	if err := e.resolveInputs(ctx); err != nil {
		return err
	}
	if err := e.unchangedSinceStall(); err != nil {
		return err
	}
	e.rotating = e.stored(keySecret) != "" && e.rotationDue()
	if err := e.authenticate(ctx); err != nil {
		return err
	}
	if err := e.proveStoredSecret(ctx); err != nil {
		return err
	}
	if !e.proven || (e.rotating && !e.provenPending) {
		if err := e.associate(ctx); err != nil {
			return err
		}
		if err := e.stagePending(ctx); err != nil {
			return err
		}
		if err := e.verifyAssociation(ctx); err != nil {
			return err
		}
	}
	if err := e.completeMFASetup(ctx); err != nil {
		return err
	}
	if err := e.setPreference(ctx); err != nil {
		return err
	}
	return e.promote(ctx)
}

// secretNamesIndex indexes enrollments by every Secret they read or write.
const secretNamesIndex = ".spec.secretNames"

// SetupWithManager registers the controller. Secrets are watched as metadata
// only: enough to notice a change to one an enrollment names, without
// caching the data of every Secret in the cluster.
func (r *Reconciler) SetupWithManager(mgr manager.Manager, opts ctrl.Options) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &v1alpha1.SoftwareTokenEnrollment{},
		secretNamesIndex, func(o client.Object) []string {
			return referencedSecrets(o.(*v1alpha1.SoftwareTokenEnrollment))
		}); err != nil {
		return err
	}
	return builder.ControllerManagedBy(mgr).
		For(&v1alpha1.SoftwareTokenEnrollment{}, builder.WithPredicates(
			predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.enrollmentsForSecret)).
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
	for _, ste := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ste.Namespace, Name: ste.Name}})
	}
	return reqs
}

func referencedSecrets(ste *v1alpha1.SoftwareTokenEnrollment) []string {
	names := []string{targetSecretName(ste)}
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

func (r *Reconciler) now() metav1.Time { return metav1.NewTime(r.Now()) }
