package lifecycle

import "github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"

// View is what signing in showed of the user: who it is, whether it has a
// software token, and which stored seed, if any, Cognito accepted.
type View struct {
	ID Identity
	// Setup: Cognito asked for MFA_SETUP, so the user has no factor at all.
	Setup bool
	// HasToken: Cognito showed a software token (a SOFTWARE_TOKEN_MFA
	// challenge, TOTP offered by SELECT_MFA_TYPE, or TOTP enabled in GetUser).
	// A verified token with TOTP not enabled is invisible.
	HasToken bool
	// Proven is the key whose seed Cognito accepted (v1alpha1.KeySecret or
	// KeyPendingSecret), or "".
	Proven string
	// VerifyOnly: no challenge was seen; stored seeds could be checked only
	// with VerifySoftwareToken.
	VerifyOnly bool
	// Claim is the claim on ID.
	Claim Claim
	// Detail is Cognito's own words for a refusal, scrubbed, when a message
	// should carry them.
	Detail string
}

// resultOf is what a sign-in showed, as an event, for a plan that is not a
// deletion's: a pure function of the observation, the plan and the view.
func resultOf(o *Observation, plan Plan, v *View) Event {
	rec := &o.Record
	switch {
	case o.HasSeed() && rec.HasIdentity() && !rec.Identity.SameUser(v.ID):
		return OtherUser
	case o.HasSeed() && v.Proven == "" && !rec.HasIdentity():
		return UnattributedSeedRefused
	case v.Setup && o.HasSeed() && rec.Identity.Client != o.In.Pool.ClientID:
		// MFA_SETUP through another app client than the seed was proven (or
		// associated) through: no token shows which pool that client belongs
		// to, so "no factor" may be another pool's user of the same name,
		// and a new association would overwrite a staged seed that may be
		// the first user's token (its MFA_SETUP answer lost).
		return SetupViaOtherClient
	case v.Claim.Kind == ClaimOther && v.Proven == "":
		return ClaimedElsewhere
	case v.Proven == v1alpha1.KeyPendingSecret:
		return PendingAccepted
	case v.Proven == v1alpha1.KeySecret && plan == PlanRotate:
		return ActiveAcceptedRotationPlan
	case v.Proven == v1alpha1.KeySecret:
		return ActiveAccepted
	case v.HasToken && rec.Associating() && v.VerifyOnly:
		// Only VerifySoftwareToken could be asked, and it checks codes against
		// the newest association, which a lost reply kept from the operator:
		// its "no" proves nothing about the stored seed. The association was
		// the operator's own, so the rotation goes on with a new one.
		return OwnAssociationUnverifiable
	case v.HasToken:
		return TokenNotOurs
	}
	return NoToken
}

// disableResultOf is what the Disable sign-in showed, as an event.
func disableResultOf(o *Observation, v *View) Event {
	rec := &o.Record
	switch {
	case v.Setup && setupProvesRecordedUser(o, v):
		return NoFactor // no factor at all: nothing stored is the user's token
	case v.Setup:
		return SetupUnproven
	case rec.HasIdentity() && !rec.Identity.SameUser(v.ID):
		return OtherUser
	case v.HasToken && v.Proven == "":
		return SeedRefused
	}
	return SeedAnswered
}

// setupProvesRecordedUser says an MFA_SETUP challenge is about the user the
// record names: MFA_SETUP names the user but not the pool, so only the app
// client the seed was proven through (which belongs to one pool) and the
// same canonical username make it that user's.
func setupProvesRecordedUser(o *Observation, v *View) bool {
	id := o.Record.Identity
	return id.Known() && id.Client != "" && id.Client == o.In.Pool.ClientID && id.Pool == o.In.Pool.ID && v.ID.User == id.User
}
