package controllers

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/totp"
)

// ownership is how the enrollment stands to the Secret its spec names.
type ownership int

const (
	// ownNone: no such Secret.
	ownNone ownership = iota
	// ownOwned: the enrollment controls it.
	ownOwned
	// ownRetained: an enrollment of this namespace and name released it on
	// deletion (deletionPolicy Retain); this one adopts it once its seed is proven.
	ownRetained
	// ownForeign: someone else's; never touched.
	ownForeign
)

// observation is everything one reconcile knows before it asks Cognito:
// the enrollment, its Secret and that Secret's record, the referenced
// Secrets and the claim on the recorded user. It is gathered once, and
// decide reads nothing else.
type observation struct {
	ste       *v1alpha1.SoftwareTokenEnrollment
	now       time.Time
	target    *corev1.Secret
	ownership ownership
	rec       record
	// secret and pending are the stored seeds, when they are base32.
	secret, pending string
	in              inputs
	// claim is the claim on the recorded identity, when the record has one.
	claim claimState
	// recheckDuplicate is how often a DuplicateEnrollment is looked at
	// again: the other enrollment may be gone.
	recheckDuplicate time.Duration
	// tokenSub is the sub the given access token names, read locally.
	tokenSub string
	// pool is the ClusterUserPool spec.userPoolRef names, when it exists,
	// and nsLabels the namespace's labels when its selector needs them.
	pool     *v1alpha1.ClusterUserPool
	nsLabels map[string]string
	// requireUserPoolRef is the manager's --require-user-pool-ref.
	requireUserPoolRef bool
}

// observe gathers the observation. Only the API server is read.
func (r *Reconciler) observe(ctx context.Context, ste *v1alpha1.SoftwareTokenEnrollment) (*observation, error) {
	o := &observation{ste: ste, now: r.Now(), requireUserPoolRef: r.RequireUserPoolRef, recheckDuplicate: r.RetryMax}
	// The enrollment's Secret and its inputs are independent reads.
	err := together(func() error { return r.observeSecret(ctx, o) }, func() error {
		if err := r.observeUserPool(ctx, o); err != nil {
			return err
		}
		o.in = r.readInputs(ctx, ste, o.pool)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if o.in.accessToken != "" {
		if c, err := cognito.TokenClaims(o.in.accessToken); err == nil {
			o.tokenSub = c.Sub
		}
	}
	if o.ownership == ownOwned && o.rec.hasIdentity() && ste.DeletionTimestamp.IsZero() {
		if o.claim, err = r.readClaim(ctx, o.rec.identity(), ste); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// observeSecret reads the enrollment's Secret, its seeds and its record.
func (r *Reconciler) observeSecret(ctx context.Context, o *observation) error {
	name := v1alpha1.SecretNameOf(o.ste)
	var s corev1.Secret
	err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: o.ste.Namespace, Name: name}, &s)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return retry(v1alpha1.ReasonKubernetesAPIError, fmt.Sprintf("reading Secret %q: %v", name, err))
	default:
		o.target = &s
		o.ownership = ownershipOf(&s, o.ste)
		o.rec = readRecord(&s)
		o.secret = seed(&s, v1alpha1.KeySecret)
		o.pending = seed(&s, v1alpha1.KeyPendingSecret)
	}
	return nil
}

func ownershipOf(s *corev1.Secret, ste *v1alpha1.SoftwareTokenEnrollment) ownership {
	if metav1.IsControlledBy(s, ste) {
		return ownOwned
	}
	if metav1.GetControllerOf(s) == nil && s.Labels[v1alpha1.LabelManagedBy] == v1alpha1.ManagedByValue &&
		s.Annotations[v1alpha1.AnnotationRetainedFrom] == ste.Namespace+"/"+ste.Name {
		return ownRetained
	}
	return ownForeign
}

// seed is a key of the Secret when it holds a usable base32 seed.
func seed(s *corev1.Secret, key string) string {
	v := string(s.Data[key])
	if v == "" || totp.CheckSecret(v) != nil {
		return ""
	}
	return v
}

// seedTrusted says the stored secret is the one Cognito last proved and
// nothing has been associated since: the enrollment stays Ready through
// failures that happen before anything new is asked of Cognito. A pool not
// known yet (a ClusterUserPool not created) is no evidence of a change.
func (o *observation) seedTrusted() bool {
	return o.ownership == ownOwned && o.secret != "" && o.pending == "" && !o.rec.associating &&
		o.rec.fingerprint == totp.Fingerprint(o.secret) &&
		(!o.rec.hasIdentity() || o.in.pool.id == "" || o.rec.pool == o.in.pool.id)
}

// signInMatchesRecord says the inputs still sign in as the recorded user,
// as far as can be told without Cognito.
func (o *observation) signInMatchesRecord() bool {
	if o.in.err != nil {
		return true // nothing to compare: no evidence of a change
	}
	if o.ste.Spec.AccessTokenSecretRef != nil {
		return o.tokenSub != "" && o.tokenSub == o.rec.sub
	}
	return o.in.username == o.rec.signInName
}

// rotationDue says a new secret is wanted: the rotate annotation carries a
// value not handled yet, or spec.rotation.interval has run out. The
// Secret's record counts alongside the status, which the cache may serve
// stale: a rotation is never repeated for that reason.
func (o *observation) rotationDue() bool {
	if v := o.ste.Annotations[v1alpha1.AnnotationRotate]; v != "" && v != o.ste.Status.LastRotateRequest &&
		v != o.rec.rotateHandled {
		return true
	}
	next := o.nextRotation()
	return next != nil && !o.now.Before(*next)
}

// nextRotation is when the interval next asks for a rotation: from the
// recorded enrollment time, or later when a failed rotation deferred it.
func (o *observation) nextRotation() *time.Time {
	rot := o.ste.Spec.Rotation
	if rot == nil || rot.Interval == nil || o.rec.enrolledAt == nil {
		return nil
	}
	t := o.rec.enrolledAt.Add(rot.Interval.Duration)
	st := &o.ste.Status
	if st.NextRotationTime != nil && st.NextRotationTime.After(t) &&
		isTrue(st.Conditions, v1alpha1.ConditionRotationFailed) {
		t = st.NextRotationTime.Time
	}
	return &t
}
