package controllers

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/totp"
)

// record is what the enrollment's Secret says was enrolled. The Secret is
// read fresh from the API server, so it is the durable truth; the status
// may be served stale by the cache.
type record struct {
	generation    string
	spec          string
	enrolledAt    *time.Time
	fingerprint   string
	rotateHandled string
	pool          string
	user          string
	sub           string
	signInName    string
	retainedFrom  string
	// pendingVerifiedUntil is set once Cognito verified the staged seed
	// whose fingerprint is pendingFingerprint.
	pendingVerifiedUntil *time.Time
	pendingFingerprint   string
	pendingInputs        string
	pendingRotate        string
	// client is the app client the seed was proven through.
	client string
	// associating: a token was associated while a seed was stored, and no
	// sign-in has proved since which seed Cognito holds.
	associating bool
}

func readRecord(s *corev1.Secret) record {
	if s == nil {
		return record{}
	}
	a := s.Annotations
	rec := record{generation: a[v1alpha1.AnnotationEnrolledGeneration], spec: a[v1alpha1.AnnotationEnrolledSpec],
		fingerprint: a[v1alpha1.AnnotationFingerprint], rotateHandled: a[v1alpha1.AnnotationRotateHandled],
		pool: a[v1alpha1.AnnotationUserPool], user: a[v1alpha1.AnnotationUser], sub: a[v1alpha1.AnnotationUserSub],
		signInName: a[v1alpha1.AnnotationSignInName], retainedFrom: a[v1alpha1.AnnotationRetainedFrom],
		associating: a[v1alpha1.AnnotationAssociating] != "", client: a[v1alpha1.AnnotationClientID],
		pendingRotate: a[v1alpha1.AnnotationPendingRotate]}
	if t, err := time.Parse(time.RFC3339, a[v1alpha1.AnnotationEnrolledAt]); err == nil {
		rec.enrolledAt = &t
	}
	if t, err := time.Parse(time.RFC3339Nano, a[v1alpha1.AnnotationPendingVerifiedUntil]); err == nil {
		rec.pendingVerifiedUntil = &t
		rec.pendingFingerprint = a[v1alpha1.AnnotationPendingFingerprint]
		rec.pendingInputs = a[v1alpha1.AnnotationPendingInputs]
	}
	return rec
}

// hasIdentity says the record names the user its seeds belong to. Secrets
// written before identities were recorded lack it; they are migrated by
// the first reconcile that proves their seed.
func (rec record) hasIdentity() bool { return rec.pool != "" && rec.user != "" }

// identity is the user a sign-in showed: the pool, Cognito's canonical
// username and, once tokens were seen, the user's sub.
type identity struct {
	pool, user, sub string
	// client is the app client signed in through; it names a second part
	// of the claim on the user.
	client string
}

func (id identity) String() string {
	s := fmt.Sprintf("user %q of pool %q", id.user, id.pool)
	if id.sub != "" {
		s += " (sub " + id.sub + ")"
	}
	return s
}

// sameUser says two identities are one user: the sub decides when both
// know it; otherwise the canonical username, which Cognito never changes.
func (rec record) sameUser(id identity) bool {
	if rec.pool != id.pool {
		return false
	}
	if rec.sub != "" && id.sub != "" {
		return rec.sub == id.sub
	}
	return rec.user == id.user
}

func (rec record) identity() identity {
	return identity{pool: rec.pool, user: rec.user, sub: rec.sub, client: rec.client}
}

// cognitoSpecHash identifies the spec fields that need Cognito to apply,
// with the pool resolved: other edits (secretTemplate, issuer, rotation, a
// ClusterUserPool's allowedNamespaces) are applied locally, with no
// sign-in, so a Ready enrollment stays Ready through them.
func cognitoSpecHash(ste *v1alpha1.SoftwareTokenEnrollment, pool poolSettings) string {
	s := &ste.Spec
	cred, tok := "", ""
	if s.CredentialsSecretRef != nil {
		cred = s.CredentialsSecretRef.Name
	}
	if s.AccessTokenSecretRef != nil {
		tok = s.AccessTokenSecretRef.Name + "/" + s.AccessTokenSecretRef.Key
	}
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s",
		pool.id, pool.region, pool.clientID, cred, tok, pool.clientSecretKey(), s.MFAPreference)))
	return hex.EncodeToString(sum[:6])
}

// recordAnnotations is what promote writes: the record of a proven seed.
// handledRotate is the rotate request a newly promoted seed was associated
// for ("" when none was, or the seed is not new).
func recordAnnotations(ste *v1alpha1.SoftwareTokenEnrollment, pool poolSettings, id identity, signInName, secret string, enrolledAt time.Time, handledRotate string) map[string]string {
	a := map[string]string{
		v1alpha1.AnnotationEnrolledGeneration: strconv.FormatInt(ste.Generation, 10),
		v1alpha1.AnnotationEnrolledSpec:       cognitoSpecHash(ste, pool),
		v1alpha1.AnnotationEnrolledAt:         enrolledAt.UTC().Format(time.RFC3339),
		v1alpha1.AnnotationFingerprint:        totp.Fingerprint(secret),
		v1alpha1.AnnotationUserPool:           id.pool,
		v1alpha1.AnnotationUser:               id.user,
		v1alpha1.AnnotationUserSub:            id.sub,
		v1alpha1.AnnotationSignInName:         signInName,
	}
	if handledRotate != "" {
		a[v1alpha1.AnnotationRotateHandled] = handledRotate
	}
	return a
}

func generationString(ste *v1alpha1.SoftwareTokenEnrollment) string {
	return strconv.FormatInt(ste.Generation, 10)
}
