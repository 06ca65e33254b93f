package cognito

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// Claims are what an access token says about whom it was issued to.
type Claims struct {
	Issuer   string
	Sub      string
	Username string
	ClientID string
	TokenUse string
	// ExpiresAt is the exp claim; zero when absent.
	ExpiresAt time.Time
}

// PoolID is the user pool that issued the token: the last path segment of
// the issuer (https://cognito-idp.<region>.amazonaws.com/<pool id>, or an
// emulator's http://host:port/<pool id>).
func (c Claims) PoolID() string {
	iss := strings.TrimRight(c.Issuer, "/")
	if i := strings.LastIndex(iss, "/"); i >= 0 {
		return iss[i+1:]
	}
	return ""
}

// errNotJWT never quotes the token: it is a credential.
var errNotJWT = errors.New("access token is not a JWT")

// TokenClaims decodes an access token's payload WITHOUT verifying its
// signature. Cognito is the one that checks the signature when the token is
// used; the operator only reads who the token is for, so that it can tell a
// token for the wrong user or pool before acting with it.
func TokenClaims(accessToken string) (Claims, error) {
	parts := strings.Split(accessToken, ".")
	if len(parts) != 3 {
		return Claims{}, errNotJWT
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return Claims{}, errNotJWT
	}
	var raw struct {
		Iss      string  `json:"iss"`
		Sub      string  `json:"sub"`
		Username string  `json:"username"`
		ClientID string  `json:"client_id"`
		TokenUse string  `json:"token_use"`
		Exp      float64 `json:"exp"`
	}
	if err := json.Unmarshal(payload, &raw); err != nil {
		return Claims{}, errors.New("access token payload is not a JSON object")
	}
	c := Claims{Issuer: raw.Iss, Sub: raw.Sub, Username: raw.Username, ClientID: raw.ClientID, TokenUse: raw.TokenUse}
	if raw.Exp > 0 {
		c.ExpiresAt = time.Unix(int64(raw.Exp), 0)
	}
	return c, nil
}
