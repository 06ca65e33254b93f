package lifecycle

import (
	"time"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/conditions"
)

// Ownership is how the enrollment stands to the Secret its spec names.
type Ownership int

const (
	// OwnNone: no such Secret.
	OwnNone Ownership = iota
	// OwnOwned: the enrollment controls it.
	OwnOwned
	// OwnRetained: an enrollment of this namespace and name released it on
	// deletion (deletionPolicy Retain); this one adopts it once its seed is proven.
	OwnRetained
	// OwnForeign: someone else's; never touched.
	OwnForeign
)

// ClaimKind is how the claim on a user stands.
type ClaimKind int

const (
	// ClaimFree: no claim, or one whose enrollment is gone.
	ClaimFree ClaimKind = iota
	ClaimMine
	// ClaimOther: a live enrollment holds it.
	ClaimOther
)

// Claim is the claim on a user: who holds it, when it is another enrollment.
type Claim struct {
	Kind   ClaimKind
	Holder Holder
}

// Holder names an enrollment.
type Holder struct{ Namespace, Name string }

// Inputs is what the spec and its referenced Secrets resolve to, with every
// secret value left out: only whether it is there.
type Inputs struct {
	// Pool is where the enrollment signs in, inline or from its ClusterUserPool.
	Pool   PoolSettings
	Region string
	// Username is the credentials Secret's username.
	Username string
	// AccessToken says an access token is given instead of credentials.
	AccessToken bool
	DeviceName  string
	Issuer      string
	// Hash identifies the generation, the rotate request and the contents
	// (never the metadata) of the referenced Secrets: a change of any of
	// them is news that ends a backoff or a stall.
	Hash string
	// Err is why the inputs are incomplete: a wait or a stall.
	Err error
}

// Observation is everything one reconcile knows before it asks Cognito. It
// is gathered once, by the controller, and Decide reads nothing else.
type Observation struct {
	Enrollment *v1alpha1.SoftwareTokenEnrollment
	Now        time.Time
	// StepNow is Cognito's time, which decides the TOTP step its codes
	// are checked in (learnt from the Date of its answers; Now until one
	// has told it).
	StepNow time.Time
	// SecretName is the Secret the spec names.
	SecretName string
	Ownership  Ownership
	Record     Record
	// RecordErr says the Secret's record cannot be read.
	RecordErr error
	// Active and Pending are the fingerprints of the seeds stored under
	// "secret" and "pending-secret", "" when absent or not a base32 seed.
	Active, Pending string
	In              Inputs
	// Claim is the claim on the recorded identity, when the record has one.
	Claim Claim
	// Recheck is how often a stall fixed outside the inputs (a
	// DuplicateEnrollment, a Lambda trigger's refusal) is looked at again.
	Recheck time.Duration
	// TokenSub is the sub the given access token names, read locally.
	TokenSub string
	// Pool is the ClusterUserPool spec.userPoolRef names, when it exists,
	// and NamespaceLabels the namespace's labels when its selector needs them.
	Pool            *v1alpha1.ClusterUserPool
	NamespaceLabels map[string]string
	// RequireUserPoolRef is the manager's --require-user-pool-ref.
	RequireUserPoolRef bool
	// DeletionTimedOut: the enrollment is being deleted and the deletion
	// timeout has run out, on the API server's clock.
	DeletionTimedOut bool
	// NamespaceDeleting: the enrollment's namespace is being deleted: no
	// seed can stay in it.
	NamespaceDeleting bool
	// SecretDeleting: the enrollment's Secret is being deleted: its seed is
	// moving to the seed store.
	SecretDeleting bool
	// Stored is the enrollment's entry in the seed store, if any: for a live
	// enrollment the one kept for its namespace and name, for a deleting one
	// only one it put there itself.
	Stored *StoredSeed
}

// SeedMustLeave says the seed cannot stay in the enrollment's namespace,
// or is already only in the store.
func (o *Observation) SeedMustLeave() bool {
	return o.NamespaceDeleting || o.SecretDeleting || (o.Ownership != OwnOwned && o.Stored != nil)
}

// seedOwned says a seed of this enrollment's is kept somewhere: in its
// Secret, or in the store.
func (o *Observation) seedOwned() bool {
	return (o.Ownership == OwnOwned && o.HasSeed()) || (o.Stored != nil && (o.Stored.Active != "" || o.Stored.Pending != ""))
}

// HasSeed says a seed is stored under either key.
func (o *Observation) HasSeed() bool { return o.Active != "" || o.Pending != "" }

// SeedTrusted says the stored secret is the one Cognito last proved and
// nothing has been associated since: the enrollment stays Ready through
// failures that happen before anything new is asked of Cognito. A pool not
// known yet (a ClusterUserPool not created) is no evidence of a change.
func (o *Observation) SeedTrusted() bool {
	return o.Ownership == OwnOwned && o.Active != "" && o.Pending == "" && !o.Record.Associating() &&
		o.Record.Seed.Fingerprint == o.Active &&
		(!o.Record.HasIdentity() || o.In.Pool.ID == "" || o.Record.Identity.Pool == o.In.Pool.ID)
}

// SignInMatchesRecord says the inputs still sign in as the recorded user,
// as far as can be told without Cognito.
func (o *Observation) SignInMatchesRecord() bool {
	if o.In.Err != nil {
		return true // nothing to compare: no evidence of a change
	}
	if o.Enrollment.Spec.AccessTokenSecretRef != nil {
		return o.TokenSub != "" && o.TokenSub == o.Record.Identity.Sub
	}
	return o.In.Username == o.Record.Identity.SignInName
}

// RotationDue says a new secret is wanted: the rotate annotation carries a
// value that asks for one (see Rotations), or spec.rotation.interval has
// run out. The record counts alongside the status, which the cache may
// serve stale: a rotation is never repeated for that reason.
func (o *Observation) RotationDue() bool {
	if v := o.Enrollment.Annotations[v1alpha1.AnnotationRotate]; v != "" && v != o.Enrollment.Status.LastRotateRequest &&
		!o.Record.Rotations.Handled(v) {
		return true
	}
	next := o.NextRotation()
	return next != nil && !o.Now.Before(*next)
}

// NextRotation is when the interval next asks for a rotation: from the
// recorded enrollment time, or later when a failed rotation deferred it.
func (o *Observation) NextRotation() *time.Time {
	rot := o.Enrollment.Spec.Rotation
	if rot == nil || rot.Interval == nil || o.Record.Seed.EnrolledAt == nil {
		return nil
	}
	t := o.Record.Seed.EnrolledAt.Add(rot.Interval.Duration)
	st := &o.Enrollment.Status
	if st.NextRotationTime != nil && st.NextRotationTime.After(t) &&
		conditions.IsTrue(st.Conditions, v1alpha1.ConditionRotationFailed) {
		t = st.NextRotationTime.Time
	}
	return &t
}

func (h Holder) String() string { return h.Namespace + "/" + h.Name }
