package enrollment

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/kube"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/lifecycle"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/totp"
)

// observation is everything one reconcile knows before it asks Cognito: the
// pure part that lifecycle.Decide reads, and beside it what the controller
// alone may hold (the Secret as read, the seeds, the secret inputs).
type observation struct {
	lifecycle.Observation
	// target is the enrollment's Secret as read (or last written).
	target *corev1.Secret
	// secret and pending are the stored seeds, when they are base32.
	secret, pending string
	// creds are the inputs' secret values.
	creds secretInputs
	// claim is the claim on the recorded identity, with its Leases.
	claim claimState
	// namespaceUID is the enrollment's namespace's, when it was read.
	namespaceUID string
	// stored is the enrollment's entry in the seed store, when it was read.
	stored *corev1.Secret
}

// secretInputs are the values of the referenced Secrets: they never enter
// the pure observation.
type secretInputs struct {
	password, accessToken string
	appClient             cognito.AppClient
	// credentials is the credentials Secret as read, for its finalizer.
	credentials *corev1.Secret
	// accessTokenSecret and clientSecretSecret are the other input Secrets
	// of the enrollment's namespace, for their finalizers too.
	accessTokenSecret, clientSecretSecret *corev1.Secret
}

// observe gathers the observation. Only the API server is read.
func (r *Reconciler) observe(ctx context.Context, ste *v1alpha1.SoftwareTokenEnrollment) (*observation, error) {
	o := &observation{Observation: lifecycle.Observation{Enrollment: ste, Now: r.Now(), SecretName: v1alpha1.SecretNameOf(ste),
		RequireUserPoolRef: r.RequireUserPoolRef, Recheck: r.RetryMax}}
	// The enrollment's Secret and its inputs are independent reads.
	err := together(func() error { return r.observeSecret(ctx, o) }, func() error {
		if err := r.observeUserPool(ctx, o); err != nil {
			return err
		}
		o.In, o.creds = r.readInputs(ctx, ste, o.Pool)
		return nil
	})
	if err != nil {
		return nil, err
	}
	o.StepNow = o.Now
	if o.In.Region != "" {
		if t, known, _ := r.Cognito.ForRegion(o.In.Region).Now(); known {
			o.StepNow = onCognitosClock(o.Now, t)
		}
	}
	if o.creds.accessToken != "" {
		if c, err := cognito.TokenClaims(o.creds.accessToken); err == nil {
			o.TokenSub = c.Sub
		}
	}
	if o.Ownership == lifecycle.OwnOwned && o.Record.HasIdentity() && ste.DeletionTimestamp.IsZero() {
		if o.claim, err = r.readClaim(ctx, o.Record.Identity, ste); err != nil {
			return nil, err
		}
		o.Claim = o.claim.Claim
	}
	deleting := !ste.DeletionTimestamp.IsZero()
	if deleting {
		o.DeletionTimedOut = r.deletionTimedOut(ste)
	}
	// The seed store is looked in only where it can matter: a deletion, an
	// enrollment with no Secret, or a Secret written back from the store.
	if deleting || o.Ownership == lifecycle.OwnNone || o.Record.RestoredFrom != "" {
		if err := r.observeStore(ctx, o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// observeStore reads the namespace (its UID keys the seed store, and its
// deletion says no seed can stay) and the enrollment's stored seed. A
// deleting enrollment counts only a seed it stored itself; a live one any
// kept for its namespace and name.
func (r *Reconciler) observeStore(ctx context.Context, o *observation) error {
	ste := o.Enrollment
	var ns corev1.Namespace
	if err := r.APIReader.Get(ctx, types.NamespacedName{Name: ste.Namespace}, &ns); err != nil {
		return retry(v1alpha1.ReasonKubernetesAPIError, fmt.Sprintf("reading namespace %q: %v", ste.Namespace, err))
	}
	o.namespaceUID = string(ns.UID)
	o.NamespaceDeleting = !ns.DeletionTimestamp.IsZero()
	name := lifecycle.StoreName(o.namespaceUID, ste.Name)
	if o.Record.RestoredFrom != "" {
		name = o.Record.RestoredFrom
	}
	stored, err := r.store().Get(ctx, name)
	if err != nil || stored == nil {
		return err
	}
	// A seed written back here names its stored copy (an administrator's
	// adoption may name one from elsewhere); otherwise it must be this
	// enrollment's.
	origin := kube.OriginOf(stored)
	if o.Record.RestoredFrom == "" && (origin.NamespaceUID != o.namespaceUID || origin.Enrollment != ste.Name ||
		(!ste.DeletionTimestamp.IsZero() && origin.EnrollmentUID != string(ste.UID))) {
		return nil
	}
	o.stored, o.Stored = stored, kube.StoredSeedOf(stored)
	return nil
}

// HasSeedHere says the enrollment's own Secret holds a seed.
func (o *observation) HasSeedHere() bool {
	return o.target != nil && (kube.SeedOf(o.target, v1alpha1.KeySecret) != "" || kube.SeedOf(o.target, v1alpha1.KeyPendingSecret) != "")
}

// useStoredSeed makes a deleting enrollment whose seed is only in the store
// (its Secret went with a namespace deletion) carry out its policy on that
// seed.
func (o *observation) useStoredSeed() {
	if (o.Ownership == lifecycle.OwnOwned && o.HasSeedHere()) || o.stored == nil {
		return
	}
	o.secret, o.pending = kube.SeedOf(o.stored, v1alpha1.KeySecret), kube.SeedOf(o.stored, v1alpha1.KeyPendingSecret)
	o.Active, o.Pending, o.Record = o.Stored.Active, o.Stored.Pending, o.Stored.Record
}

// origin says where the enrollment's seed comes from, for the seed store.
func (o *observation) origin() lifecycle.Origin {
	ste := o.Enrollment
	return lifecycle.Origin{Namespace: ste.Namespace, NamespaceUID: o.namespaceUID, Enrollment: ste.Name,
		EnrollmentUID: string(ste.UID), User: o.Record.Identity.User, Pool: o.Record.Identity.Pool}
}

// observeSecret reads the enrollment's Secret, its seeds and its record.
func (r *Reconciler) observeSecret(ctx context.Context, o *observation) error {
	var s corev1.Secret
	err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: o.Enrollment.Namespace, Name: o.SecretName}, &s)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return retry(v1alpha1.ReasonKubernetesAPIError, fmt.Sprintf("reading Secret %q: %v", o.SecretName, err))
	default:
		o.setTarget(&s)
	}
	return nil
}

// setTarget takes in the enrollment's Secret: its record, seeds and ownership.
func (o *observation) setTarget(s *corev1.Secret) {
	o.target = s
	o.Record, o.RecordErr = lifecycle.ReadRecord(s.Annotations)
	o.Ownership = ownershipOf(s, o.Enrollment, o.Record)
	o.secret, o.pending = kube.SeedOf(s, v1alpha1.KeySecret), kube.SeedOf(s, v1alpha1.KeyPendingSecret)
	o.Active, o.Pending = fingerprint(o.secret), fingerprint(o.pending)
	o.SecretDeleting = o.Ownership != lifecycle.OwnForeign && !s.DeletionTimestamp.IsZero()
}

// ownershipOf is how the enrollment stands to a Secret: its own by the UID
// label (or, written by an earlier release, by a controller
// ownerReference), retained for it by the record, else someone else's.
func ownershipOf(s *corev1.Secret, ste *v1alpha1.SoftwareTokenEnrollment, rec lifecycle.Record) lifecycle.Ownership {
	managed := s.Labels[v1alpha1.LabelManagedBy] == v1alpha1.ManagedByValue
	uid, labelled := s.Labels[v1alpha1.LabelEnrollmentUID]
	switch {
	case managed && labelled && uid == string(ste.UID), metav1.IsControlledBy(s, ste):
		return lifecycle.OwnOwned
	case managed && !labelled && metav1.GetControllerOf(s) == nil && rec.RetainedFrom == ste.Namespace+"/"+ste.Name:
		return lifecycle.OwnRetained
	}
	return lifecycle.OwnForeign
}

// fingerprint is what the pure observation knows of a seed.
func fingerprint(seed string) string {
	if seed == "" {
		return ""
	}
	return totp.Fingerprint(seed)
}

// readRecordOf is the record a Secret holds now (empty when unreadable:
// nothing is written over an unreadable record, so only readers meet it).
func readRecordOf(s *corev1.Secret) lifecycle.Record {
	if s == nil {
		return lifecycle.Record{}
	}
	rec, _ := lifecycle.ReadRecord(s.Annotations)
	return rec
}
