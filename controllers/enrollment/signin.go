package enrollment

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/lifecycle"
)

// signIn hears what Cognito says about the user, once: it signs in (or
// uses the given access token), answers an MFA challenge with the stored
// seeds, and learns who the user is. The only seeds it can prove are those
// Cognito accepts; it associates nothing.
func (x *run) signIn(ctx context.Context) error {
	x.api = x.r.Cognito.ForRegion(x.o.In.Region)
	x.view = &lifecycle.View{ID: lifecycle.Identity{Pool: x.o.In.Pool.ID, Client: x.o.In.Pool.ClientID}}
	if x.o.creds.accessToken != "" {
		x.accessToken = x.o.creds.accessToken
		return x.withTokens(ctx, true)
	}
	res, err := x.api.InitiateAuth(ctx, x.signInRequest())
	if err != nil {
		return err
	}
	return x.followChallenge(ctx, res)
}

// followChallenge follows a sign-in result to tokens or an MFA_SETUP session.
func (x *run) followChallenge(ctx context.Context, res *cognito.AuthResult) error {
	if res.Username != "" {
		// The canonical username: sign-in by alias answers challenges with it.
		x.view.ID.User = res.Username
	}
	switch res.Challenge {
	case "":
		x.accessToken = res.AccessToken
		return x.withTokens(ctx, x.view.Proven == "")
	case cognito.ChallengeMFASetup:
		x.view.Setup, x.session = true, res.Session
		if x.view.ID.User == "" {
			x.view.ID.User = x.o.In.Username
		}
		return x.heard(ctx)
	case cognito.ChallengeSelectMFAType:
		if offered := res.ChallengeParameters["MFAS_CAN_CHOOSE"]; offered != "" && !strings.Contains(offered, cognito.ChallengeSoftwareTokenMFA) {
			return stall(v1alpha1.ChallengeReason(res.Challenge), fmt.Sprintf(
				"signing in as %q offers the factors %s and not SOFTWARE_TOKEN_MFA: the operator answers only software-token challenges",
				x.o.In.Username, offered))
		}
		x.view.HasToken = true
		if len(x.candidates()) == 0 {
			return x.heard(ctx)
		}
		next, err := x.api.RespondToAuthChallenge(ctx, x.answer(res, map[string]string{"ANSWER": cognito.ChallengeSoftwareTokenMFA}))
		if err != nil {
			return err
		}
		return x.followChallenge(ctx, next)
	case cognito.ChallengeSoftwareTokenMFA:
		x.view.HasToken = true
		return x.answerWithStoredSeeds(ctx, res)
	default:
		return stall(v1alpha1.ChallengeReason(res.Challenge), fmt.Sprintf(
			"signing in as %q returned the challenge %s, which the operator cannot answer; resolve it for the user, then update the credentials Secret",
			x.o.In.Username, res.Challenge))
	}
}

// answerWithStoredSeeds answers SOFTWARE_TOKEN_MFA with codes from the
// stored seeds: the one that passes is proven to be the user's token, and
// the others are proven not to be.
func (x *run) answerWithStoredSeeds(ctx context.Context, res *cognito.AuthResult) error {
	keys, err := x.signInOrder(ctx)
	if err != nil {
		return err
	}
	for _, key := range keys {
		var tokens *cognito.AuthResult
		ok, err := x.tryCodes(ctx, x.stored(key), viaChallenge, func(code string) error {
			var err error
			tokens, err = x.api.RespondToAuthChallenge(ctx, x.answer(res, map[string]string{"SOFTWARE_TOKEN_MFA_CODE": code}))
			return err
		})
		if err != nil {
			return err
		}
		if ok {
			x.view.Proven = key
			return x.followChallenge(ctx, tokens)
		}
	}
	if x.view.ID.User == "" {
		x.view.ID.User = x.o.In.Username
	}
	return x.heard(ctx)
}

// withTokens learns who the user is from the access token, and, when no
// challenge showed it, whether the user has a software token (GetUser) and
// whether a stored seed is it (VerifySoftwareToken).
func (x *run) withTokens(ctx context.Context, askUser bool) error {
	if c, err := cognito.TokenClaims(x.accessToken); err == nil {
		if pool := x.o.In.Pool.ID; c.PoolID() != "" && c.PoolID() != pool {
			return stall(v1alpha1.ReasonUserPoolMismatch, fmt.Sprintf(
				"the app client signs users in to pool %q, not to the enrollment's pool %q", c.PoolID(), pool))
		}
		x.view.ID.Sub = c.Sub
		if x.view.ID.Client == "" {
			x.view.ID.Client = c.ClientID
		}
		if c.Username != "" {
			x.view.ID.User = c.Username
		}
	}
	if askUser || x.view.ID.User == "" || x.view.ID.Sub == "" {
		if err := x.getUserAndClaim(ctx); err != nil {
			return err
		}
	}
	if x.view.Proven == "" {
		// No challenge proved a seed: ask VerifySoftwareToken, which checks a
		// code against the pending association, or the verified token.
		x.view.VerifyOnly = true
		for _, key := range x.candidates() {
			ok, err := x.prove(ctx, x.stored(key))
			if err != nil {
				return err
			}
			if ok {
				x.view.Proven = key
				break
			}
		}
	}
	return x.heard(ctx)
}

// getUserAndClaim asks GetUser who the user is and whether it has a
// software token. When the access token already named the user, the claim
// on that name is looked at meanwhile, and kept only if GetUser agrees. For
// an enrollment with no seed yet that signed in with a password, looking
// is claiming (createClaim): the token came from Cognito, so the name is
// proven, and the claim is released if the reconcile does not enroll.
func (x *run) getUserAndClaim(ctx context.Context) error {
	named := x.view.ID
	claiming := x.o.creds.accessToken == "" && x.o.secret == "" && x.o.pending == ""
	var claim claimState
	var claimErr error
	err := together(func() error {
		u, err := x.api.GetUser(ctx, x.accessToken)
		if err != nil {
			return err
		}
		x.view.ID.User, x.view.ID.Sub = u.Username, u.Sub
		x.view.HasToken = x.view.HasToken || slices.Contains(u.MFASettings, cognito.ChallengeSoftwareTokenMFA)
		return nil
	}, func() error {
		switch {
		case named.User == "":
		case claiming:
			claim, claimErr = x.r.createClaim(ctx, named, x.o.Enrollment)
		default:
			claim, claimErr = x.r.readClaim(ctx, named, x.o.Enrollment)
		}
		return nil
	})
	if err == nil && named.User != "" && claimErr == nil && slices.Equal(claimNames(named), claimNames(x.view.ID)) {
		x.claimRead, x.claimReadFor = &claim, named
		return nil
	}
	x.r.releaseCreated(ctx, claim)
	return err
}

// heard completes the view with the claim on the user (read already when
// it was read for this identity).
func (x *run) heard(ctx context.Context) error {
	if c := x.claimRead; c != nil && slices.Equal(claimNames(x.claimReadFor), claimNames(x.view.ID)) {
		x.view.Claim = c.Claim
		x.claim = *c
		return nil
	}
	st, err := x.r.readClaim(ctx, x.view.ID, x.o.Enrollment)
	x.view.Claim, x.claim = st.Claim, st
	return err
}

func (x *run) answer(res *cognito.AuthResult, responses map[string]string) cognito.ChallengeAnswer {
	username := x.view.ID.User
	if username == "" {
		username = x.o.In.Username
	}
	return cognito.ChallengeAnswer{Client: x.o.creds.appClient, Username: username, Challenge: res.Challenge,
		Session: res.Session, Responses: responses}
}

// signInRequest is the USER_PASSWORD_AUTH sign-in of the credentials.
func (x *run) signInRequest() cognito.SignIn {
	return cognito.SignIn{Client: x.o.creds.appClient, Username: x.o.In.Username, Password: x.o.creds.password}
}

// prove asks VerifySoftwareToken whether a stored seed is the user's
// association. Cognito's "no association" answer proves it is not.
func (x *run) prove(ctx context.Context, secret string) (bool, error) {
	ok, err := x.verify(ctx, cognito.Credential{AccessToken: x.accessToken}, secret)
	if cognito.HasCode(err, "InvalidParameterException") {
		return false, nil
	}
	return ok, err
}

// verify sends VerifySoftwareToken with codes from secret. A seed Cognito
// rejects, or an association that does not exist, is ok=false.
func (x *run) verify(ctx context.Context, cred cognito.Credential, secret string) (bool, error) {
	var res *cognito.Verification
	ok, err := x.tryCodes(ctx, secret, viaVerify, func(code string) error {
		var err error
		res, err = x.api.VerifySoftwareToken(ctx, cognito.Verify{Credential: cred, Code: code, DeviceName: x.o.In.DeviceName})
		return err
	})
	if err != nil || !ok {
		return false, err
	}
	x.verifyStatus = res.Status
	if res.Status != cognito.VerifySuccess {
		// Status ERROR says nothing about the seed (clock skew, too many
		// attempts, per the API reference): retry, never re-associate.
		return false, retry(v1alpha1.ReasonVerificationFailed,
			"VerifySoftwareToken answered Status ERROR (clock skew or too many attempts); retrying with backoff")
	}
	if res.Session != "" {
		x.session = res.Session
	}
	return true, nil
}
