package cognitofake

import (
	"crypto/rand"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// The Admin operations are IAM-authorised: the SDK signs them (SigV4) and
// Cognito refuses them unsigned. The fake serves the ones a test harness
// needs to provision pools as against real Cognito (test/conformance's real
// path runs on the fake through them), and the two that act on a user's MFA.
var adminHandlers = map[string]handler{
	"CreateUserPool":            (*Server).createUserPool,
	"DescribeUserPool":          (*Server).describeUserPool,
	"DeleteUserPool":            (*Server).deleteUserPool,
	"SetUserPoolMfaConfig":      (*Server).setUserPoolMfaConfig,
	"CreateUserPoolClient":      (*Server).createUserPoolClient,
	"AdminCreateUser":           (*Server).adminCreateUser,
	"AdminSetUserPassword":      (*Server).adminSetUserPassword,
	"AdminGetUser":              (*Server).adminGetUser,
	"AdminDeleteUser":           (*Server).adminDeleteUser,
	"AdminSetUserMFAPreference": (*Server).adminSetUserMFAPreference,
	"AdminDeleteSoftwareToken":  (*Server).adminDeleteSoftwareToken,
}

// AdminOperations are the IAM-authorised operations the fake serves.
func AdminOperations() []string {
	var ops []string
	for op := range adminHandlers {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	return ops
}

// errUnsigned answers an Admin request without a signature (the wording is
// AWS's generic one for unsigned requests; assumed for Cognito).
var errUnsigned = errf("MissingAuthenticationTokenException", "Missing Authentication Token")

// credentialRegion is the Region in a SigV4 Authorization header's scope
// (Credential=AKID/20240101/eu-west-1/cognito-idp/aws4_request).
var credentialRegion = regexp.MustCompile(`Credential=[^/]+/\d{8}/([a-z0-9-]+)/`)

func regionOf(authorization string) string {
	if m := credentialRegion.FindStringSubmatch(authorization); m != nil {
		return m[1]
	}
	return "us-east-1"
}

// Default app client flows when CreateUserPoolClient names none
// ([SDK] api_op_CreateUserPoolClient.go ExplicitAuthFlows).
var defaultAuthFlows = []string{"ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_CUSTOM_AUTH"}

type poolView struct {
	Id, Name, MfaConfiguration string
	UsernameAttributes         []string `json:",omitempty"`
	UsernameConfiguration      struct{ CaseSensitive bool }
	UserPoolTags               map[string]string `json:",omitempty"`
	UserPoolTier               string            `json:",omitempty"`
}

func (p *Pool) view() map[string]any {
	v := poolView{Id: p.ID, Name: p.Name, MfaConfiguration: p.MFA, UsernameAttributes: p.UsernameAttributes,
		UserPoolTags: p.Tags, UserPoolTier: p.Tier}
	v.UsernameConfiguration.CaseSensitive = !p.UsernameCaseInsensitive
	return map[string]any{"UserPool": v}
}

func (s *Server) createUserPool(body []byte) (any, *apiError) {
	var in struct {
		PoolName              string
		UsernameAttributes    []string
		UsernameConfiguration *struct{ CaseSensitive *bool }
		UserPoolTags          map[string]string
		UserPoolTier          string
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if in.PoolName == "" {
		return nil, invalidParameter("1 validation error detected: Value null at 'poolName' failed to satisfy constraint: Member must not be null")
	}
	p := &Pool{ID: s.reqRegion + "_" + randomAlnum(9), Name: in.PoolName, MFA: MFAOff, Tier: in.UserPoolTier,
		UsernameAttributes: in.UsernameAttributes, Tags: in.UserPoolTags}
	if p.Tier == "" {
		p.Tier = "ESSENTIALS" // the default plan of new pools
	}
	// CaseSensitive defaults to true (API reference UsernameConfigurationType).
	if c := in.UsernameConfiguration; c != nil && c.CaseSensitive != nil && !*c.CaseSensitive {
		p.UsernameCaseInsensitive = true
	}
	return s.addPool(p).view(), nil
}

// pool is the pool a request names.
func (s *Server) pool(id string) (*Pool, *apiError) {
	if p := s.pools[id]; p != nil {
		return p, nil
	}
	return nil, errf("ResourceNotFoundException", "User pool "+id+" does not exist.")
}

func (s *Server) describeUserPool(body []byte) (any, *apiError) {
	var in struct{ UserPoolId string }
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	p, e := s.pool(in.UserPoolId)
	if e != nil {
		return nil, e
	}
	return p.view(), nil
}

func (s *Server) deleteUserPool(body []byte) (any, *apiError) {
	var in struct{ UserPoolId string }
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if _, e := s.pool(in.UserPoolId); e != nil {
		return nil, e
	}
	delete(s.pools, in.UserPoolId)
	for id, c := range s.clients {
		if c.PoolID == in.UserPoolId {
			delete(s.clients, id)
		}
	}
	return map[string]string{}, nil
}

func (s *Server) setUserPoolMfaConfig(body []byte) (any, *apiError) {
	var in struct {
		UserPoolId                    string
		MfaConfiguration              string
		SoftwareTokenMfaConfiguration *struct{ Enabled bool }
		SmsMfaConfiguration           *struct{ SmsConfiguration any }
		EmailMfaConfiguration         *struct{ Message, Subject string }
		WebAuthnConfiguration         *struct{ FactorConfiguration string }
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	p, e := s.pool(in.UserPoolId)
	if e != nil {
		return nil, e
	}
	if in.EmailMfaConfiguration != nil && p.Tier == "LITE" {
		// [SDK] SetUserPoolMfaConfig EmailMfaConfiguration: "in the Essentials tier or higher".
		return nil, errf("FeatureUnavailableInTierException", "Email MFA is not available in the LITE feature plan")
	}
	if in.MfaConfiguration != "" {
		p.MFA = in.MfaConfiguration
	}
	if in.SoftwareTokenMfaConfiguration != nil {
		p.SoftwareTokenMFA = in.SoftwareTokenMfaConfiguration.Enabled
	}
	// What is not given stays as it was (assumed).
	if in.SmsMfaConfiguration != nil {
		p.SMSMFA = in.SmsMfaConfiguration.SmsConfiguration != nil
	}
	if in.EmailMfaConfiguration != nil {
		p.EmailMFA = true
	}
	if in.WebAuthnConfiguration != nil {
		p.WebAuthnMFA = in.WebAuthnConfiguration.FactorConfiguration == "MULTI_FACTOR_WITH_USER_VERIFICATION"
	}
	return map[string]any{"MfaConfiguration": p.MFA,
		"SoftwareTokenMfaConfiguration": map[string]bool{"Enabled": p.SoftwareTokenMFA}}, nil
}

// tokenUnits turns a validity and its TokenValidityUnits into a duration
// (hours when no unit is given).
func tokenUnits(n int, unit string) time.Duration {
	switch unit {
	case "seconds":
		return time.Duration(n) * time.Second
	case "minutes":
		return time.Duration(n) * time.Minute
	case "days":
		return time.Duration(n) * 24 * time.Hour
	}
	return time.Duration(n) * time.Hour
}

func (s *Server) createUserPoolClient(body []byte) (any, *apiError) {
	var in struct {
		UserPoolId, ClientName string
		GenerateSecret         bool
		ExplicitAuthFlows      []string
		AccessTokenValidity    int
		AuthSessionValidity    int
		TokenValidityUnits     struct{ AccessToken string }
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	p, e := s.pool(in.UserPoolId)
	if e != nil {
		return nil, e
	}
	c := AppClient{ID: strings.ToLower(randomAlnum(26)), PoolID: p.ID, ExplicitAuthFlows: in.ExplicitAuthFlows}
	if c.ExplicitAuthFlows == nil {
		c.ExplicitAuthFlows = defaultAuthFlows
	}
	if in.AccessTokenValidity != 0 {
		c.AccessTokenValidity = tokenUnits(in.AccessTokenValidity, in.TokenValidityUnits.AccessToken)
		// [SDK] AccessTokenValidity: between 5 minutes and 1 day.
		if c.AccessTokenValidity < 5*time.Minute || c.AccessTokenValidity > 24*time.Hour {
			return nil, invalidParameter("Invalid range for token validity.")
		}
	}
	if in.AuthSessionValidity != 0 {
		c.SessionValidity = time.Duration(in.AuthSessionValidity) * time.Minute
	}
	if in.GenerateSecret {
		c.Secret = randomAlnum(51)
	}
	added := s.addClient(c)
	return map[string]any{"UserPoolClient": map[string]any{"ClientId": added.ID, "ClientSecret": added.Secret,
		"ClientName": in.ClientName, "UserPoolId": p.ID, "ExplicitAuthFlows": added.ExplicitAuthFlows}}, nil
}

// poolUser is the user an Admin request names (by username or alias).
func (s *Server) poolUser(poolID, username string) (*Pool, *User, *apiError) {
	p, e := s.pool(poolID)
	if e != nil {
		return nil, nil, e
	}
	u := p.lookup(username)
	if u == nil {
		return nil, nil, errUserNotFound
	}
	return p, u, nil
}

// namedUser is poolUser for a request of only UserPoolId and Username.
func (s *Server) namedUser(body []byte) (*Pool, *User, *apiError) {
	var in struct{ UserPoolId, Username string }
	if e := decode(body, &in); e != nil {
		return nil, nil, e
	}
	return s.poolUser(in.UserPoolId, in.Username)
}

func (s *Server) adminCreateUser(body []byte) (any, *apiError) {
	var in struct {
		UserPoolId, Username, TemporaryPassword string
		UserAttributes                          []struct{ Name, Value string }
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	p, e := s.pool(in.UserPoolId)
	if e != nil {
		return nil, e
	}
	if p.lookup(in.Username) != nil {
		return nil, errf("UsernameExistsException", "User account already exists")
	}
	u := &User{Username: in.Username, Status: StatusForceChangePassword, Password: in.TemporaryPassword, Sub: newUUID()}
	for _, a := range in.UserAttributes {
		switch a.Name {
		case "email":
			u.Email = a.Value
		case "phone_number":
			u.PhoneNumber = a.Value
		}
	}
	if slices.Contains(p.UsernameAttributes, "email") {
		// With e-mail as username, the username given is the address and
		// Cognito names the user with its sub.
		if !strings.Contains(in.Username, "@") {
			return nil, invalidParameter("Username should be an email.")
		}
		u.Email, u.Username = in.Username, u.Sub
	}
	s.addUser(p, u)
	v := userView(u)
	v["UserStatus"], v["Enabled"] = u.Status, true
	v["Attributes"] = v["UserAttributes"]
	delete(v, "UserAttributes")
	return map[string]any{"User": v}, nil
}

func (s *Server) adminSetUserPassword(body []byte) (any, *apiError) {
	var in struct {
		UserPoolId, Username, Password string
		Permanent                      bool
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	_, u, e := s.poolUser(in.UserPoolId, in.Username)
	if e != nil {
		return nil, e
	}
	s.remember(in.Password)
	u.Password = in.Password
	if in.Permanent {
		u.Status = StatusConfirmed
	} else {
		u.Status = StatusForceChangePassword
	}
	return map[string]string{}, nil
}

func (s *Server) adminGetUser(body []byte) (any, *apiError) {
	_, u, e := s.namedUser(body)
	if e != nil {
		return nil, e
	}
	v := userView(u)
	v["UserStatus"], v["Enabled"] = u.Status, true
	return v, nil
}

func (s *Server) adminDeleteUser(body []byte) (any, *apiError) {
	p, u, e := s.namedUser(body)
	if e != nil {
		return nil, e
	}
	delete(p.users, u.Username)
	return map[string]string{}, nil
}

func (s *Server) adminSetUserMFAPreference(body []byte) (any, *apiError) {
	var in struct {
		UserPoolId, Username string
		mfaPreference
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	p, u, e := s.poolUser(in.UserPoolId, in.Username)
	if e != nil {
		return nil, e
	}
	return map[string]string{}, s.applyMFAPreference(p, u, in.mfaPreference, true)
}

// adminDeleteSoftwareToken removes the user's registered token and any TOTP
// preference: in a pool that requires MFA with no other factor, the next
// sign-in is MFA_SETUP (API reference AdminDeleteSoftwareToken). A seed
// stored elsewhere for this user is void from then on.
func (s *Server) adminDeleteSoftwareToken(body []byte) (any, *apiError) {
	_, u, e := s.namedUser(body)
	if e != nil {
		return nil, e
	}
	u.deleteSoftwareToken()
	return map[string]string{}, nil
}

// randomAlnum is n random characters of [A-Za-z0-9], the shape of pool-id
// suffixes and client secrets.
func randomAlnum(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)] // a slight bias is harmless here
	}
	return string(b)
}
