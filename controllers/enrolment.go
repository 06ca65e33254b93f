package controllers

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
)

// enrolment is one reconcile's working state. Secret material lives here,
// in memory, for the length of the reconcile only.
type enrolment struct {
	r   *Reconciler
	ste *v1alpha1.SoftwareTokenEnrollment
	in  inputs
	api cognito.Client

	// target is the enrollment's own Secret, nil until it exists.
	target       *corev1.Secret
	targetLoaded bool

	accessToken string
	// session is the MFA_SETUP session while that flow lasts.
	session string
	// association is a secret Cognito just handed out, not yet stored.
	association string
	// proven is set once Cognito has accepted a code from candidate.
	proven    bool
	candidate string
	// verified says a new association was verified in this reconcile.
	verified     bool
	verifyStatus string
	// upToDate says the enrollment was already Ready and nothing changed.
	upToDate bool
	// rotating says a new secret replaces a stored, working one.
	rotating bool
	// provenPending says the proven secret was the staged one: a rotation
	// (or enrolment) that Cognito completed before a crash.
	provenPending bool
}

// secretValues is every sensitive value this reconcile holds, so that any
// text leaving it can be scrubbed of them.
func (e *enrolment) secretValues() []string {
	return []string{e.in.password, e.in.accessToken, e.in.appClient.Secret, e.accessToken,
		e.session, e.association, e.candidate, e.stored(keySecret), e.stored(keyPending)}
}
