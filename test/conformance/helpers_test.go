package conformance

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"
	"github.com/pquerna/otp"
	pqtotp "github.com/pquerna/otp/totp"
)

// user is a pool user one behaviour signs in as.
type user struct {
	tg     *target
	pool   *pool
	client appClient
	// username is canonical; login is what the user signs in with (the
	// e-mail address in the alias pool, else the username).
	username, login, password string
	// secret is the TOTP seed of the latest association.
	secret string
	// used holds every code sent for this user that Cognito may have
	// accepted: real Cognito refuses a code twice, so none is sent again.
	used map[string]bool
}

// secretHash is Base64(HMAC-SHA256(client secret, name + client id)),
// computed here from the developer guide rather than with the operator's code.
func secretHash(clientSecret, name, clientID string) string {
	mac := hmac.New(sha256.New, []byte(clientSecret))
	mac.Write([]byte(name + clientID))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// params are USERNAME=name, the extra pairs, and SECRET_HASH of name when the
// client has a secret.
func (u *user) params(name string, kv ...string) map[string]string {
	p := map[string]string{"USERNAME": name}
	for i := 0; i+1 < len(kv); i += 2 {
		p[kv[i]] = kv[i+1]
	}
	if u.client.secret != "" {
		p["SECRET_HASH"] = secretHash(u.client.secret, name, u.client.id)
	}
	return p
}

func (u *user) initiateWith(ctx context.Context, params map[string]string) (*cip.InitiateAuthOutput, error) {
	return u.tg.api.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeUserPasswordAuth,
		ClientId: aws.String(u.client.id), AuthParameters: params})
}

// initiate signs in with the login and the right password.
func (u *user) initiate(t *testing.T) (*cip.InitiateAuthOutput, error) {
	return u.initiateWith(t.Context(), u.params(u.login, "PASSWORD", u.password))
}

// tokens signs in and requires tokens without a challenge.
func (u *user) tokens(t *testing.T) string {
	t.Helper()
	out, err := u.initiate(t)
	if err != nil {
		t.Fatalf("InitiateAuth: %v", err)
	}
	if out.AuthenticationResult == nil || aws.ToString(out.AuthenticationResult.AccessToken) == "" {
		t.Fatalf("InitiateAuth: challenge %q, want tokens", out.ChallengeName)
	}
	return aws.ToString(out.AuthenticationResult.AccessToken)
}

// challenged signs in and requires the challenge named.
func (u *user) challenged(t *testing.T, name types.ChallengeNameType) *cip.InitiateAuthOutput {
	t.Helper()
	out, err := u.initiate(t)
	if err != nil {
		t.Fatalf("InitiateAuth: %v", err)
	}
	if out.ChallengeName != name || aws.ToString(out.Session) == "" {
		t.Fatalf("InitiateAuth: challenge %q (session %t), want %s with a session", out.ChallengeName, out.Session != nil, name)
	}
	return out
}

// respond answers a challenge as the canonical user, with SECRET_HASH when
// the client has a secret.
func (u *user) respond(t *testing.T, name types.ChallengeNameType, session *string, kv ...string) (*cip.RespondToAuthChallengeOutput, error) {
	return u.respondWith(t, name, session, u.params(u.username, kv...))
}

func (u *user) respondWith(t *testing.T, name types.ChallengeNameType, session *string, params map[string]string) (*cip.RespondToAuthChallengeOutput, error) {
	return u.tg.api.RespondToAuthChallenge(t.Context(), &cip.RespondToAuthChallengeInput{ClientId: aws.String(u.client.id),
		ChallengeName: name, Session: session, ChallengeResponses: params})
}

// answerTOTP answers SOFTWARE_TOKEN_MFA and requires tokens.
func (u *user) answerTOTP(t *testing.T, session *string, code string) string {
	t.Helper()
	res, err := u.respond(t, types.ChallengeNameTypeSoftwareTokenMfa, session, "SOFTWARE_TOKEN_MFA_CODE", code)
	if err != nil {
		t.Fatalf("answering SOFTWARE_TOKEN_MFA: %v", err)
	}
	return requireTokens(t, res)
}

func requireTokens(t *testing.T, res *cip.RespondToAuthChallengeOutput) string {
	t.Helper()
	if res.AuthenticationResult == nil || aws.ToString(res.AuthenticationResult.AccessToken) == "" {
		t.Fatalf("challenge answered with challenge %q, want tokens", res.ChallengeName)
	}
	return aws.ToString(res.AuthenticationResult.AccessToken)
}

// associate starts an association with an access token and keeps its secret.
func (u *user) associate(t *testing.T, access string) string {
	t.Helper()
	out, err := u.tg.api.AssociateSoftwareToken(t.Context(), &cip.AssociateSoftwareTokenInput{AccessToken: aws.String(access)})
	if err != nil {
		t.Fatalf("AssociateSoftwareToken: %v", err)
	}
	u.secret = aws.ToString(out.SecretCode)
	return u.secret
}

func (u *user) verify(t *testing.T, access, code string) (*cip.VerifySoftwareTokenOutput, error) {
	return u.tg.api.VerifySoftwareToken(t.Context(), &cip.VerifySoftwareTokenInput{AccessToken: aws.String(access), UserCode: aws.String(code)})
}

func (u *user) mustVerify(t *testing.T, access, code string) {
	t.Helper()
	out, err := u.verify(t, access, code)
	if err != nil {
		t.Fatalf("VerifySoftwareToken: %v", err)
	}
	if out.Status != types.VerifySoftwareTokenResponseTypeSuccess {
		t.Fatalf("VerifySoftwareToken: Status %q, want SUCCESS", out.Status)
	}
}

func (u *user) setTOTP(t *testing.T, access string, enabled, preferred bool) error {
	_, err := u.tg.api.SetUserMFAPreference(t.Context(), &cip.SetUserMFAPreferenceInput{AccessToken: aws.String(access),
		SoftwareTokenMfaSettings: &types.SoftwareTokenMfaSettingsType{Enabled: enabled, PreferredMfa: preferred}})
	return err
}

// enrol signs in, associates, verifies and enables TOTP (preferred or not),
// the access-token path; it returns the access token.
func (u *user) enrol(t *testing.T, preferred bool) string {
	t.Helper()
	access := u.tokens(t)
	u.associate(t, access)
	u.mustVerify(t, access, u.fresh(t, u.secret))
	if err := u.setTOTP(t, access, true, preferred); err != nil {
		t.Fatalf("SetUserMFAPreference: %v", err)
	}
	return access
}

func (u *user) getUser(t *testing.T, access string) *cip.GetUserOutput {
	t.Helper()
	out, err := u.tg.api.GetUser(t.Context(), &cip.GetUserInput{AccessToken: aws.String(access)})
	if err != nil {
		t.Fatalf("GetUser: %v", err)
	}
	return out
}

func totpListed(out *cip.GetUserOutput) bool {
	return slices.Contains(out.UserMFASettingList, "SOFTWARE_TOKEN_MFA")
}

// TOTP codes: RFC 6238 with what authenticator apps use (SHA-1, 6 digits, 30 s).
const step = 30 * time.Second

func codeAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := pqtotp.GenerateCodeCustom(secret, at, pqtotp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatalf("TOTP code from the SecretCode Cognito returned: %v", err)
	}
	return c
}

// fresh is a code Cognito accepts now and that was never sent for the user:
// the current step's, else the next step's (inside Cognito's one-step
// tolerance), else, both used, the next step's once the step has turned.
func (u *user) fresh(t *testing.T, secret string) string {
	t.Helper()
	for {
		now := time.Now()
		for _, at := range []time.Time{now, now.Add(step)} {
			if c := codeAt(t, secret, at); !u.used[c] {
				u.used[c] = true
				return c
			}
		}
		time.Sleep(remaining(now) + 100*time.Millisecond)
	}
}

// previous is the previous step's code, never sent for the user, with at
// least margin left in the current step so it is still "previous" when
// Cognito sees it.
func (u *user) previous(t *testing.T, secret string) string {
	t.Helper()
	for {
		awayFromBoundary(5 * time.Second)
		if c := codeAt(t, secret, time.Now().Add(-step)); !u.used[c] {
			u.used[c] = true
			return c
		}
		time.Sleep(remaining(time.Now()) + 100*time.Millisecond)
	}
}

// wrongCode is six digits that are no code of secret from two steps before
// now to two steps after.
func wrongCode(t *testing.T, secret string) string {
	t.Helper()
	now := time.Now()
	var near []string
	for i := -2; i <= 2; i++ {
		near = append(near, codeAt(t, secret, now.Add(time.Duration(i)*step)))
	}
	for n := 123456; ; n = (n + 111111) % 1000000 {
		if c := fmt.Sprintf("%06d", n); !slices.Contains(near, c) {
			return c
		}
	}
}

func remaining(t time.Time) time.Duration { return step - time.Duration(t.UnixNano())%step }

// awayFromBoundary waits, if needed, until at least margin is left in the
// current step, so that a sequence of calls sees one step.
func awayFromBoundary(margin time.Duration) {
	if r := remaining(time.Now()); r < margin {
		time.Sleep(r + 100*time.Millisecond)
	}
}

// errCode is the exception name of an API error ("" for none).
func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

// outcome describes an answer for logs and failure messages.
func outcome(err error) string {
	var ae smithy.APIError
	switch {
	case err == nil:
		return "success"
	case errors.As(err, &ae):
		return ae.ErrorCode() + ": " + ae.ErrorMessage()
	}
	return err.Error()
}

// wantErr fails unless err is the exception code with msg in its message
// (case-insensitively; "" for any message).
func wantErr(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code || !strings.Contains(strings.ToLower(ae.ErrorMessage()), strings.ToLower(msg)) {
		t.Fatalf("got %s, want %s %q", outcome(err), code, msg)
	}
}

// wantErrOneOf fails at once unless err is the exception code, and then
// unless its message contains one of the wordings reports give (compared
// case-insensitively): the wording is worth a failure, not worth stopping
// the behaviour before the checks that matter.
func wantErrOneOf(t *testing.T, err error, code string, wordings ...string) {
	t.Helper()
	wantErr(t, err, code, "")
	msg := strings.ToLower(outcome(err))
	for _, w := range wordings {
		if strings.Contains(msg, strings.ToLower(w)) {
			return
		}
	}
	t.Errorf("%s: none of the known wordings %q", outcome(err), wordings)
}

// recordf logs an observation of the target that no document settles.
func recordf(t *testing.T, tg *target, format string, args ...any) {
	t.Helper()
	t.Logf("RECORDED (%s): %s", tg.name, fmt.Sprintf(format, args...))
}
