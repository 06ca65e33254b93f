package conformance

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// UsernameCase: usernames and e-mail aliases match as the pool's
// UsernameConfiguration.CaseSensitive says: exactly when true (every pool
// here states it), whatever the case when false. Source: API reference
// UsernameConfigurationType; fidelity "Alias and username case".
func testUsernameCase(t *testing.T, tg *target) {
	u := tg.newUser(t, poolAlias, clientPublic)
	_, errAlias := u.initiateWith(t.Context(), u.params(strings.ToUpper(u.login), "PASSWORD", u.password))
	_, errName := u.initiateWith(t.Context(), u.params(strings.ToUpper(u.username), "PASSWORD", u.password))
	ci := tg.newUser(t, poolAliasCI, clientPublic)
	_, errCI := ci.initiateWith(t.Context(), ci.params(strings.ToUpper(ci.login), "PASSWORD", ci.password))
	tg.observe(t, "SensitiveAliasOtherCase", errAlias)
	tg.observe(t, "SensitiveUsernameOtherCase", errName)
	tg.observe(t, "InsensitiveAliasOtherCase", errCI)
	if tg.lacks("UsernameCase") {
		tg.gapHolds(t, "UsernameCase", errAlias == nil || errName == nil || errCI != nil,
			"alias: "+outcome(errAlias)+"; username: "+outcome(errName)+"; case-insensitive alias: "+outcome(errCI))
		return
	}
	wantErr(t, errAlias, "UserNotFoundException", "")
	wantErr(t, errName, "UserNotFoundException", "")
	if errCI != nil {
		t.Errorf("a case-insensitive pool refused the alias in capitals: %s", outcome(errCI))
	}
}

// Lockout: failed sign-ins start a temporary lockout, NotAuthorizedException
// "Password attempts exceeded", during which even the right password is
// refused; it lifts by itself (1 s after the fifth failure, doubling).
// Bounded: eight wrong passwords at most and 20 s of waiting, on a user of
// its own. Sources: developer guide, authentication flow lockout behaviour
// ("After five unsuccessful sign-in attempts"); repost.aws
// QUBlVxXSYwTCiCUHp8gNFZ3g; fidelity "The MFA-code lockout".
func testLockout(t *testing.T, tg *target) {
	u := tg.newUser(t, poolOptional, clientPublic)
	var err error
	attempts := 0
	for attempts < 8 && !lockedOut(err) {
		attempts++
		_, err = u.initiateWith(t.Context(), u.params(u.login, "PASSWORD", u.password+"-wrong"))
	}
	tg.observe(t, "LockedAnswer", err)
	if tg.lacks("Lockout") {
		tg.gapHolds(t, "Lockout", !lockedOut(err), outcome(err))
		return
	}
	if !lockedOut(err) {
		t.Fatalf("eight wrong passwords in a row, and no lockout: %s", outcome(err))
	}
	tg.observeValue(t, "LockedAtAttempt", fmt.Sprint(attempts))
	if !tg.isReal() && attempts != 6 {
		t.Errorf("locked at attempt %d; the developer guide's five failures lock the sixth", attempts)
	}
	_, err = u.initiate(t)
	tg.observe(t, "RightPasswordWhileLocked", err)
	if !lockedOut(err) {
		t.Errorf("the right password during the lockout: %s, want Password attempts exceeded", outcome(err))
	}
	start := time.Now()
	for {
		if _, err = u.initiate(t); !lockedOut(err) || time.Since(start) > 20*time.Second {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("the lockout did not lift within 20 s: %s", outcome(err))
	}
	recordf(t, tg, "locked at attempt %d; lifted after %s", attempts, time.Since(start).Round(100*time.Millisecond))
}

func lockedOut(err error) bool {
	return errCode(err) == "NotAuthorizedException" && strings.Contains(outcome(err), "Password attempts exceeded")
}

// TokenWithoutAdminScope (fake only): access-token customization that drops
// aws.cognito.signin.user.admin makes GetUser and AssociateSoftwareToken
// refuse the token. Source: developer guide, pre token generation trigger
// (access token customization); fidelity "Access-token customization".
func testTokenWithoutAdminScope(t *testing.T, tg *target) {
	p := tg.ownPool(t, poolOptional)
	tg.fake.UpdatePool(p.id, func(p *cognitofake.Pool) { p.DropsAdminScope = true })
	u := tg.newUserIn(t, p, clientPublic)
	access := u.tokens(t)
	_, err := tg.api.GetUser(t.Context(), &cip.GetUserInput{AccessToken: aws.String(access)})
	wantErr(t, err, "NotAuthorizedException", "Access Token does not have required scopes")
	_, err = tg.api.AssociateSoftwareToken(t.Context(), &cip.AssociateSoftwareTokenInput{AccessToken: aws.String(access)})
	wantErr(t, err, "NotAuthorizedException", "Access Token does not have required scopes")
}

// LambdaTriggerFaults (fake only): a failing pre authentication trigger
// answers InitiateAuth with its exception, and a failing pre token
// generation trigger the challenge answer that would issue tokens. Source:
// [SDK] InitiateAuth and RespondToAuthChallenge errors; fidelity "Lambda triggers".
func testLambdaTriggerFaults(t *testing.T, tg *target) {
	p := tg.ownPool(t, poolOptional)
	u := tg.newUserIn(t, p, clientPublic)
	u.enrol(t, true)
	tg.fake.SetLambdaFault(cognitofake.LambdaFault{PoolID: p.id, Trigger: cognitofake.TriggerPreAuthentication, Code: cognitofake.LambdaRejected})
	_, err := u.initiate(t)
	wantErr(t, err, cognitofake.LambdaRejected, "PreAuthentication failed with error")
	tg.fake.ClearLambdaFaults()
	ch := u.challenged(t, stm)
	tg.fake.SetLambdaFault(cognitofake.LambdaFault{PoolID: p.id, Trigger: cognitofake.TriggerPreTokenGeneration, Code: cognitofake.LambdaInvokeFailed})
	t.Cleanup(tg.fake.ClearLambdaFaults)
	_, err = u.respond(t, stm, ch.Session, "SOFTWARE_TOKEN_MFA_CODE", u.fresh(t, u.secret))
	wantErr(t, err, cognitofake.LambdaInvokeFailed, "invocation failed")
}
