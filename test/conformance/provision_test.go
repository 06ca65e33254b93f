package conformance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// poolKind is a user pool configuration the behaviours need.
type poolKind string

// Every pool states UsernameConfiguration: without it real Cognito's
// default applies, which the console and the API have set differently.
const (
	poolOptional poolKind = "optional" // MFA OPTIONAL, TOTP enabled
	poolRequired poolKind = "required" // MFA ON, TOTP enabled
	poolAlias    poolKind = "alias"    // MFA OPTIONAL, TOTP enabled, e-mail as username, case-sensitive
	poolAliasCI  poolKind = "alias-ci" // poolAlias, case-insensitive
	// poolRequiredAlias is MFA ON with e-mail as username (make e2e-aws).
	poolRequiredAlias poolKind = "required-alias"
	poolNoTOTP        poolKind = "totp-off" // MFA OFF, TOTP disabled
)

func (k poolKind) mfa() types.UserPoolMfaType {
	switch k {
	case poolRequired, poolRequiredAlias:
		return types.UserPoolMfaTypeOn
	case poolNoTOTP:
		return types.UserPoolMfaTypeOff
	}
	return types.UserPoolMfaTypeOptional
}

// alias: users sign in with their e-mail address.
func (k poolKind) alias() bool { return k == poolAlias || k == poolAliasCI || k == poolRequiredAlias }

// caseSensitive is the pool's UsernameConfiguration.CaseSensitive.
func (k poolKind) caseSensitive() bool { return k != poolAliasCI }

// clientKind is an app client configuration.
type clientKind string

const (
	clientPublic clientKind = "public" // no secret
	clientSecret clientKind = "secret" // SECRET_HASH required
	// clientShort has access tokens valid for one second; targets that cannot
	// (real Cognito: 5 minutes at least) never create it.
	clientShort clientKind = "short"
)

type appClient struct{ id, secret string }

type pool struct {
	id      string
	kind    poolKind
	mu      sync.Mutex
	clients map[clientKind]appClient
}

// provisioner creates and deletes what the behaviours sign in to. The fake is
// set up through its Go API; cognito-local and real Cognito through the same
// SDK Admin calls (sdkProvisioner), so the real target's set-up and teardown
// run in every local run.
type provisioner interface {
	createPool(ctx context.Context, kind poolKind) (string, error)
	createClient(ctx context.Context, poolID string, kind clientKind) (appClient, error)
	// createUser makes a confirmed user with a permanent password and returns
	// its canonical username (which differs from login in an alias pool).
	createUser(ctx context.Context, poolID, login, email, password string) (string, error)
	deleteUser(ctx context.Context, poolID, username string) error
	// setMFA changes a pool's MFA configuration (TOTP stays enabled).
	setMFA(ctx context.Context, poolID string, mfa types.UserPoolMfaType) error
}

// pool returns the target's pool of a kind, creating it on first use; pools
// live until the target's teardown.
func (tg *target) pool(t *testing.T, kind poolKind) *pool {
	t.Helper()
	tg.mu.Lock()
	defer tg.mu.Unlock()
	if p := tg.pools[kind]; p != nil {
		return p
	}
	p := tg.createPool(t, kind)
	tg.pools[kind] = p
	return p
}

// ownPool creates a pool for one behaviour alone, which changes it; it is
// deleted with the others at the end.
func (tg *target) ownPool(t *testing.T, kind poolKind) *pool {
	t.Helper()
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return tg.createPool(t, kind)
}

func (tg *target) createPool(t *testing.T, kind poolKind) *pool {
	t.Helper()
	id, err := tg.prov.createPool(t.Context(), kind)
	if err != nil {
		t.Fatalf("creating the %s pool: %v", kind, err)
	}
	tg.rec.identify(id, "<pool>")
	return &pool{id: id, kind: kind, clients: map[clientKind]appClient{}}
}

// client returns the pool's app client of a kind, creating it on first use.
func (tg *target) client(t *testing.T, p *pool, kind clientKind) appClient {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.clients[kind]; ok {
		return c
	}
	c, err := tg.prov.createClient(t.Context(), p.id, kind)
	if err != nil {
		t.Fatalf("creating a %s app client in the %s pool: %v", kind, p.kind, err)
	}
	tg.rec.identify(c.id, "<client>")
	p.clients[kind] = c
	return c
}

// newUser creates a user for one behaviour, deleted when it ends.
func (tg *target) newUser(t *testing.T, kind poolKind, ck clientKind) *user {
	t.Helper()
	return tg.newUserIn(t, tg.pool(t, kind), ck)
}

func (tg *target) newUserIn(t *testing.T, p *pool, ck clientKind) *user {
	t.Helper()
	u := &user{tg: tg, pool: p, client: tg.client(t, p, ck), used: map[string]bool{},
		// Meets the default password policy: upper, lower, digit, symbol, 8+.
		password: "Conf-" + randomHex(8) + "-Aa1!"}
	u.login = "conf-" + randomHex(6)
	email := ""
	if p.kind.alias() {
		email = u.login + "@example.com"
		u.login = email
	}
	name, err := tg.prov.createUser(t.Context(), p.id, u.login, email, u.password)
	if err != nil {
		t.Fatalf("creating a user in the %s pool: %v", p.kind, err)
	}
	u.username = name
	tg.rec.identify(name, "<user>")
	tg.rec.identify(u.login, "<login>")
	t.Cleanup(func() {
		// Not t.Context(): it is cancelled before cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := tg.prov.deleteUser(ctx, p.id, name); err != nil {
			t.Errorf("deleting user %s from pool %s: %v", name, p.id, err)
		}
	})
	return u
}

// sdkProvisioner provisions with the Admin API, signed.
type sdkProvisioner struct {
	api *cip.Client

	mu    sync.Mutex
	pools []string // created and not yet deleted
}

const poolNamePrefix = "cognito-mfa-conformance-"

func (s *sdkProvisioner) createPool(ctx context.Context, kind poolKind) (string, error) {
	in := &cip.CreateUserPoolInput{
		PoolName:              aws.String(poolNamePrefix + string(kind) + "-" + randomHex(4)),
		DeletionProtection:    types.DeletionProtectionTypeInactive,
		UserPoolTier:          types.UserPoolTierTypeLite, // the cheapest plan has all the suite needs
		AdminCreateUserConfig: &types.AdminCreateUserConfigType{AllowAdminCreateUserOnly: true},
		UserPoolTags:          map[string]string{"purpose": "cognito-mfa-operator-conformance"},
		UsernameConfiguration: &types.UsernameConfigurationType{CaseSensitive: aws.Bool(kind.caseSensitive())},
	}
	if kind.alias() {
		in.UsernameAttributes = []types.UsernameAttributeType{types.UsernameAttributeTypeEmail}
	}
	out, err := s.api.CreateUserPool(ctx, in)
	if err != nil {
		return "", err
	}
	id := aws.ToString(out.UserPool.Id)
	s.mu.Lock()
	s.pools = append(s.pools, id) // recorded first, so a failure below still deletes it
	s.mu.Unlock()
	if kind == poolNoTOTP {
		return id, nil // a new pool has MFA OFF and no TOTP: nothing to ask of SetUserPoolMfaConfig
	}
	return id, s.setMFA(ctx, id, kind.mfa())
}

func (s *sdkProvisioner) setMFA(ctx context.Context, poolID string, mfa types.UserPoolMfaType) error {
	_, err := s.api.SetUserPoolMfaConfig(ctx, &cip.SetUserPoolMfaConfigInput{UserPoolId: aws.String(poolID),
		MfaConfiguration:              mfa,
		SoftwareTokenMfaConfiguration: &types.SoftwareTokenMfaConfigType{Enabled: true}})
	return err
}

func (s *sdkProvisioner) createClient(ctx context.Context, poolID string, kind clientKind) (appClient, error) {
	in := &cip.CreateUserPoolClientInput{UserPoolId: aws.String(poolID),
		ClientName:     aws.String("conformance-" + string(kind)),
		GenerateSecret: kind == clientSecret,
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserPasswordAuth,
			types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth},
		// Stated, not defaulted: unknown users must answer UserNotFoundException.
		PreventUserExistenceErrors: types.PreventUserExistenceErrorTypesLegacy,
	}
	if kind == clientShort {
		in.AccessTokenValidity = aws.Int32(1)
		in.TokenValidityUnits = &types.TokenValidityUnitsType{AccessToken: types.TimeUnitsTypeSeconds}
	}
	out, err := s.api.CreateUserPoolClient(ctx, in)
	if err != nil {
		return appClient{}, err
	}
	return appClient{id: aws.ToString(out.UserPoolClient.ClientId), secret: aws.ToString(out.UserPoolClient.ClientSecret)}, nil
}

func (s *sdkProvisioner) createUser(ctx context.Context, poolID, login, email, password string) (string, error) {
	in := &cip.AdminCreateUserInput{UserPoolId: aws.String(poolID), Username: aws.String(login),
		MessageAction: types.MessageActionTypeSuppress}
	if email != "" {
		in.UserAttributes = []types.AttributeType{{Name: aws.String("email"), Value: aws.String(email)},
			{Name: aws.String("email_verified"), Value: aws.String("true")}}
	}
	out, err := s.api.AdminCreateUser(ctx, in)
	if err != nil {
		return "", err
	}
	if _, err := s.api.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: aws.String(poolID),
		Username: aws.String(login), Password: aws.String(password), Permanent: true}); err != nil {
		return "", err
	}
	// In a pool with e-mail as username, Cognito names the user itself.
	return aws.ToString(out.User.Username), nil
}

func (s *sdkProvisioner) deleteUser(ctx context.Context, poolID, username string) error {
	_, err := s.api.AdminDeleteUser(ctx, &cip.AdminDeleteUserInput{UserPoolId: aws.String(poolID), Username: aws.String(username)})
	return err
}

func (s *sdkProvisioner) deletePool(ctx context.Context, poolID string) error {
	_, err := s.api.DeleteUserPool(ctx, &cip.DeleteUserPoolInput{UserPoolId: aws.String(poolID)})
	var gone *types.ResourceNotFoundException
	if err != nil && !errors.As(err, &gone) {
		return err
	}
	s.mu.Lock()
	s.pools = slices.DeleteFunc(s.pools, func(id string) bool { return id == poolID })
	s.mu.Unlock()
	return nil
}

// teardown deletes every pool still recorded (with its clients and users).
func (s *sdkProvisioner) teardown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s.mu.Lock()
	pools := slices.Clone(s.pools)
	s.mu.Unlock()
	for _, id := range pools {
		if err := s.deletePool(ctx, id); err != nil {
			t.Errorf("LEAKED user pool %s: %v (delete it: aws cognito-idp delete-user-pool --user-pool-id %s)", id, err, id)
		}
	}
}

// fakeProvisioner sets the fake target up through its Go API, which reaches
// what the Admin API does not provision here (an SMS factor, a failing
// trigger); TestConformanceRealPathOnFake provisions the fake through the
// Admin API instead.
type fakeProvisioner struct {
	fake *cognitofake.Server
	mu   sync.Mutex
	seq  int
}

func (f *fakeProvisioner) createPool(_ context.Context, kind poolKind) (string, error) {
	f.mu.Lock()
	f.seq++
	id := fmt.Sprintf("us-east-1_Conf%d%s", f.seq, randomHex(3))
	f.mu.Unlock()
	f.fake.CreatePool(id, string(kind.mfa()), kind != poolNoTOTP)
	f.fake.UpdatePool(id, func(p *cognitofake.Pool) {
		p.UsernameCaseInsensitive = !kind.caseSensitive()
		if kind.alias() {
			p.UsernameAttributes = []string{"email"}
		}
	})
	return id, nil
}

func (f *fakeProvisioner) setMFA(_ context.Context, poolID string, mfa types.UserPoolMfaType) error {
	f.fake.UpdatePool(poolID, func(p *cognitofake.Pool) { p.MFA = string(mfa) })
	return nil
}

func (f *fakeProvisioner) createClient(_ context.Context, poolID string, kind clientKind) (appClient, error) {
	c := cognitofake.AppClient{ID: "conf" + randomHex(10), PoolID: poolID}
	switch kind {
	case clientSecret:
		c.Secret = randomHex(24)
	case clientShort:
		c.AccessTokenValidity = time.Second
	}
	f.fake.CreateClient(c)
	return appClient{id: c.ID, secret: c.Secret}, nil
}

func (f *fakeProvisioner) createUser(_ context.Context, poolID, login, email, password string) (string, error) {
	name := login
	if email != "" {
		name = newUUID() // as Cognito names users of a pool with e-mail as username
	}
	f.fake.CreateUser(poolID, cognitofake.User{Username: name, Email: email, Password: password})
	return name, nil
}

// deleteUser does nothing: the fake has no user deletion and goes away with the test.
func (f *fakeProvisioner) deleteUser(context.Context, string, string) error { return nil }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
