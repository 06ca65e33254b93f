package cognitofake

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// accessScope is the scope Cognito puts in tokens from InitiateAuth; the
// user's own operations (AssociateSoftwareToken, GetUser...) require it.
const accessScope = "aws.cognito.signin.user.admin"

// regionPrefix matches the region a real pool id starts with (us-east-1_AbC).
var regionPrefix = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)

// accessClaims are the claims of a Cognito access token, in Cognito's order.
type accessClaims struct {
	Sub       string `json:"sub"`
	Iss       string `json:"iss"`
	ClientID  string `json:"client_id"`
	OriginJTI string `json:"origin_jti"`
	TokenUse  string `json:"token_use"`
	Scope     string `json:"scope,omitempty"`
	AuthTime  int64  `json:"auth_time"`
	Exp       int64  `json:"exp"`
	Iat       int64  `json:"iat"`
	JTI       string `json:"jti"`
	Username  string `json:"username"`
}

// newToken mints a JWT-shaped access token: callers that read its claims
// (who the token is for, which pool issued it) see what Cognito would put
// there. The signature is random bytes: the fake finds tokens by value in its
// map, as Cognito would by checking the signature.
func (s *Server) newToken(p *Pool, c *AppClient, u *User) string {
	now := s.now()
	scope := accessScope
	if p.DropsAdminScope {
		scope = "" // customized away by a pre token generation trigger
	}
	header, _ := json.Marshal(map[string]string{"kid": "fake-" + p.ID, "alg": "RS256"})
	payload, _ := json.Marshal(accessClaims{
		Sub: u.Sub, Iss: issuer(p.ID), ClientID: c.ID, OriginJTI: newUUID(),
		TokenUse: "access", Scope: scope,
		AuthTime: now.Unix(), Exp: now.Add(c.AccessTokenValidity).Unix(), Iat: now.Unix(),
		JTI: newUUID(), Username: u.Username,
	})
	sig := make([]byte, 256) // an RS256 signature's length
	if _, err := rand.Read(sig); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	enc := base64.RawURLEncoding
	t := enc.EncodeToString(header) + "." + enc.EncodeToString(payload) + "." + enc.EncodeToString(sig)
	s.remember(t)
	s.tokens[t] = &token{user: u, pool: p, expires: now.Add(c.AccessTokenValidity), adminScope: scope != ""}
	return t
}

// issuer is the iss claim of a pool's tokens. Pool ids that name no region
// (local_x, as emulators use) get us-east-1. The China Regions (cn-north-1,
// cn-northwest-1) are in the aws-cn partition, whose domain is
// amazonaws.com.cn (developer guide, the China Regions' endpoints).
func issuer(poolID string) string {
	region := "us-east-1"
	if prefix, _, ok := strings.Cut(poolID, "_"); ok && regionPrefix.MatchString(prefix) {
		region = prefix
	}
	return "https://cognito-idp." + region + "." + PartitionDomain(region) + "/" + poolID
}

// PartitionDomain is the DNS suffix of a Region's partition: amazonaws.com.cn
// in China, amazonaws.com elsewhere Cognito runs (the aws and aws-us-gov
// partitions).
func PartitionDomain(region string) string {
	if strings.HasPrefix(region, "cn-") {
		return "amazonaws.com.cn"
	}
	return "amazonaws.com"
}
