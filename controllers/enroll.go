package controllers

import (
	"context"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/totp"
)

// proveStoredSecret asks Cognito whether a stored seed is the user's token,
// before anything new is associated: re-verifying the active token succeeds,
// and a staged seed verified before a crash must not be thrown away.
func (e *enrolment) proveStoredSecret(ctx context.Context) error {
	if e.proven || e.session != "" {
		return nil
	}
	for _, candidate := range e.candidates() {
		ok, err := e.verify(ctx, cognito.Credential{AccessToken: e.accessToken}, candidate)
		if err != nil || ok {
			if ok {
				e.prove(candidate)
			}
			return err
		}
	}
	return nil
}

// associate asks Cognito for a new seed.
func (e *enrolment) associate(ctx context.Context) error {
	res, err := e.api.AssociateSoftwareToken(ctx, e.credential())
	if err != nil {
		return err
	}
	if err := totp.CheckSecret(res.SecretCode); err != nil {
		return retry(v1alpha1.ReasonCognitoUnavailable, "Cognito returned a secret code that is not a base32 seed")
	}
	e.association = res.SecretCode
	if res.Session != "" {
		e.session = res.Session
	}
	return nil
}

// verifyAssociation verifies the seed just stored.
func (e *enrolment) verifyAssociation(ctx context.Context) error {
	ok, err := e.verify(ctx, e.credential(), e.association)
	if err != nil {
		return err
	}
	if !ok {
		return retry(v1alpha1.ReasonVerificationFailed, "Cognito rejected the codes generated from the new secret (is the manager's clock right?); retrying")
	}
	e.prove(e.association)
	e.verified = true
	return nil
}

// verify sends VerifySoftwareToken with codes from secret.
func (e *enrolment) verify(ctx context.Context, cred cognito.Credential, secret string) (bool, error) {
	var res *cognito.Verification
	ok, err := e.tryCodes(secret, func(code string) error {
		var err error
		res, err = e.api.VerifySoftwareToken(ctx, cognito.Verify{Credential: cred, Code: code, DeviceName: e.in.deviceName})
		return err
	})
	if err != nil || !ok {
		return false, err
	}
	e.verifyStatus = res.Status
	if res.Status != cognito.VerifySuccess {
		return false, nil
	}
	if res.Session != "" {
		e.session = res.Session
	}
	return true, nil
}

// completeMFASetup answers the MFA_SETUP challenge with the verified
// session, which yields the tokens the preference needs.
func (e *enrolment) completeMFASetup(ctx context.Context) error {
	if e.session == "" {
		return nil
	}
	res, err := e.api.RespondToAuthChallenge(ctx, cognito.ChallengeAnswer{Client: e.in.appClient, Username: e.in.username,
		Challenge: cognito.ChallengeMFASetup, Session: e.session})
	if err != nil {
		return err
	}
	e.session = ""
	return e.signedIn(ctx, res)
}

// setPreference enables software-token MFA as the spec asks.
func (e *enrolment) setPreference(ctx context.Context) error {
	pref := e.ste.Spec.MFAPreference
	if pref == v1alpha1.MFAPreferenceNone {
		return nil
	}
	return e.api.SetSoftwareTokenPreference(ctx, e.accessToken, cognito.Preference{Enabled: true, Preferred: pref != v1alpha1.MFAPreferenceEnabled})
}

func (e *enrolment) credential() cognito.Credential {
	if e.session != "" {
		return cognito.Credential{Session: e.session}
	}
	return cognito.Credential{AccessToken: e.accessToken}
}
