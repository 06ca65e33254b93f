package v1alpha1

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

// Labels on the enrollment's Secret.
const (
	LabelManagedBy  = "app.kubernetes.io/managed-by"
	ManagedByValue  = "cognito-mfa-operator"
	LabelEnrollment = OperatorPrefix + "enrollment"
)

// Annotations on the enrollment's Secret: the durable record of what was
// enrolled, read fresh from the API server on every reconcile.
const (
	// AnnotationEnrolledGeneration is the enrollment generation last enrolled.
	AnnotationEnrolledGeneration = OperatorPrefix + "enrolled-generation"
	// AnnotationEnrolledSpec is a hash of the spec fields that need Cognito
	// to apply (pool, client, credentials, preference): other spec edits are
	// applied without a Cognito call.
	AnnotationEnrolledSpec = OperatorPrefix + "enrolled-spec"
	// AnnotationEnrolledAt is when the stored seed was verified (RFC 3339).
	AnnotationEnrolledAt = OperatorPrefix + "enrolled-at"
	// AnnotationFingerprint is a short SHA-256 prefix of the stored seed.
	AnnotationFingerprint = OperatorPrefix + "secret-fingerprint"
	// AnnotationRotateHandled is the last rotate request carried out.
	AnnotationRotateHandled = OperatorPrefix + "rotate-handled"
	// AnnotationUserPool, AnnotationUser and AnnotationUserSub are the
	// identity the seeds belong to: the pool, the user's canonical username
	// and the user's sub. An enrollment never writes another identity's seed
	// over them.
	AnnotationUserPool = OperatorPrefix + "user-pool"
	AnnotationUser     = OperatorPrefix + "user"
	AnnotationUserSub  = OperatorPrefix + "user-sub"
	// AnnotationSignInName is the username typed in the credentials Secret
	// (an alias, perhaps) when the seed was enrolled.
	AnnotationSignInName = OperatorPrefix + "sign-in-name"
	// AnnotationPendingVerifiedUntil says Cognito verified the staged seed
	// (whose fingerprint AnnotationPendingFingerprint gives) and the
	// preference is set; it is promoted once this time has passed, so that
	// the code the operator used is never the one a consumer signs in with.
	AnnotationPendingVerifiedUntil = OperatorPrefix + "pending-verified-until"
	AnnotationPendingFingerprint   = OperatorPrefix + "pending-fingerprint"
	// AnnotationPendingInputs is the inputs fingerprint the staged seed was
	// verified for: if the spec or a referenced Secret changed since, the
	// seed is proven again before it is promoted.
	AnnotationPendingInputs = OperatorPrefix + "pending-inputs"
	// AnnotationPendingRotate is the rotate request the staged seed was
	// associated for: promoting it handles that request, not one made since.
	AnnotationPendingRotate = OperatorPrefix + "pending-rotate"
	// AnnotationClientID is the app client the seed was proven through.
	AnnotationClientID = OperatorPrefix + "client-id"
	// AnnotationAssociating is set, before a new token is associated while a
	// seed is stored, to when that happened. Until a sign-in proves which
	// seed Cognito holds, the record no longer vouches for the stored one
	// (Cognito may have dropped it at association, and a lost reply leaves
	// an association the operator never saw).
	AnnotationAssociating = OperatorPrefix + "associating"
	// AnnotationRetainedFrom marks a Secret released by an enrollment with
	// deletionPolicy Retain: <namespace>/<name>. An enrollment of that
	// namespace and name adopts it once its seed is proven.
	AnnotationRetainedFrom = OperatorPrefix + "retained-from"
)

// AnnotationRotate requests one rotation per new value (e.g. a timestamp).
const AnnotationRotate = OperatorPrefix + "rotate"

// Finalizers.
const (
	// FinalizerEnrollment holds an enrollment until its deletion policy is
	// carried out: without it, garbage collection would delete the Secret of
	// a user who is still enrolled.
	FinalizerEnrollment = OperatorPrefix + "finalizer"
	// FinalizerProtect is set, with deletionPolicy Disable, on the
	// enrollment's Secret and on the credentials it reads, so that a
	// namespace deletion cannot remove what turning MFA off needs before the
	// enrollment is finalized.
	FinalizerProtect = OperatorPrefix + "disable-protection"
	// FinalizerUserPoolInUse holds a ClusterUserPool while enrollments name
	// it: deleting it would leave them, and a deletion policy Disable, no
	// pool to sign in to.
	FinalizerUserPoolInUse = OperatorPrefix + "in-use"
)
