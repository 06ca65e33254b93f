package controllers

import (
	"context"
	"fmt"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/totp"
)

// authenticate obtains what AssociateSoftwareToken needs: the given access
// token, or a sign-in's tokens, or the session of an MFA_SETUP challenge.
func (e *enrolment) authenticate(ctx context.Context) error {
	if e.in.accessToken != "" {
		e.accessToken = e.in.accessToken
		return nil
	}
	res, err := e.api.InitiateAuth(ctx, cognito.SignIn{Client: e.in.appClient, Username: e.in.username, Password: e.in.password})
	if err != nil {
		return err
	}
	return e.signedIn(ctx, res)
}

// signedIn follows a sign-in result to tokens or an MFA_SETUP session.
func (e *enrolment) signedIn(ctx context.Context, res *cognito.AuthResult) error {
	switch res.Challenge {
	case "":
		e.accessToken = res.AccessToken
		return nil
	case cognito.ChallengeMFASetup:
		// The user has no factor, so nothing stored can be active at Cognito.
		e.session = res.Session
		return nil
	case cognito.ChallengeSelectMFAType:
		if len(e.candidates()) == 0 {
			return e.alreadyEnrolled()
		}
		next, err := e.api.RespondToAuthChallenge(ctx, e.answer(res, map[string]string{"ANSWER": cognito.ChallengeSoftwareTokenMFA}))
		if err != nil {
			return err
		}
		return e.signedIn(ctx, next)
	case cognito.ChallengeSoftwareTokenMFA:
		return e.answerWithStoredSecret(ctx, res)
	default:
		return stall(v1alpha1.ChallengeReason(res.Challenge), fmt.Sprintf(
			"signing in as %q returned the challenge %s, which the operator cannot answer; resolve it for the user, then update the credentials Secret",
			e.in.username, res.Challenge))
	}
}

// answerWithStoredSecret answers SOFTWARE_TOKEN_MFA with codes from the
// stored seeds: the one that passes is proven to be the user's token.
func (e *enrolment) answerWithStoredSecret(ctx context.Context, res *cognito.AuthResult) error {
	for _, candidate := range e.candidates() {
		var tokens *cognito.AuthResult
		ok, err := e.tryCodes(candidate, func(code string) error {
			var err error
			tokens, err = e.api.RespondToAuthChallenge(ctx, e.answer(res, map[string]string{"SOFTWARE_TOKEN_MFA_CODE": code}))
			return err
		})
		if err != nil {
			return err
		}
		if ok {
			e.prove(candidate)
			return e.signedIn(ctx, tokens)
		}
	}
	return e.alreadyEnrolled()
}

func (e *enrolment) answer(res *cognito.AuthResult, responses map[string]string) cognito.ChallengeAnswer {
	return cognito.ChallengeAnswer{Client: e.in.appClient, Username: e.in.username, Challenge: res.Challenge,
		Session: res.Session, Responses: responses}
}

func (e *enrolment) alreadyEnrolled() error {
	if len(e.candidates()) == 0 {
		return stall(v1alpha1.ReasonAlreadyEnrolled, fmt.Sprintf(
			"user %q already has a software token and Secret %q does not hold its seed: an administrator must reset the user's MFA",
			e.in.username, targetSecretName(e.ste)))
	}
	return stall(v1alpha1.ReasonAlreadyEnrolled, fmt.Sprintf(
		"user %q has a software token that the seed in Secret %q does not match: an administrator must reset the user's MFA",
		e.in.username, targetSecretName(e.ste)))
}

// candidates are the stored seeds worth proving, the staged one first: if it
// was verified before a crash, it is the one Cognito now holds.
func (e *enrolment) candidates() []string {
	var out []string
	for _, k := range []string{keyPending, keySecret} {
		if s := e.stored(k); s != "" && totp.CheckSecret(s) == nil {
			out = append(out, s)
		}
	}
	return out
}

func (e *enrolment) prove(secret string) {
	e.proven, e.candidate = true, secret
	e.provenPending = secret == e.stored(keyPending)
}

func (e *enrolment) tryCodes(secret string, send func(code string) error) (bool, error) {
	return cognito.SendCodes(secret, e.r.Now(), send)
}
