package cognitofake

import (
	"slices"
	"strings"
)

// lookup finds the user a sign-in names: by username, or by an alias the
// pool's UsernameAttributes allow. Cognito answers a challenge only under the
// canonical username (ChallengeParameters.USER_ID_FOR_SRP), so only
// InitiateAuth resolves aliases.
//
// Case follows UsernameConfiguration.CaseSensitive (API reference
// UsernameConfigurationType): by default usernames and aliases match exactly;
// only a case-insensitive pool folds both.
func (p *Pool) lookup(name string) *User {
	if u := p.users[name]; u != nil {
		return u
	}
	if name == "" {
		return nil
	}
	alias := slices.Contains(p.UsernameAttributes, "email")
	if !alias && !p.UsernameCaseInsensitive {
		return nil
	}
	for _, u := range p.users {
		if p.sameName(u.Username, name) || alias && u.Email != "" && p.sameName(u.Email, name) {
			return u
		}
	}
	return nil
}

// sameName compares names as the pool's case sensitivity says.
func (p *Pool) sameName(a, b string) bool {
	if p.UsernameCaseInsensitive {
		return strings.EqualFold(a, b)
	}
	return a == b
}

// checkChallengeUser holds a challenge answer to the session's canonical
// username. With a client secret, an alias in USERNAME or a SECRET_HASH of
// the alias fails as AWS fails it ("Unable to verify secret hash"; reported
// in aws-sdk-android#2265 and qwigo/warrant#74); without one, the answer does
// not belong to the session.
func checkChallengeUser(c *AppClient, sess *session, params map[string]string) *apiError {
	canonical := sess.user.Username
	if c.Secret != "" {
		if params["USERNAME"] != canonical {
			return notAuthorized("Unable to verify secret hash for client " + c.ID)
		}
		return checkSecretHash(c, canonical, params, secretHashNotReceived)
	}
	if !sess.pool.sameName(params["USERNAME"], canonical) {
		return errSessionInvalid
	}
	return nil
}
