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
	users              map[string]*User
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
	// SMSMFA marks an SMS factor, to provoke SMS_MFA and SELECT_MFA_TYPE.
	SMSMFA bool

	totpSecret    string // the verified software token
	pendingSecret string // associated, not yet verified
	deviceName    string
	totpEnabled   bool
	totpPreferred bool
	usedCodes     []usedCode // accepted TOTP codes still inside their window
}

// UserState is what a test may observe of a user.
type UserState struct {
	Sub           string
	TOTPSecret    string
	PendingSecret string
	DeviceName    string
	TOTPEnabled   bool
	TOTPPreferred bool
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
}

// CreatePool adds a user pool.
func (s *Server) CreatePool(id, mfa string, softwareTokenMFA bool) *Pool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &Pool{ID: id, MFA: mfa, SoftwareTokenMFA: softwareTokenMFA, users: map[string]*User{}}
	s.pools[id] = p
	return p
}

// CreateClient adds an app client to a pool.
func (s *Server) CreateClient(c AppClient) *AppClient {
	s.mu.Lock()
	defer s.mu.Unlock()
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
	if u.Status == "" {
		u.Status = StatusConfirmed
	}
	if u.Sub == "" {
		u.Sub = newUUID()
	}
	s.remember(u.Password)
	s.pools[poolID].users[u.Username] = &u
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

// ResetMFA clears a user's software token, as an administrator would.
func (s *Server) ResetMFA(poolID, username string) {
	s.UpdateUser(poolID, username, func(u *User) {
		u.totpSecret, u.pendingSecret, u.totpEnabled, u.totpPreferred = "", "", false, false
	})
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
		TOTPEnabled: u.totpEnabled, TOTPPreferred: u.totpPreferred}
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
