package cognitofake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"regexp"
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
	if in.AuthFlow != "USER_PASSWORD_AUTH" {
		return nil, invalidParameter(in.AuthFlow + " flow not enabled for this client")
	}
	// SECRET_HASH is of whatever USERNAME was sent, alias or not.
	username := in.AuthParameters["USERNAME"]
	if e := checkSecretHash(c, username, in.AuthParameters); e != nil {
		return nil, e
	}
	u := p.lookup(username)
	if u == nil {
		return nil, errUserNotFound
	}
	if u.Password != in.AuthParameters["PASSWORD"] {
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
	return s.mfaStep(p, c, u), nil
}

// mfaStep decides what follows a correct password, as Cognito does.
func (s *Server) mfaStep(p *Pool, c *AppClient, u *User) *authResult {
	if p.MFA != MFAOff {
		totpOn := u.totpSecret != "" && (u.totpEnabled || p.MFA == MFAOn)
		switch {
		case totpOn && u.SMSMFA && !u.totpPreferred:
			return s.challenge(p, c, u, "SELECT_MFA_TYPE", "")
		case totpOn:
			return s.challenge(p, c, u, "SOFTWARE_TOKEN_MFA", "")
		case u.SMSMFA:
			return s.challenge(p, c, u, "SMS_MFA", "")
		case p.MFA == MFAOn:
			return s.challenge(p, c, u, "MFA_SETUP", "")
		}
	}
	return s.tokensFor(p, c, u)
}

func (s *Server) challenge(p *Pool, c *AppClient, u *User, name, stage string) *authResult {
	params := map[string]string{"USER_ID_FOR_SRP": u.Username}
	// The factors on offer, as a JSON list in a string, the way Cognito sends them.
	switch {
	case name == "SELECT_MFA_TYPE":
		params["MFAS_CAN_CHOOSE"] = `["SMS_MFA","SOFTWARE_TOKEN_MFA"]`
	case name == "MFA_SETUP" && p.SoftwareTokenMFA:
		params["MFAS_CAN_SETUP"] = `["SOFTWARE_TOKEN_MFA"]`
	}
	return &authResult{
		ChallengeName:       name,
		ChallengeParameters: params,
		Session:             s.newSession(p, c, u, name, stage),
	}
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
	if e := secretMissing(c, in.ChallengeResponses); e != nil {
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
	switch in.ChallengeName {
	case "MFA_SETUP":
		if sess.stage != "verified" {
			return nil, invalidParameter("Software token has not been verified for this session")
		}
		delete(s.sessions, in.Session)
		return s.tokensFor(p, c, u), nil
	case "SOFTWARE_TOKEN_MFA":
		s.remember(in.ChallengeResponses["SOFTWARE_TOKEN_MFA_CODE"])
		ok, e := s.acceptCode(u, u.totpSecret, in.ChallengeResponses["SOFTWARE_TOKEN_MFA_CODE"])
		if e != nil {
			return nil, e
		}
		if !ok {
			return nil, errCodeMismatch
		}
		delete(s.sessions, in.Session)
		return s.tokensFor(p, c, u), nil
	case "SELECT_MFA_TYPE":
		if in.ChallengeResponses["ANSWER"] != "SOFTWARE_TOKEN_MFA" {
			return nil, invalidParameter("the fake answers SELECT_MFA_TYPE with SOFTWARE_TOKEN_MFA only")
		}
		delete(s.sessions, in.Session)
		return s.challenge(p, c, u, "SOFTWARE_TOKEN_MFA", ""), nil
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
		delete(s.sessions, in.Session)
		next := s.newSession(sess.pool, sess.client, sess.user, "MFA_SETUP", "associated")
		s.sessions[next].pending = secret
		return map[string]string{"SecretCode": secret, "Session": next}, nil
	}
	t, e := s.liveToken(in.AccessToken)
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
		ok, e := s.acceptCode(u, sess.pending, in.UserCode)
		if e != nil {
			return nil, e
		}
		if !ok {
			return nil, errEnableMismatch
		}
		u.totpSecret, u.pendingSecret, u.totpEnabled, u.deviceName = sess.pending, "", true, in.FriendlyDeviceName
		delete(s.sessions, in.Session)
		next := s.newSession(sess.pool, sess.client, u, "MFA_SETUP", "verified")
		return map[string]string{"Status": "SUCCESS", "Session": next}, nil
	}
	t, e := s.liveToken(in.AccessToken)
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
	ok, e := s.acceptCode(u, target, in.UserCode)
	if e != nil {
		return nil, e
	}
	if !ok {
		return nil, errEnableMismatch
	}
	u.totpSecret, u.pendingSecret = target, ""
	if in.FriendlyDeviceName != "" {
		u.deviceName = in.FriendlyDeviceName
	}
	return map[string]string{"Status": "SUCCESS"}, nil
}

func (s *Server) setUserMFAPreference(body []byte) (any, *apiError) {
	var in struct {
		AccessToken              string
		SoftwareTokenMfaSettings *struct{ Enabled, PreferredMfa bool }
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	t, e := s.liveToken(in.AccessToken)
	if e != nil {
		return nil, e
	}
	st := in.SoftwareTokenMfaSettings
	if st == nil {
		return map[string]string{}, nil
	}
	u := t.user
	if st.Enabled && u.totpSecret == "" {
		return nil, invalidParameter("User has not verified software token mfa")
	}
	if !st.Enabled && t.pool.MFA == MFAOn && !u.SMSMFA {
		if s.ignoreRequiredDisable {
			// Reports say AWS answers 200 and changes nothing here.
			return map[string]string{}, nil
		}
		return nil, invalidParameter("MFA is required for this user pool: software token MFA cannot be disabled")
	}
	u.totpEnabled, u.totpPreferred = st.Enabled, st.Enabled && st.PreferredMfa
	return map[string]string{}, nil
}

func (s *Server) getUser(body []byte) (any, *apiError) {
	var in struct{ AccessToken string }
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	t, e := s.liveToken(in.AccessToken)
	if e != nil {
		return nil, e
	}
	u := t.user
	attrs := []map[string]string{{"Name": "sub", "Value": u.Sub}}
	if u.Email != "" {
		attrs = append(attrs, map[string]string{"Name": "email", "Value": u.Email})
	}
	out := map[string]any{"Username": u.Username, "UserAttributes": attrs}
	var list []string
	if u.SMSMFA {
		list = append(list, "SMS_MFA")
	}
	if u.totpEnabled {
		list = append(list, "SOFTWARE_TOKEN_MFA")
	}
	if len(list) > 0 {
		out["UserMFASettingList"] = list
	}
	if u.totpPreferred {
		out["PreferredMfaSetting"] = "SOFTWARE_TOKEN_MFA"
	}
	return out, nil
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
		return nil, errSessionInvalid
	}
	if s.now().After(sess.expires) {
		delete(s.sessions, id)
		return nil, errSessionExpired
	}
	return sess, nil
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

// secretMissing refuses a request without SECRET_HASH to a client with a secret.
func secretMissing(c *AppClient, params map[string]string) *apiError {
	if _, ok := params["SECRET_HASH"]; c.Secret != "" && !ok {
		return notAuthorized("Client " + c.ID + " is configured for secret but secret was not received")
	}
	return nil
}

func checkSecretHash(c *AppClient, username string, params map[string]string) *apiError {
	if c.Secret == "" {
		return nil
	}
	if e := secretMissing(c, params); e != nil {
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
