// Package seedstore is the guardian of the seeds the operator keeps: a
// Secret holding a seed carries FinalizerSeed, and when its deletion begins
// (a namespace deletion, a kubectl delete, a Secret retained long ago) this
// controller keeps its seed in the seed store in the operator's namespace
// before it lets the Secret go. A Secret whose deletion has begun cannot be
// kept; its seed can. It also enforces the retention of dormant seeds.
package seedstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/kube"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/lifecycle"
)

// Reconciler keeps the seed of every Secret whose deletion has begun.
type Reconciler struct {
	// Client writes; APIReader reads Secrets straight from the API server.
	client.Client
	APIReader client.Reader
	Recorder  events.EventRecorder
	// StoreNamespace is the operator's namespace (--cluster-resource-namespace).
	StoreNamespace string
	// SecretEvents reports changes to Secrets (shared by the controllers).
	SecretEvents *kube.SecretEvents
	// Namespaces are the watched namespaces (--namespaces); empty is all.
	Namespaces []string
	// DormantRetention, when set, deletes dormant stored seeds (TOTP off,
	// confirmed) that have been dormant longer. Retained ones are never
	// deleted by the operator: they may be a user's only working seed.
	DormantRetention time.Duration
	// Now is the clock.
	Now func() time.Time
}

// Reconcile keeps the seed of a Secret being deleted, then lets it go.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	var s corev1.Secret
	if err := r.APIReader.Get(ctx, req.NamespacedName, &s); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if s.DeletionTimestamp.IsZero() || !controllerutil.ContainsFinalizer(&s, v1alpha1.FinalizerSeed) {
		return reconcile.Result{}, nil
	}
	var ns corev1.Namespace
	if err := r.APIReader.Get(ctx, types.NamespacedName{Name: s.Namespace}, &ns); err != nil {
		return reconcile.Result{}, err
	}
	origin := originOf(&s, &ns)
	store := kube.SeedStore{Client: r.Client, Reader: r.APIReader, Namespace: r.StoreNamespace}
	stored, err := store.Put(ctx, &s, origin, lifecycle.SeedRetained, r.Now())
	if err != nil {
		return reconcile.Result{}, err
	}
	next := s.DeepCopy()
	controllerutil.RemoveFinalizer(next, v1alpha1.FinalizerSeed)
	if err := r.Update(ctx, next); err != nil && !apierrors.IsNotFound(err) {
		return reconcile.Result{}, err
	}
	log.FromContext(ctx).Info("kept the seed of a Secret being deleted", "stored", stored.Name,
		"origin", fmt.Sprintf("%s/%s", origin.Namespace, origin.Enrollment))
	r.Recorder.Eventf(&s, nil, corev1.EventTypeNormal, "SeedStored", "Delete",
		"Kept this Secret's seed in the seed store as %s/%s before its deletion", r.StoreNamespace, stored.Name)
	return reconcile.Result{}, nil
}

// originOf says where a Secret's seed comes from: its namespace, and the
// enrollment it is or was the Secret of.
func originOf(s *corev1.Secret, ns *corev1.Namespace) lifecycle.Origin {
	rec, _ := lifecycle.ReadRecord(s.Annotations)
	name := rec.Owner // the record names its enrollment; the label may be a hash
	if _, retained, ok := strings.Cut(rec.RetainedFrom, "/"); ok {
		name = retained
	}
	if name == "" {
		name = s.Labels[v1alpha1.LabelEnrollment] // written by an earlier release
	}
	return lifecycle.Origin{Namespace: s.Namespace, NamespaceUID: string(ns.UID), Enrollment: name,
		EnrollmentUID: s.Labels[v1alpha1.LabelEnrollmentUID], User: rec.Identity.User, Pool: rec.Identity.Pool}
}

// SetupWithManager registers the guardian and its sweeps.
func (r *Reconciler) SetupWithManager(mgr manager.Manager) error {
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.SecretEvents == nil {
		var err error
		if r.SecretEvents, err = kube.NewSecretEvents(mgr.GetConfig(), nil); err != nil {
			return err
		}
	}
	if err := mgr.Add(&sweeper{r: r}); err != nil {
		return err
	}
	return builder.ControllerManagedBy(mgr).Named("seedstore").
		WatchesRawSource(r.SecretEvents.Source(deletingSeed, r.allDeleting)).
		Complete(r)
}

// deletingSeed maps a Secret event to the guardian's work: a Secret of the
// operator's holding a seed, whose deletion has begun.
func deletingSeed(_ context.Context, obj client.Object) []reconcile.Request {
	if obj.GetLabels()[v1alpha1.LabelManagedBy] != v1alpha1.ManagedByValue || obj.GetDeletionTimestamp() == nil ||
		!controllerutil.ContainsFinalizer(obj, v1alpha1.FinalizerSeed) {
		return nil
	}
	return []reconcile.Request{{NamespacedName: client.ObjectKeyFromObject(obj)}}
}

// allDeleting is every such Secret, after a watch had to start over.
func (r *Reconciler) allDeleting(ctx context.Context) []reconcile.Request {
	var reqs []reconcile.Request
	for _, ns := range r.namespaces() {
		var list metav1.PartialObjectMetadataList
		list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("SecretList"))
		if err := r.APIReader.List(ctx, &list, client.InNamespace(ns),
			client.MatchingLabels{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue}); err != nil {
			continue
		}
		for i := range list.Items {
			reqs = append(reqs, deletingSeed(ctx, &list.Items[i])...)
		}
	}
	return reqs
}

// namespaces are the namespaces to list in: the watched ones, or all ("").
func (r *Reconciler) namespaces() []string {
	if len(r.Namespaces) == 0 {
		return []string{metav1.NamespaceAll}
	}
	return r.Namespaces
}
