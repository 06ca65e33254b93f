package lifecycle

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
)

// SchemaVersion is the version of the record this release writes.
const SchemaVersion = 1

// Record is an enrollment's safety record: what is known about the seeds its
// Secret holds. It is one JSON annotation (v1alpha1.AnnotationRecord) on that
// Secret, written in the same update as any change of seed, so the seeds and
// the record never disagree. Attempt and backoff bookkeeping is in the
// enrollment's status; the phase is derived from both, never stored.
type Record struct {
	SchemaVersion int `json:"schemaVersion"`
	// Identity is the user the seeds belong to. The enrollment never writes
	// another identity's seed over it.
	Identity Identity `json:"identity,omitzero"`
	// Seed is what was proven of the seed under the "secret" key.
	Seed Seed `json:"seed,omitzero"`
	// Pending is what is known of the seed under "pending-secret".
	Pending Pending `json:"pending,omitzero"`
	// Rotations are the rotate requests carried out.
	Rotations Rotations `json:"rotations,omitzero"`
	// AssociatingSince is set, before a new token is associated while a seed
	// is stored, to when that happened. Until a sign-in proves which seed
	// Cognito holds, the record no longer vouches for the stored one
	// (Cognito may have dropped it at association, and a lost reply leaves
	// an association the operator never saw).
	AssociatingSince *time.Time `json:"associatingSince,omitempty"`
	// RetainedFrom marks a Secret released by an enrollment with
	// deletionPolicy Retain: <namespace>/<name>. An enrollment of that
	// namespace and name adopts it once its seed is proven.
	RetainedFrom string `json:"retainedFrom,omitempty"`
	// Owner is the name of the enrollment whose Secret this is (its UID is
	// the Secret's enrollment-uid label).
	Owner string `json:"owner,omitempty"`
	// RestoredFrom names the stored seed this Secret was written back from:
	// it is deleted from the store once Cognito proved the seed here.
	RestoredFrom string `json:"restoredFrom,omitempty"`
	// Protected names the Secrets of the enrollment's namespace that carry
	// its disable-protection, because deletionPolicy Disable needs them.
	Protected []string `json:"protected,omitempty"`
}

// Seed records the proven seed.
type Seed struct {
	// Fingerprint is totp.Fingerprint of the seed Cognito last proved.
	Fingerprint string `json:"fingerprint,omitempty"`
	// EnrolledAt is when the seed was verified.
	EnrolledAt *time.Time `json:"enrolledAt,omitempty"`
	// Generation is the enrollment generation last applied.
	Generation int64 `json:"generation,omitempty"`
	// Spec is SpecHash of the spec it was proven for.
	Spec string `json:"spec,omitempty"`
}

// Pending records the staged seed.
type Pending struct {
	// Rotate is the rotate request the staged seed was associated for:
	// promoting it handles that request, not one made since.
	Rotate string `json:"rotate,omitempty"`
	// Verified is set once Cognito verified the staged seed and the
	// preference is set: the one-time-code hold.
	Verified *Verified `json:"verified,omitempty"`
}

// Verified is the one-time-code hold of a verified staged seed: it is
// promoted once Until has passed, so that the code the operator used is
// never the one a consumer signs in with.
type Verified struct {
	Until time.Time `json:"until"`
	// Fingerprint is the seed's that Cognito verified.
	Fingerprint string `json:"fingerprint"`
	// Inputs is the inputs fingerprint it was verified for: if the spec or
	// a referenced Secret changed since, it is proven again.
	Inputs string `json:"inputs"`
}

// HasIdentity says the record names the user its seeds belong to. Secrets
// written before identities were recorded lack it; they are migrated by the
// first reconcile that proves their seed.
func (r Record) HasIdentity() bool { return r.Identity.Known() }

// Associating says a token was associated and no sign-in has proved since
// which seed Cognito holds.
func (r Record) Associating() bool { return r.AssociatingSince != nil }

// Encode is the annotation's value.
func (r Record) Encode() string {
	r.SchemaVersion = SchemaVersion
	b, err := json.Marshal(r)
	if err != nil {
		panic(err) // plain fields only: cannot fail
	}
	return string(b)
}

// ErrUnreadable says a Secret's record cannot be read by this release.
type ErrUnreadable struct{ Why string }

func (e *ErrUnreadable) Error() string { return e.Why }

// ReadRecord is the record a Secret's annotations hold: the annotations
// earlier releases wrote, when there are any (every write of this release
// removes them, so they are newer than a record beside them: an earlier
// release wrote last), else the record annotation, else an empty record. A
// record this release cannot read (a newer schema, or an edit that broke
// it) is an *ErrUnreadable: the operator then acts on nothing it would say.
func ReadRecord(annotations map[string]string) (Record, error) {
	v, ok := annotations[v1alpha1.AnnotationRecord]
	if !ok || hasLegacy(annotations) {
		return fromLegacy(annotations), nil
	}
	var r Record
	if err := json.Unmarshal([]byte(v), &r); err != nil {
		return Record{}, &ErrUnreadable{Why: fmt.Sprintf("the %s annotation is not valid JSON", v1alpha1.AnnotationRecord)}
	}
	if r.SchemaVersion < 1 || r.SchemaVersion > SchemaVersion {
		return Record{}, &ErrUnreadable{Why: fmt.Sprintf("the %s annotation has schemaVersion %d; this release reads 1 to %d (was it written by a newer release?)",
			v1alpha1.AnnotationRecord, r.SchemaVersion, SchemaVersion)}
	}
	return r, nil
}
