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
}

// secretInputs are the values of the referenced Secrets: they never enter
// the pure observation.
type secretInputs struct {
	password, accessToken string
	appClient             cognito.AppClient
	// credentials is the credentials Secret as read, for its finalizer.
	credentials *corev1.Secret
}

// observe gathers the observation. Only the API server is read.
func (r *Reconciler) observe(ctx context.Context, ste *v1alpha1.SoftwareTokenEnrollment) (*observation, error) {
	o := &observation{Observation: lifecycle.Observation{Enrollment: ste, Now: r.Now(), SecretName: v1alpha1.SecretNameOf(ste),
		RequireUserPoolRef: r.RequireUserPoolRef, RecheckDuplicate: r.RetryMax}}
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
	if !ste.DeletionTimestamp.IsZero() {
		o.DeletionTimedOut = r.deletionTimedOut(ste)
	}
	return o, nil
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
	o.secret, o.pending = seed(s, v1alpha1.KeySecret), seed(s, v1alpha1.KeyPendingSecret)
	o.Active, o.Pending = fingerprint(o.secret), fingerprint(o.pending)
}

func ownershipOf(s *corev1.Secret, ste *v1alpha1.SoftwareTokenEnrollment, rec lifecycle.Record) lifecycle.Ownership {
	if metav1.IsControlledBy(s, ste) {
		return lifecycle.OwnOwned
	}
	if metav1.GetControllerOf(s) == nil && s.Labels[v1alpha1.LabelManagedBy] == v1alpha1.ManagedByValue &&
		rec.RetainedFrom == ste.Namespace+"/"+ste.Name {
		return lifecycle.OwnRetained
	}
	return lifecycle.OwnForeign
}

// seed is a key of the Secret when it holds a usable base32 seed.
func seed(s *corev1.Secret, key string) string {
	v := string(s.Data[key])
	if v == "" || totp.CheckSecret(v) != nil {
		return ""
	}
	return v
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
