package cognitofake

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"time"
)

// MFA configurations of a pool, as SetUserPoolMfaConfig names them.
const (
	MFAOff      = "OFF"
	MFAOptional = "OPTIONAL"
	MFAOn       = "ON"
)

// User statuses the fake models.
const (
	StatusConfirmed           = "CONFIRMED"
	StatusUnconfirmed         = "UNCONFIRMED"
	StatusResetRequired       = "RESET_REQUIRED"
	StatusForceChangePassword = "FORCE_CHANGE_PASSWORD"
)

// Pool is a user pool.
type Pool struct {
	ID string
	// MFA is OFF, OPTIONAL or ON.
	MFA string
	// SoftwareTokenMFA says whether TOTP is enabled on the pool.
	SoftwareTokenMFA bool
	// UsernameAttributes lets users sign in with an alias instead of their
	// username, as the pool setting of that name does; the fake knows "email".
	UsernameAttributes []string
	// UsernameCaseInsensitive is UsernameConfiguration.CaseSensitive=false:
	// usernames and e-mail aliases then match whatever their case. Cognito's
	// default (and the zero value here) is case-sensitive.
	UsernameCaseInsensitive bool
	// SMSMFA and EmailMFA turn SMS and e-mail message MFA on for the pool
	// (SetUserPoolMfaConfig's SmsMfaConfiguration, EmailMfaConfiguration);
	// WebAuthnMFA lets passkeys count as MFA (WebAuthnConfiguration's
	// FactorConfiguration MULTI_FACTOR_WITH_USER_VERIFICATION). They decide
	// the factors on offer and, in a pool that requires MFA, what a user with
	// a phone number or e-mail address but no factor is challenged with.
	SMSMFA, EmailMFA, WebAuthnMFA bool
	// DropsAdminScope models access-token customization (a pre token
	// generation trigger, V2) that removes aws.cognito.signin.user.admin from
	// the pool's access tokens.
	DropsAdminScope bool
	// Tier is the feature plan (LITE, ESSENTIALS, PLUS); "" is not checked.
	Tier string
	// Name and Tags are what CreateUserPool was given.
	Name  string
	Tags  map[string]string
	users map[string]*User
}

// AppClient is an app client of a pool.
type AppClient struct {
	ID     string
	PoolID string
	// Secret, when set, makes SECRET_HASH mandatory.
	Secret string
	// SessionValidity is AuthSessionValidity (default 3 minutes).
	SessionValidity time.Duration
	// AccessTokenValidity defaults to 1 hour.
	AccessTokenValidity time.Duration
	// ExplicitAuthFlows, when set, are the flows the client allows
	// (ALLOW_USER_PASSWORD_AUTH...); nil allows every flow the fake serves.
	// CreateUserPoolClient without ExplicitAuthFlows gets Cognito's default,
	// which lacks ALLOW_USER_PASSWORD_AUTH.
	ExplicitAuthFlows []string
}

// User is a pool user.
type User struct {
	Username string
	Password string
	Status   string
	// Sub is the user's immutable id; CreateUser generates a UUIDv4 when empty.
	Sub string
	// Email is the user's e-mail address, a sign-in alias when the pool's
	// UsernameAttributes include "email".
	Email string
	// PhoneNumber is the user's phone_number attribute.
	PhoneNumber string
	// SMSMFA and EmailMFA are SMS and e-mail factors the user has enabled
	// (in UserMFASettingList); SMSPreferred and EmailPreferred make one the
	// preferred factor.
	SMSMFA, SMSPreferred, EmailMFA, EmailPreferred bool

	totpSecret    string // the registered (verified) software token
	pendingSecret string // associated, not yet verified
	deviceName    string
	totpEnabled   bool
	totpPreferred bool
	usedCodes     []usedCode // accepted TOTP codes still inside their window
	reusedCodes   int        // codes presented again inside their window
	lockout       lockout
}

// UserState is what a test may observe of a user.
type UserState struct {
	Sub string
	// TOTPSecret is the registered software token: it survives turning TOTP
	// off (SetUserMFAPreference), and only AdminDeleteSoftwareToken (or a
	// replacement) removes it.
	TOTPSecret    string
	PendingSecret string
	DeviceName    string
	// TOTPEnabled and TOTPPreferred are what GetUser lists.
	TOTPEnabled   bool
	TOTPPreferred bool
	// FailedAttempts counts the failed passwords and MFA codes of the lockout;
	// LockedUntil is when the current lockout ends (zero for none).
	FailedAttempts int
	LockedUntil    time.Time
	// ReusedCodes counts the codes presented again while still remembered
	// as used (one-time codes on or not): what a client that keeps a ledger
	// of its codes never does.
	ReusedCodes int
}

type session struct {
	user      *User
	pool      *Pool
	client    *AppClient
	challenge string
	// stage of an MFA_SETUP flow: "", "associated", "verified".
	stage   string
	pending string
	expires time.Time
}

type token struct {
	user    *User
	pool    *Pool
	expires time.Time
	// adminScope: the token carries aws.cognito.signin.user.admin.
	adminScope bool
}

// CreatePool adds a user pool.
func (s *Server) CreatePool(id, mfa string, softwareTokenMFA bool) *Pool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addPool(&Pool{ID: id, Name: id, MFA: mfa, SoftwareTokenMFA: softwareTokenMFA})
}

func (s *Server) addPool(p *Pool) *Pool {
	p.users = map[string]*User{}
	s.pools[p.ID] = p
	return p
}

// CreateClient adds an app client to a pool.
func (s *Server) CreateClient(c AppClient) *AppClient {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addClient(c)
}

func (s *Server) addClient(c AppClient) *AppClient {
	if c.SessionValidity == 0 {
		c.SessionValidity = 3 * time.Minute
	}
	if c.AccessTokenValidity == 0 {
		c.AccessTokenValidity = time.Hour
	}
	s.clients[c.ID] = &c
	s.remember(c.Secret)
	return &c
}

// CreateUser adds a user; Status defaults to CONFIRMED.
func (s *Server) CreateUser(poolID string, u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addUser(s.pools[poolID], &u)
}

func (s *Server) addUser(p *Pool, u *User) {
	if u.Status == "" {
		u.Status = StatusConfirmed
	}
	if u.Sub == "" {
		u.Sub = newUUID()
	}
	s.remember(u.Password)
	p.users[u.Username] = u
}

// UpdatePool changes a pool under the fake's lock.
func (s *Server) UpdatePool(poolID string, change func(*Pool)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	change(s.pools[poolID])
}

// UpdateUser changes a user under the fake's lock.
func (s *Server) UpdateUser(poolID, username string, change func(*User)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	change(s.pools[poolID].users[username])
}

// ResetMFA clears a user's software token, as an administrator's
// AdminDeleteSoftwareToken does.
func (s *Server) ResetMFA(poolID, username string) {
	s.UpdateUser(poolID, username, (*User).deleteSoftwareToken)
}

// deleteSoftwareToken removes the registration and any TOTP preference; the
// other factors stay (API reference AdminDeleteSoftwareToken).
func (u *User) deleteSoftwareToken() {
	u.totpSecret, u.pendingSecret, u.totpEnabled, u.totpPreferred = "", "", false, false
}

// SetVerifiedToken gives a user a verified, enabled software token, as an
// enrollment done by someone else would.
func (s *Server) SetVerifiedToken(poolID, username, secret string) {
	s.UpdateUser(poolID, username, func(u *User) {
		u.totpSecret, u.pendingSecret, u.totpEnabled = secret, "", true
	})
}

// User reports a user's MFA state.
func (s *Server) User(poolID, username string) UserState {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.pools[poolID].users[username]
	return UserState{Sub: u.Sub, TOTPSecret: u.totpSecret, PendingSecret: u.pendingSecret, DeviceName: u.deviceName,
		TOTPEnabled: u.totpEnabled, TOTPPreferred: u.totpPreferred,
		FailedAttempts: u.lockout.failures, LockedUntil: u.lockout.until, ReusedCodes: u.reusedCodes}
}

// IssueAccessToken mints an access token for a user, as a sign-in elsewhere would.
func (s *Server) IssueAccessToken(clientID, username string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.clients[clientID]
	p := s.pools[c.PoolID]
	return s.newToken(p, c, p.users[username])
}

func (s *Server) newSession(p *Pool, c *AppClient, u *User, challenge, stage string) string {
	id := "fake-session-" + randomHex(32)
	s.remember(id)
	s.sessions[id] = &session{user: u, pool: p, client: c, challenge: challenge, stage: stage,
		expires: s.now().Add(c.SessionValidity)}
	return id
}

// remember records secret material the fake handed out or was given.
func (s *Server) remember(v string) {
	if v != "" {
		s.secrets = append(s.secrets, v)
	}
}

// Secrets is every password, client secret, token, session, TOTP seed and
// code the fake has seen, for tests that prove none of them leaked.
func (s *Server) Secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.secrets...)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return hex.EncodeToString(b)
}

// newUUID is a random (version 4) UUID, the shape of Cognito's sub.
func newUUID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// newSecret is a 52-character unpadded base32 seed (32 random bytes), the
// shape real Cognito hands out (cognito-local issues 32 characters).
func newSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
}
