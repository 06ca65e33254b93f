package controllers

import (
	"fmt"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
)

// cognitoView is what signing in showed of the user: who it is, whether it
// has a software token, and which stored seed, if any, Cognito accepted.
type cognitoView struct {
	id identity
	// setup: Cognito asked for MFA_SETUP, so the user has no factor at all.
	setup bool
	// hasToken: Cognito showed a software token (a SOFTWARE_TOKEN_MFA
	// challenge, TOTP offered by SELECT_MFA_TYPE, or TOTP enabled in GetUser).
	// A verified token with TOTP not enabled is invisible.
	hasToken bool
	// proven is the key whose seed Cognito accepted, or "".
	proven string
	// verifyOnly: no challenge was seen; stored seeds could be checked only
	// with VerifySoftwareToken.
	verifyOnly bool
	// claim is the claim on id.
	claim claimState
}

// step is what an enrollment does once Cognito has been heard.
type step string

const (
	// stepAssociate: associate a new token (enroll or rotate).
	stepAssociate step = "Associate"
	// stepPromote: the staged seed is the user's token; promote it.
	stepPromote step = "Promote"
	// stepKeep: the stored secret is the user's token; re-apply the
	// preference and re-record it.
	stepKeep step = "Keep"
)

// decideAfterSignIn is the second half of decide: a pure function of the
// observation, the plan and what Cognito said.
func decideAfterSignIn(o *observation, p plan, v *cognitoView) (step, error) {
	if (o.secret != "" || o.pending != "") && o.rec.hasIdentity() && !o.rec.sameUser(v.id) {
		return "", stall(v1alpha1.ReasonIdentityChanged, identityChangedMessage(o, v.id))
	}
	if (o.secret != "" || o.pending != "") && v.proven == "" && !o.rec.hasIdentity() {
		return "", stall(v1alpha1.ReasonIdentityChanged, fmt.Sprintf(
			"Secret %q holds a seed with no recorded user (written by an earlier version, or edited) and Cognito does not accept it for %s: "+
				"the operator will not enroll a user it cannot tie to the stored seed; restore the credentials it was enrolled with, or "+
				"delete the seed from the Secret if it is no longer used", v1alpha1.SecretNameOf(o.ste), v.id))
	}
	if v.setup && o.secret != "" && o.rec.client != o.in.appClient.ID {
		// MFA_SETUP through another app client than the seed was proven
		// through: no token shows which pool that client belongs to, so
		// "no factor" may be another pool's user of the same name.
		return "", stall(v1alpha1.ReasonIdentityChanged, fmt.Sprintf(
			"signing in through app client %q shows a user with no MFA, while Secret %q holds a seed proven through another client: "+
				"the operator cannot tell whether this is the same pool; go back to the previous client, or enroll the user with a new enrollment",
			o.in.appClient.ID, v1alpha1.SecretNameOf(o.ste)))
	}
	if v.claim.state == claimOther && v.proven == "" {
		msg := "another enrollment in a different namespace already enrolls this user; only one may"
		if v.claim.holder.Namespace == o.ste.Namespace {
			msg = fmt.Sprintf("enrollment %q already enrolls this user; only one may: delete one of them", v.claim.holder.Name)
		}
		return "", stall(v1alpha1.ReasonDuplicateEnrollment, msg)
	}
	switch {
	case v.proven == v1alpha1.KeyPendingSecret:
		return stepPromote, nil
	case v.proven == v1alpha1.KeySecret && p.name == planRotate:
		return stepAssociate, nil
	case v.proven == v1alpha1.KeySecret:
		return stepKeep, nil
	case v.hasToken && o.rec.associating && v.verifyOnly:
		// Only VerifySoftwareToken could be asked, and it checks codes against
		// the newest association, which a lost reply kept from the operator:
		// its "no" proves nothing about the stored seed. The association was
		// the operator's own, so the rotation goes on with a new one.
		return stepAssociate, nil
	case v.hasToken:
		return "", alreadyEnrolled(o, v)
	}
	return stepAssociate, nil
}

func alreadyEnrolled(o *observation, v *cognitoView) error {
	name := v1alpha1.SecretNameOf(o.ste)
	if o.secret == "" && o.pending == "" {
		return stall(v1alpha1.ReasonAlreadyEnrolled, fmt.Sprintf(
			"%s already has a software token and Secret %q holds no seed for it: the operator will not replace a token it cannot prove; "+
				"if nobody uses that token, an administrator must reset the user's MFA", v.id, name))
	}
	return stall(v1alpha1.ReasonAlreadyEnrolled, fmt.Sprintf(
		"%s has a software token that no seed in Secret %q answers (someone else replaced it, or the manager's clock is wrong): "+
			"the stored seeds are kept; an administrator must reset the user's MFA for the operator to enroll it again", v.id, name))
}
