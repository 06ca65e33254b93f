package lifecycle

import (
	"strconv"
	"time"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
)

// The annotations releases up to chart 0.2.0 wrote instead of the record.
// They are read once, on first sight, and dropped by the first write.
const (
	legacyEnrolledGeneration   = v1alpha1.OperatorPrefix + "enrolled-generation"
	legacyEnrolledSpec         = v1alpha1.OperatorPrefix + "enrolled-spec"
	legacyEnrolledAt           = v1alpha1.OperatorPrefix + "enrolled-at"
	legacyFingerprint          = v1alpha1.OperatorPrefix + "secret-fingerprint"
	legacyRotateHandled        = v1alpha1.OperatorPrefix + "rotate-handled"
	legacyUserPool             = v1alpha1.OperatorPrefix + "user-pool"
	legacyUser                 = v1alpha1.OperatorPrefix + "user"
	legacyUserSub              = v1alpha1.OperatorPrefix + "user-sub"
	legacySignInName           = v1alpha1.OperatorPrefix + "sign-in-name"
	legacyPendingVerifiedUntil = v1alpha1.OperatorPrefix + "pending-verified-until"
	legacyPendingFingerprint   = v1alpha1.OperatorPrefix + "pending-fingerprint"
	legacyPendingInputs        = v1alpha1.OperatorPrefix + "pending-inputs"
	legacyPendingRotate        = v1alpha1.OperatorPrefix + "pending-rotate"
	legacyClientID             = v1alpha1.OperatorPrefix + "client-id"
	legacyAssociating          = v1alpha1.OperatorPrefix + "associating"
	legacyRetainedFrom         = v1alpha1.OperatorPrefix + "retained-from"
)

// LegacyAnnotations are the keys the record replaces: a writer of the
// record deletes them.
var LegacyAnnotations = []string{legacyEnrolledGeneration, legacyEnrolledSpec, legacyEnrolledAt, legacyFingerprint,
	legacyRotateHandled, legacyUserPool, legacyUser, legacyUserSub, legacySignInName, legacyPendingVerifiedUntil,
	legacyPendingFingerprint, legacyPendingInputs, legacyPendingRotate, legacyClientID, legacyAssociating, legacyRetainedFrom}

func hasLegacy(a map[string]string) bool {
	for _, k := range LegacyAnnotations {
		if _, ok := a[k]; ok {
			return true
		}
	}
	return false
}

// fromLegacy reads the annotations as the releases before the record wrote
// them. Chart 0.1.0's releases wrote the same keys but pending-rotate; the
// first ones wrote no identity, which the record then lacks (such a seed is
// proven again before the record vouches for it).
func fromLegacy(a map[string]string) Record {
	r := Record{SchemaVersion: SchemaVersion, RetainedFrom: a[legacyRetainedFrom],
		Identity: Identity{Pool: a[legacyUserPool], User: a[legacyUser], Sub: a[legacyUserSub], Client: a[legacyClientID],
			SignInName: a[legacySignInName]},
		Seed:    Seed{Fingerprint: a[legacyFingerprint], Spec: a[legacyEnrolledSpec], Generation: parseInt(a[legacyEnrolledGeneration])},
		Pending: Pending{Rotate: a[legacyPendingRotate]}}
	r.Rotations.Add(a[legacyRotateHandled])
	if t, err := time.Parse(time.RFC3339, a[legacyEnrolledAt]); err == nil {
		r.Seed.EnrolledAt = &t
	}
	if t, err := time.Parse(time.RFC3339Nano, a[legacyPendingVerifiedUntil]); err == nil {
		r.Pending.Verified = &Verified{Until: t, Fingerprint: a[legacyPendingFingerprint], Inputs: a[legacyPendingInputs]}
	}
	if v := a[legacyAssociating]; v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			t = time.Time{} // present is what counts
		}
		r.AssociatingSince = &t
	}
	return r
}

func parseInt(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
