package cognitofake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"slices"
)

var userCodePattern = regexp.MustCompile(`^[0-9]{6}$`)

type authResult struct {
	AuthenticationResult map[string]any    `json:",omitempty"`
	ChallengeName        string            `json:",omitempty"`
	ChallengeParameters  map[string]string `json:",omitempty"`
	Session              string            `json:",omitempty"`
}

func decode(body []byte, v any) *apiError {
	if err := json.Unmarshal(body, v); err != nil {
		return errf("SerializationException", "cannot decode request")
	}
	return nil
}

func (s *Server) initiateAuth(body []byte) (any, *apiError) {
	var in struct {
		AuthFlow       string
		ClientId       string
		AuthParameters map[string]string
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	c, p, e := s.appClient(in.ClientId)
	if e != nil {
		return nil, e
	}
	if in.AuthFlow != "USER_PASSWORD_AUTH" || !c.allows("ALLOW_USER_PASSWORD_AUTH") {
		return nil, invalidParameter(in.AuthFlow + " flow not enabled for this client")
	}
	// SECRET_HASH is of whatever USERNAME was sent, alias or not.
	username := in.AuthParameters["USERNAME"]
	if e := checkSecretHash(c, username, in.AuthParameters, secretNotReceived); e != nil {
		return nil, e
	}
	u := p.lookup(username)
	if u == nil {
		return nil, errUserNotFound
	}
	if e := s.lockedOut(u); e != nil {
		return nil, e
	}
	if e := s.lambdaFault(p, u, TriggerPreAuthentication); e != nil {
		return nil, e
	}
	if u.Password != in.AuthParameters["PASSWORD"] {
		s.failedAttempt(u)
		return nil, errIncorrectPassword
	}
	switch u.Status {
	case StatusUnconfirmed:
		return nil, errf("UserNotConfirmedException", "User is not confirmed.")
	case StatusResetRequired:
		return nil, errf("PasswordResetRequiredException", "Password reset required for the user")
	case StatusForceChangePassword:
		return s.challenge(p, c, u, "NEW_PASSWORD_REQUIRED", ""), nil
	}
	if next := p.nextStep(u); next != "" {
		return s.challenge(p, c, u, next, ""), nil
	}
	return s.signedIn(p, c, u)
}

// allows reports whether the client's ExplicitAuthFlows allow a flow.
func (c *AppClient) allows(flow string) bool {
	return c.ExplicitAuthFlows == nil || slices.Contains(c.ExplicitAuthFlows, flow)
}

// signedIn ends a sign-in: the pre token generation trigger runs, the
// lockout count is cleared (assumed), and tokens are issued.
func (s *Server) signedIn(p *Pool, c *AppClient, u *User) (*authResult, *apiError) {
	if e := s.lambdaFault(p, u, TriggerPreTokenGeneration); e != nil {
		return nil, e
	}
	u.lockout = lockout{}
	return s.tokensFor(p, c, u), nil
}

func (s *Server) tokensFor(p *Pool, c *AppClient, u *User) *authResult {
	return &authResult{AuthenticationResult: map[string]any{
		"AccessToken":  s.newToken(p, c, u),
		"IdToken":      s.issue("fake-id-"),
		"RefreshToken": s.issue("fake-refresh-"),
		"ExpiresIn":    int(c.AccessTokenValidity.Seconds()),
		"TokenType":    "Bearer",
	}}
}

func (s *Server) issue(prefix string) string {
	v := prefix + randomHex(16)
	s.remember(v)
	return v
}

func (s *Server) respondToAuthChallenge(body []byte) (any, *apiError) {
	var in struct {
		ClientId           string
		ChallengeName      string
		Session            string
		ChallengeResponses map[string]string
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	c, p, e := s.appClient(in.ClientId)
	if e != nil {
		return nil, e
	}
	if e := secretMissing(c, in.ChallengeResponses, secretHashNotReceived); e != nil {
		return nil, e
	}
	sess, e := s.liveSession(in.Session)
	if e != nil {
		return nil, e
	}
	if sess.client != c || sess.challenge != in.ChallengeName {
		return nil, errSessionInvalid
	}
	if e := checkChallengeUser(c, sess, in.ChallengeResponses); e != nil {
		return nil, e
	}
	u := sess.user
	if e := s.lockedOut(u); e != nil {
		return nil, e
	}
	switch in.ChallengeName {
	case "MFA_SETUP":
		if sess.stage != "verified" {
			return nil, invalidParameter("Software token has not been verified for this session")
		}
		s.spend(in.Session)
		return s.signedIn(p, c, u)
	case FactorTOTP:
		s.remember(in.ChallengeResponses["SOFTWARE_TOKEN_MFA_CODE"])
		ok, e := s.acceptCode(u, u.totpSecret, in.ChallengeResponses["SOFTWARE_TOKEN_MFA_CODE"])
		if e != nil {
			return nil, e
		}
		if !ok {
			s.failedAttempt(u)
			return nil, errCodeMismatch
		}
		s.spend(in.Session)
		return s.signedIn(p, c, u)
	case "SELECT_MFA_TYPE":
		answer := in.ChallengeResponses["ANSWER"]
		if !p.selectable(u, answer) {
			return nil, invalidParameter("Invalid ANSWER " + answer + " for SELECT_MFA_TYPE")
		}
		s.spend(in.Session)
		return s.challenge(p, c, u, answer, ""), nil
	}
	return nil, invalidParameter("the fake does not answer " + in.ChallengeName)
}

func (s *Server) associateSoftwareToken(body []byte) (any, *apiError) {
	var in struct{ AccessToken, Session string }
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if (in.AccessToken == "") == (in.Session == "") {
		return nil, invalidParameter("Exactly one of AccessToken or Session must be provided")
	}
	secret := newSecret()
	s.remember(secret)
	if in.Session != "" {
		sess, e := s.liveSession(in.Session)
		if e != nil {
			return nil, e
		}
		if sess.challenge != "MFA_SETUP" || sess.stage == "verified" {
			return nil, errSessionInvalid
		}
		if !sess.pool.SoftwareTokenMFA {
			return nil, errTOTPNotEnabled
		}
		s.spend(in.Session)
		next := s.newSession(sess.pool, sess.client, sess.user, "MFA_SETUP", "associated")
		s.sessions[next].pending = secret
		return map[string]string{"SecretCode": secret, "Session": next}, nil
	}
	t, e := s.userToken(in.AccessToken)
	if e != nil {
		return nil, e
	}
	if !t.pool.SoftwareTokenMFA {
		return nil, errTOTPNotEnabled
	}
	u := t.user
	if s.replaceMode == ReplaceImmediately {
		// The old reference text: the verified token is gone at once. The MFA
		// settings stay, stale: GetUser still reports them (amplify-js#1226).
		u.totpSecret = ""
	}
	// Otherwise the verified token, if any, keeps working until this one is verified.
	u.pendingSecret = secret
	return map[string]string{"SecretCode": secret}, nil
}

func (s *Server) verifySoftwareToken(body []byte) (any, *apiError) {
	var in struct{ AccessToken, Session, UserCode, FriendlyDeviceName string }
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if (in.AccessToken == "") == (in.Session == "") {
		return nil, invalidParameter("Exactly one of AccessToken or Session must be provided")
	}
	s.remember(in.UserCode)
	if !userCodePattern.MatchString(in.UserCode) {
		// AWS's validation messages quote the value; so does the fake, so
		// that tests prove the operator scrubs what Cognito echoes.
		return nil, invalidParameter("1 validation error detected: Value '" + in.UserCode +
			"' at 'userCode' failed to satisfy constraint: Member must satisfy regular expression pattern: [0-9]+")
	}
	if in.Session != "" {
		sess, e := s.liveSession(in.Session)
		if e != nil {
			return nil, e
		}
		if sess.challenge != "MFA_SETUP" || sess.stage != "associated" {
			return nil, errSessionInvalid
		}
		u := sess.user
		if s.takeVerifyStatusError(u.Username) {
			// The session stays usable, as after a wrong code.
			return map[string]string{"Status": "ERROR"}, nil
		}
		if e := s.acceptVerifyCode(u, sess.pending, in.UserCode); e != nil {
			return nil, e
		}
		// Registered, not enabled: GetUser lists no factor until
		// SetUserMFAPreference (aws/aws-sdk#693, aws-sdk-java-v2#4869), yet
		// a pool that requires MFA challenges the token (nextStep).
		u.totpSecret, u.pendingSecret, u.deviceName = sess.pending, "", in.FriendlyDeviceName
		s.spend(in.Session)
		next := s.newSession(sess.pool, sess.client, u, "MFA_SETUP", "verified")
		return map[string]string{"Status": "SUCCESS", "Session": next}, nil
	}
	t, e := s.userToken(in.AccessToken)
	if e != nil {
		return nil, e
	}
	u := t.user
	// A pending association is what a code is checked against; without one,
	// re-verifying the active token succeeds (cognito-local does the same).
	target := u.pendingSecret
	if target == "" {
		target = u.totpSecret
	}
	if target == "" {
		return nil, invalidParameter("User has not associated a software token")
	}
	if s.takeVerifyStatusError(u.Username) {
		return map[string]string{"Status": "ERROR"}, nil
	}
	if e := s.acceptVerifyCode(u, target, in.UserCode); e != nil {
		return nil, e
	}
	u.totpSecret, u.pendingSecret = target, ""
	if in.FriendlyDeviceName != "" {
		u.deviceName = in.FriendlyDeviceName
	}
	return map[string]string{"Status": "SUCCESS"}, nil
}

func (s *Server) getUser(body []byte) (any, *apiError) {
	var in struct{ AccessToken string }
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	t, e := s.userToken(in.AccessToken)
	if e != nil {
		return nil, e
	}
	return userView(t.user), nil
}

// userView is what GetUser and AdminGetUser tell of a user.
// UserMFASettingList lists the enabled factors only: nothing shows a token
// that is registered but not enabled.
func userView(u *User) map[string]any {
	attrs := []map[string]string{{"Name": "sub", "Value": u.Sub}}
	for _, a := range [][2]string{{"email", u.Email}, {"phone_number", u.PhoneNumber}} {
		if a[1] != "" {
			attrs = append(attrs, map[string]string{"Name": a[0], "Value": a[1]})
		}
	}
	out := map[string]any{"Username": u.Username, "UserAttributes": attrs}
	if list := u.listed(); len(list) > 0 {
		out["UserMFASettingList"] = list
	}
	if pref := u.preferred(); pref != "" {
		out["PreferredMfaSetting"] = pref
	}
	return out
}

func (s *Server) appClient(id string) (*AppClient, *Pool, *apiError) {
	c := s.clients[id]
	if c == nil {
		return nil, nil, errf("ResourceNotFoundException", "User pool client "+id+" does not exist.")
	}
	p := s.pools[c.PoolID]
	if p == nil {
		return nil, nil, errf("ResourceNotFoundException", "User pool "+c.PoolID+" does not exist.")
	}
	return c, p, nil
}

func (s *Server) liveSession(id string) (*session, *apiError) {
	sess := s.sessions[id]
	if sess == nil {
		if s.spent[id] {
			return nil, errSessionReused // amplify-js#13123
		}
		return nil, errSessionInvalid
	}
	if s.now().After(sess.expires) {
		delete(s.sessions, id)
		return nil, errSessionExpired
	}
	return sess, nil
}

// spend ends a session that was used: sent again, it is refused as reused.
func (s *Server) spend(id string) {
	delete(s.sessions, id)
	s.spent[id] = true
}

func (s *Server) liveToken(t string) (*token, *apiError) {
	tok := s.tokens[t]
	if tok == nil {
		return nil, errTokenInvalid
	}
	if s.now().After(tok.expires) {
		return nil, errTokenExpired
	}
	if tok.pool.users[tok.user.Username] != tok.user {
		return nil, errUserNotFound
	}
	return tok, nil
}

// userToken is liveToken for the user's own operations, which need the
// aws.cognito.signin.user.admin scope.
func (s *Server) userToken(t string) (*token, *apiError) {
	tok, e := s.liveToken(t)
	if e == nil && !tok.adminScope {
		return nil, errMissingScope
	}
	return tok, e
}

// How a missing SECRET_HASH is worded: InitiateAuth "Client <id> is
// configured for secret but secret was not received" (AWS CLI transcripts),
// RespondToAuthChallenge "Client <id> is configured with secret but
// SECRET_HASH was not received" (amazon-cognito-identity-dart-2#249,
// amplify-android#2504).
const (
	secretNotReceived     = " is configured for secret but secret was not received"
	secretHashNotReceived = " is configured with secret but SECRET_HASH was not received"
)

// secretMissing refuses a request without SECRET_HASH to a client with a secret.
func secretMissing(c *AppClient, params map[string]string, wording string) *apiError {
	if _, ok := params["SECRET_HASH"]; c.Secret != "" && !ok {
		return notAuthorized("Client " + c.ID + wording)
	}
	return nil
}

func checkSecretHash(c *AppClient, username string, params map[string]string, missing string) *apiError {
	if c.Secret == "" {
		return nil
	}
	if e := secretMissing(c, params, missing); e != nil {
		return e
	}
	got := params["SECRET_HASH"]
	mac := hmac.New(sha256.New, []byte(c.Secret))
	mac.Write([]byte(username + c.ID))
	if !hmac.Equal([]byte(got), []byte(base64.StdEncoding.EncodeToString(mac.Sum(nil)))) {
		return notAuthorized("Unable to verify secret hash for client " + c.ID)
	}
	return nil
}
