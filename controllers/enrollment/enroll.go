package enrollment

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/lifecycle"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/totp"
)

// actWithCognito carries out a plan that needs Cognito: hear what Cognito
// says, let the table decide the step, then take it. Every write stores a
// seed before Cognito can make it the user's token, and nothing stored is
// removed before Cognito has proved it is not the user's token.
func (x *run) actWithCognito(ctx context.Context) error {
	if err := x.signInWithFinalizer(ctx); err != nil {
		x.releaseCreatedClaim(ctx)
		return err
	}
	t := lifecycle.AfterSignIn(&x.o.Observation, x.plan(), x.view)
	x.r.observed(ctx, t)
	if t.Err != nil {
		x.releaseCreatedClaim(ctx)
		// Cognito showed the stored secret is not (or no longer) this
		// enrollment's working seed: another user, or a token it does not answer.
		x.distrusted = true
		if t.Event == lifecycle.TokenNotOurs {
			return x.disown(ctx, t.Err)
		}
		return t.Err
	}
	x.step = t.Step
	if x.view.Setup && t.Step == lifecycle.StepAssociate {
		if err := x.takeSetupLock(ctx); err != nil {
			x.releaseCreatedClaim(ctx)
			return err
		}
	}
	if err := x.r.takeClaim(ctx, x.view.ID, x.o.Enrollment, x.claim); err != nil {
		x.releaseSetupLock(ctx)
		return err
	}
	switch t.Step {
	case lifecycle.StepPromote:
		if err := x.r.releaseSetupLockOf(ctx, x.o.In.Region, x.view.ID, x.o.Enrollment); err != nil {
			return err
		}
		return x.finish(ctx, x.o.pending)
	case lifecycle.StepKeep:
		return x.finish(ctx, x.o.secret)
	}
	err := x.associateAndVerify(ctx)
	if err != nil && !x.associated {
		x.releaseSetupLock(ctx) // nothing was associated under it
	}
	return err
}

// releaseCreatedClaim lets go of the claim parts this reconcile created
// while it signed in, when it does not go on to enroll.
func (x *run) releaseCreatedClaim(ctx context.Context) {
	if x.claimRead != nil {
		x.r.releaseCreated(ctx, *x.claimRead)
	}
}

// disown keeps the seeds Cognito just rejected but drops the record's word
// for them, so that nothing but a new proof makes the enrollment Ready
// again (a later spec edit must not, from the record alone).
func (x *run) disown(ctx context.Context, cause error) error {
	if x.o.Ownership != lifecycle.OwnOwned || x.o.target == nil || readRecordOf(x.o.target).Seed.Fingerprint == "" {
		return cause
	}
	if err := x.writeSecret(ctx, func(_ *corev1.Secret, rec *lifecycle.Record) {
		rec.Seed.Fingerprint = ""
	}); err != nil {
		return err
	}
	return cause
}

// associateAndVerify asks Cognito for a new seed, stores it, verifies it.
func (x *run) associateAndVerify(ctx context.Context) error {
	// A seed that cannot be verified now is not worth associating.
	if err := x.checkCodeBudget(ctx); err != nil {
		return err
	}
	if x.rotation {
		// From here on the stored secret may stop working (Cognito may drop
		// the old token at association), so the status says so first, and
		// the record stops vouching for it until a sign-in proves which
		// seed Cognito holds: a crash or a lost reply must not leave a
		// record that says the old seed works.
		if err := x.r.markRotating(ctx, x); err != nil {
			return err
		}
		if err := x.writeSecret(ctx, func(_ *corev1.Secret, rec *lifecycle.Record) {
			now := x.r.Now().UTC().Truncate(time.Second)
			rec.AssociatingSince = &now
		}); err != nil {
			return err
		}
	}
	if err := x.preflightSecret(ctx); err != nil {
		return err
	}
	if err := x.knowCognitosClock(); err != nil {
		return err
	}
	cred := x.credential()
	x.associated = true
	res, err := x.api.AssociateSoftwareToken(ctx, cred)
	if err != nil {
		return err
	}
	if err := totp.CheckSecret(res.SecretCode); err != nil {
		return retry(v1alpha1.ReasonCognitoUnavailable, "Cognito returned a secret code that is not a base32 seed")
	}
	x.association = res.SecretCode
	if res.Session != "" {
		x.session = res.Session
	}
	if err := x.writeSecret(ctx, func(s *corev1.Secret, rec *lifecycle.Record) {
		s.Data[v1alpha1.KeyPendingSecret] = []byte(x.association)
		rec.Pending = lifecycle.Pending{Rotate: x.o.Enrollment.Annotations[v1alpha1.AnnotationRotate]}
		x.recordIdentity(rec)
	}); err != nil {
		return err
	}
	ok, err := x.verify(ctx, x.credential(), x.association)
	if err != nil {
		return err
	}
	if !ok {
		return retry(v1alpha1.ReasonVerificationFailed, "Cognito rejected the codes generated from the new secret on its own clock; retrying")
	}
	x.verified = true
	if x.session != "" {
		res, err := x.api.RespondToAuthChallenge(ctx, x.answer(&cognito.AuthResult{Challenge: cognito.ChallengeMFASetup, Session: x.session}, nil))
		if err != nil {
			return err
		}
		x.session = ""
		x.accessToken = res.AccessToken
		if err := x.learnSub(ctx); err != nil {
			return x.setupShowedPool(ctx, err)
		}
		x.releaseSetupLock(ctx)
	}
	return x.finish(ctx, x.association)
}

// learnSub completes the identity once tokens exist (after MFA_SETUP).
func (x *run) learnSub(ctx context.Context) error {
	if c, err := cognito.TokenClaims(x.accessToken); err == nil && c.Sub != "" {
		if c.PoolID() != "" && c.PoolID() != x.view.ID.Pool {
			return stall(v1alpha1.ReasonUserPoolMismatch, fmt.Sprintf(
				"the app client signs users in to pool %q, not to %q; the new seed stays under pending-secret and is not promoted", c.PoolID(), x.view.ID.Pool))
		}
		x.view.ID.Sub = c.Sub
		return nil
	}
	u, err := x.api.GetUser(ctx, x.accessToken)
	if err != nil {
		return err
	}
	x.view.ID.Sub = u.Sub
	return nil
}

// finish sets the preference for the proven seed and promotes it.
func (x *run) finish(ctx context.Context, proven string) error {
	if pref := x.o.Enrollment.Spec.MFAPreference; pref != v1alpha1.MFAPreferenceNone {
		if err := x.api.SetSoftwareTokenPreference(ctx, x.accessToken,
			cognito.Preference{Enabled: true, Preferred: pref != v1alpha1.MFAPreferenceEnabled}); err != nil {
			return err
		}
	}
	if proven != x.o.secret {
		if until := x.shownAfter(proven); x.r.Now().Before(until) {
			return x.holdVerified(ctx, proven, until)
		}
	}
	return x.promote(ctx, proven)
}

// holdVerified records that Cognito verified a new seed, which stays under
// pending-secret until the step of the code the operator used has passed.
func (x *run) holdVerified(ctx context.Context, proven string, until time.Time) error {
	if err := x.writeSecret(ctx, func(s *corev1.Secret, rec *lifecycle.Record) {
		s.Data[v1alpha1.KeyPendingSecret] = []byte(proven)
		rec.Pending.Verified = &lifecycle.Verified{Until: until.UTC(), Fingerprint: totp.Fingerprint(proven), Inputs: x.o.In.Hash}
		x.recordIdentity(rec)
	}); err != nil {
		return err
	}
	return waitFor(v1alpha1.ReasonProgressing, lifecycle.HoldMessage(), until.Sub(x.r.Now()))
}

// promote makes the proven seed the one consumers read, in one write that
// also records the identity and this spec as enrolled.
func (x *run) promote(ctx context.Context, proven string) error {
	enrolledAt := x.r.Now().UTC().Truncate(time.Second)
	if !x.verified && proven == x.o.secret && x.o.Record.Seed.EnrolledAt != nil {
		enrolledAt = *x.o.Record.Seed.EnrolledAt
	}
	id := x.view.ID
	return x.writeSecret(ctx, func(s *corev1.Secret, rec *lifecycle.Record) {
		s.Data[v1alpha1.KeySecret] = []byte(proven)
		s.Data[v1alpha1.KeyOTPAuthURL] = x.otpauthURL(proven)
		delete(s.Data, v1alpha1.KeyPendingSecret)
		rec.Pending, rec.AssociatingSince = lifecycle.Pending{}, nil
		if id.Client != "" {
			rec.Identity.Client = id.Client
		}
		rec.Identity.Pool, rec.Identity.User, rec.Identity.Sub, rec.Identity.SignInName = id.Pool, id.User, id.Sub, x.o.In.Username
		rec.Seed = lifecycle.Seed{Fingerprint: totp.Fingerprint(proven), EnrolledAt: &enrolledAt,
			Generation: x.o.Enrollment.Generation, Spec: lifecycle.SpecHash(x.o.Enrollment, x.o.In.Pool)}
		rec.Rotations.Add(x.handledRotate())
	})
}

// recordIdentity records whose seeds the Secret holds, with the first seed staged.
func (x *run) recordIdentity(rec *lifecycle.Record) {
	rec.Identity.Pool, rec.Identity.User = x.view.ID.Pool, x.view.ID.User
	if x.view.ID.Sub != "" {
		rec.Identity.Sub = x.view.ID.Sub
	}
	if x.view.ID.Client != "" {
		rec.Identity.Client = x.view.ID.Client
	}
}

// otpauthURL is the otpauth:// URI of secret, for authenticator apps.
func (x *run) otpauthURL(secret string) []byte {
	return []byte(totp.URL(x.o.In.Issuer, x.otpUser(x.view.ID), secret))
}

func (x *run) otpUser(id lifecycle.Identity) string {
	for _, name := range []string{x.o.In.Username, x.o.Record.Identity.SignInName} {
		if name != "" {
			return name
		}
	}
	return id.User
}

func (x *run) credential() cognito.Credential {
	if x.session != "" {
		return cognito.Credential{Session: x.session}
	}
	return cognito.Credential{AccessToken: x.accessToken}
}
