package cognitofake_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/totp"
)

const usedMessage = "Your software token has already been used once."

// oneTimeFixture: a pool that requires MFA and a user enrolled by access
// token with code, the clock still inside that code's step.
func oneTimeFixture(t *testing.T, oneTime bool) (*cognitofake.Server, *cip.Client, *clock, string, string, string) {
	fake, api := start(t)
	clk := newClock(fake)
	fake.SetOneTimeCodes(oneTime)
	addPool(fake, "us-east-1_O", cognitofake.MFAOn, cognitofake.User{Username: "lee", Password: "pw-lee-1234"})
	fake.SetVerifiedToken("us-east-1_O", "lee", oldSecret)
	token := fake.IssueAccessToken("app", "lee")
	assoc, err := api.AssociateSoftwareToken(ctx, &cip.AssociateSoftwareTokenInput{AccessToken: aws.String(token)})
	if err != nil {
		t.Fatal(err)
	}
	secret := aws.ToString(assoc.SecretCode)
	used := code(t, secret, clk.Now())
	if _, err := verify(api, token, used); err != nil {
		t.Fatal(err)
	}
	return fake, api, clk, token, secret, used
}

func TestOneTimeCodes(t *testing.T) {
	_, api, clk, token, secret, used := oneTimeFixture(t, true)

	// Verifying again with the same code: refused, by default as a wrong
	// code (TestReusedCodeOnVerify has both modes).
	_, err := verify(api, token, used)
	wantAPIError(t, err, "EnableSoftwareTokenMFAException", "Code mismatch")

	// Signing in with it, across operations: refused, and the session survives.
	out, err := signIn(api, "app", "", "lee", "pw-lee-1234")
	if err != nil || out.ChallengeName != types.ChallengeNameTypeSoftwareTokenMfa {
		t.Fatalf("sign-in = %+v, %v", out, err)
	}
	_, err = answerTOTP(api, "app", aws.ToString(out.Session), "lee", used)
	wantAPIError(t, err, "ExpiredCodeException", usedMessage)

	// The next step's code is inside Cognito's tolerance and was never used.
	next := code(t, secret, clk.Now().Add(totp.Period))
	if _, err := answerTOTP(api, "app", aws.ToString(out.Session), "lee", next); err != nil {
		t.Fatalf("a fresh code: %v", err)
	}
	// ...and is then used in turn.
	out, err = signIn(api, "app", "", "lee", "pw-lee-1234")
	if err != nil {
		t.Fatal(err)
	}
	_, err = answerTOTP(api, "app", aws.ToString(out.Session), "lee", next)
	wantAPIError(t, err, "ExpiredCodeException", usedMessage)

	// Once a code's window has passed it is merely wrong.
	clk.Advance(3 * totp.Period)
	_, err = answerTOTP(api, "app", aws.ToString(out.Session), "lee", next)
	wantAPIError(t, err, "CodeMismatchException", "")
	if _, err := answerTOTP(api, "app", aws.ToString(out.Session), "lee", code(t, secret, clk.Now())); err != nil {
		t.Fatalf("a fresh code after the window: %v", err)
	}
}

// What VerifySoftwareToken answers to a reused code is undocumented: each
// mode, on both paths, refuses it without spoiling the association or the
// session, and a fresh code then verifies.
func TestReusedCodeOnVerify(t *testing.T) {
	for _, tc := range []struct {
		name      string
		mode      cognitofake.ReusedCodeMode
		code, msg string
	}{
		{"mismatch (default)", cognitofake.ReusedCodeMismatch, "EnableSoftwareTokenMFAException", "Code mismatch and fail enable Software Token MFA"},
		{"expired", cognitofake.ReusedCodeExpired, "ExpiredCodeException", usedMessage},
	} {
		t.Run(tc.name+"/access token", func(t *testing.T) {
			fake, api, clk, token, secret, used := oneTimeFixture(t, true)
			fake.SetReusedVerifyCode(tc.mode)
			_, err := verify(api, token, used)
			wantAPIError(t, err, tc.code, tc.msg)
			if _, err := verify(api, token, code(t, secret, clk.Now().Add(totp.Period))); err != nil {
				t.Fatalf("a fresh code after the refusal: %v", err)
			}
		})
		t.Run(tc.name+"/session", func(t *testing.T) {
			fake, api := start(t)
			clk := newClock(fake)
			fake.SetOneTimeCodes(true)
			fake.SetReusedVerifyCode(tc.mode)
			addPool(fake, "us-east-1_O", cognitofake.MFAOn, cognitofake.User{Username: "ola", Password: "pw-ola-1234"})
			assoc := associateBySession(t, api, "ola", "pw-ola-1234")
			secret := aws.ToString(assoc.SecretCode)
			// A code of this user accepted before (by a verification of the
			// same seed through another path) is refused on the session path.
			fake.SetVerifiedToken("us-east-1_O", "ola", secret)
			used := code(t, secret, clk.Now())
			if _, err := verify(api, fake.IssueAccessToken("app", "ola"), used); err != nil {
				t.Fatal(err)
			}
			_, err := api.VerifySoftwareToken(ctx, &cip.VerifySoftwareTokenInput{Session: assoc.Session, UserCode: aws.String(used)})
			wantAPIError(t, err, tc.code, tc.msg)
			fresh := code(t, secret, clk.Now().Add(totp.Period))
			if _, err := api.VerifySoftwareToken(ctx, &cip.VerifySoftwareTokenInput{Session: assoc.Session, UserCode: aws.String(fresh)}); err != nil {
				t.Fatalf("the session after the refusal: %v", err)
			}
		})
	}
}

// Off (the default for now), a code may be used again within its window.
func TestCodesMayBeReusedWhenOneTimeCodesAreOff(t *testing.T) {
	_, api, _, token, _, used := oneTimeFixture(t, false)
	if _, err := verify(api, token, used); err != nil {
		t.Fatalf("verify again: %v", err)
	}
	out, err := signIn(api, "app", "", "lee", "pw-lee-1234")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := answerTOTP(api, "app", aws.ToString(out.Session), "lee", used); err != nil {
		t.Fatalf("sign in with the verified code: %v", err)
	}
}

// A code counts per user: another user with the same seed may use it.
func TestOneTimeCodesArePerUser(t *testing.T) {
	fake, api := start(t)
	clk := newClock(fake)
	fake.SetOneTimeCodes(true)
	fake.CreatePool("us-east-1_O", cognitofake.MFAOn, true)
	fake.CreateClient(cognitofake.AppClient{ID: "app", PoolID: "us-east-1_O"})
	c := code(t, oldSecret, clk.Now())
	for _, name := range []string{"mia", "ned"} {
		fake.CreateUser("us-east-1_O", cognitofake.User{Username: name, Password: "pw-" + name + "-1234"})
		fake.SetVerifiedToken("us-east-1_O", name, oldSecret)
		out, err := signIn(api, "app", "", name, "pw-"+name+"-1234")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := answerTOTP(api, "app", aws.ToString(out.Session), name, c); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

// The MFA_SETUP chain's verification uses up its code for the sign-in that follows.
func TestOneTimeCodesAcrossTheMFASetupChain(t *testing.T) {
	fake, api := start(t)
	clk := newClock(fake)
	fake.SetOneTimeCodes(true)
	addPool(fake, "us-east-1_O", cognitofake.MFAOn, cognitofake.User{Username: "ola", Password: "pw-ola-1234"})
	assoc := associateBySession(t, api, "ola", "pw-ola-1234")
	used := code(t, aws.ToString(assoc.SecretCode), clk.Now())
	ver, err := api.VerifySoftwareToken(ctx, &cip.VerifySoftwareTokenInput{Session: assoc.Session, UserCode: aws.String(used)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.RespondToAuthChallenge(ctx, &cip.RespondToAuthChallengeInput{ClientId: aws.String("app"),
		ChallengeName: types.ChallengeNameTypeMfaSetup, Session: ver.Session,
		ChallengeResponses: map[string]string{"USERNAME": "ola"}}); err != nil {
		t.Fatal(err)
	}
	out, err := signIn(api, "app", "", "ola", "pw-ola-1234")
	if err != nil {
		t.Fatal(err)
	}
	_, err = answerTOTP(api, "app", aws.ToString(out.Session), "ola", used)
	wantAPIError(t, err, "ExpiredCodeException", usedMessage)
}
