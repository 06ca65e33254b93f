package seedstore

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/kube"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/lifecycle"
)

// sweepEvery is how often dormant stored seeds are checked against their
// retention.
const sweepEvery = time.Hour

// sweeper runs on the leader: once at start, it puts FinalizerSeed on the
// retained Secrets earlier releases left without it (an enrollment's own
// Secret gets it at its next write), and then, every hour, deletes the
// dormant stored seeds past their retention.
type sweeper struct{ r *Reconciler }

func (s *sweeper) NeedLeaderElection() bool { return true }

func (s *sweeper) Start(ctx context.Context) error {
	l := log.FromContext(ctx).WithName("seedstore")
	if err := s.protectRetained(ctx); err != nil {
		l.Error(err, "protecting retained Secrets of earlier releases")
	}
	if s.r.DormantRetention <= 0 {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		if err := s.expireDormant(ctx); err != nil {
			l.Error(err, "expiring dormant stored seeds")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// protectRetained puts FinalizerSeed on the operator's Secrets that hold a
// seed, belong to no enrollment and lack it.
func (s *sweeper) protectRetained(ctx context.Context) error {
	for _, ns := range s.r.namespaces() {
		if err := s.protectRetainedIn(ctx, ns); err != nil {
			return err
		}
	}
	return nil
}

func (s *sweeper) protectRetainedIn(ctx context.Context, ns string) error {
	var list corev1.SecretList
	if err := s.r.APIReader.List(ctx, &list, client.InNamespace(ns),
		client.MatchingLabels{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue}); err != nil {
		return err
	}
	for i := range list.Items {
		sec := &list.Items[i]
		_, owned := sec.Labels[v1alpha1.LabelEnrollmentUID]
		if owned || sec.Namespace == s.r.StoreNamespace || !sec.DeletionTimestamp.IsZero() ||
			controllerutil.ContainsFinalizer(sec, v1alpha1.FinalizerSeed) ||
			(kube.SeedOf(sec, v1alpha1.KeySecret) == "" && kube.SeedOf(sec, v1alpha1.KeyPendingSecret) == "") {
			continue
		}
		controllerutil.AddFinalizer(sec, v1alpha1.FinalizerSeed)
		if err := s.r.Update(ctx, sec); err != nil {
			return err
		}
	}
	return nil
}

// expireDormant deletes the dormant stored seeds past their retention.
func (s *sweeper) expireDormant(ctx context.Context) error {
	var list corev1.SecretList
	if err := s.r.APIReader.List(ctx, &list, client.InNamespace(s.r.StoreNamespace),
		client.MatchingLabels{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue, v1alpha1.LabelSeedState: string(lifecycle.SeedDormant)}); err != nil {
		return err
	}
	store := kube.SeedStore{Client: s.r.Client, Reader: s.r.APIReader, Namespace: s.r.StoreNamespace}
	for i := range list.Items {
		sec := &list.Items[i]
		at, err := time.Parse(time.RFC3339, sec.Annotations[v1alpha1.AnnotationStoredAt])
		if err != nil || s.r.Now().Sub(at) < s.r.DormantRetention {
			continue
		}
		if err := store.Delete(ctx, sec); err != nil {
			return err
		}
		log.FromContext(ctx).Info("deleted a dormant stored seed past its retention", "stored", sec.Name)
	}
	return nil
}
