package v1alpha1

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Well-known names shared by the controller, the kubectl plugin and the tests.
// They are part of the API: consumers read the keys, tools read the
// annotations.

// Keys of the Secret an enrollment writes.
const (
	// KeySecret is the verified TOTP seed: consumers read only this key.
	KeySecret = "secret"
	// KeyPendingSecret is a seed stored before Cognito verifies it, so that a
	// crash can never leave a verified token whose seed was not kept.
	KeyPendingSecret = "pending-secret"
	// KeyOTPAuthURL is the otpauth:// URI of KeySecret, for authenticator apps.
	KeyOTPAuthURL = "otpauth-url"
	// KeyUsername is the username the enrollment signs in with, when known.
	KeyUsername = "username"
)

// Keys of the credentials Secret.
const (
	CredentialsKeyUsername = "username"
	CredentialsKeyPassword = "password"
)

// OperatorPrefix starts every label and annotation key the operator owns;
// secretTemplate may not set them.
const OperatorPrefix = "mfa.cognito-operator.dev/"

// Labels on the enrollment's Secret. The Secret carries no ownerReference
// (a garbage collector following one deletes it with the enrollment, in
// foreground deletion before the enrollment's finalizer has run): the UID
// label says whose it is, and tools find it as the enrollment's by it.
const (
	LabelManagedBy     = "app.kubernetes.io/managed-by"
	ManagedByValue     = "cognito-mfa-operator"
	LabelEnrollment    = OperatorPrefix + "enrollment"
	LabelEnrollmentUID = OperatorPrefix + "enrollment-uid"
)

// EnrollmentLabelValue is the LabelEnrollment value for an enrollment name:
// the name itself when it is a valid label value (63 characters at most),
// else its first characters and a hash, so that a long name never makes the
// API server refuse the Secret's write.
func EnrollmentLabelValue(name string) string {
	if len(name) <= 63 {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return strings.TrimRight(name[:46], "-.") + "-" + hex.EncodeToString(sum[:8])
}

// LabelProtectPrefix starts the label an enrollment with deletionPolicy
// Disable puts on each input Secret it needs to turn MFA off
// (<prefix><enrollment UID>): the Secret keeps FinalizerProtect while any
// such label is on it.
const LabelProtectPrefix = OperatorPrefix + "protect-"

// The seed store: Secrets in the operator's namespace
// (--cluster-resource-namespace) that keep the seeds of enrollments whose
// namespace went, or whose Disable turned TOTP off.
const (
	// LabelSeedState is Retained or Dormant (see lifecycle.SeedState).
	LabelSeedState = OperatorPrefix + "seed-state"
	// LabelOriginNamespaceUID is the UID of the namespace the seed came from.
	LabelOriginNamespaceUID = OperatorPrefix + "origin-namespace-uid"
	// AnnotationOrigin is where the seed came from, as JSON
	// (lifecycle.Origin): namespace name and UID, enrollment name and UID,
	// user and pool.
	AnnotationOrigin = OperatorPrefix + "origin"
	// AnnotationStoredAt is when the stored seed took its current state
	// (RFC 3339); --dormant-seed-retention counts from it.
	AnnotationStoredAt = OperatorPrefix + "stored-at"
)

// AnnotationRecord is the annotation on the enrollment's Secret that holds
// its safety record: one versioned JSON document naming the user the seeds
// belong to and what Cognito proved of them (internal/lifecycle.Record). It
// is read fresh from the API server on every reconcile and written in the
// same update as any change of seed. Releases up to chart 0.2.0 wrote one
// annotation per field instead; they are migrated on first sight.
const AnnotationRecord = OperatorPrefix + "record"

// AnnotationRotate requests one rotation per new value (e.g. a timestamp).
const AnnotationRotate = OperatorPrefix + "rotate"

// Finalizers.
const (
	// FinalizerEnrollment holds an enrollment until its deletion policy is
	// carried out: without it, garbage collection would delete the Secret of
	// a user who is still enrolled.
	FinalizerEnrollment = OperatorPrefix + "finalizer"
	// FinalizerProtect is set, with deletionPolicy Disable, on every input
	// Secret turning MFA off needs (credentials, access token, client
	// secret), so that a namespace deletion cannot remove them before the
	// enrollment is finalized.
	FinalizerProtect = OperatorPrefix + "disable-protection"
	// FinalizerSeed is on every Secret holding a seed Cognito may hold: a
	// Secret whose deletion has begun cannot be kept, so its seed is moved
	// to the seed store before it goes.
	FinalizerSeed = OperatorPrefix + "seed-protection"
	// FinalizerUserPoolInUse holds a ClusterUserPool while enrollments name
	// it: deleting it would leave them, and a deletion policy Disable, no
	// pool to sign in to.
	FinalizerUserPoolInUse = OperatorPrefix + "in-use"
	// FinalizerRights is on the RoleBinding that grants the manager its
	// rights in a watched namespace (namespace mode, set by the chart): a
	// namespace deletion deletes it with everything else, and without it
	// the manager could neither keep the seeds nor finalize the enrollments
	// there. It is lifted once nothing of the operator's is left in a
	// namespace being deleted, or at once when only it is deleted.
	FinalizerRights = OperatorPrefix + "rights"
)
