package cognitofake_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

func TestVerifyStatusErrorOnTheAccessTokenPath(t *testing.T) {
	fake, api := start(t)
	clk := newClock(fake)
	fake.CreatePool("us-east-1_V", cognitofake.MFAOptional, true)
	fake.CreateClient(cognitofake.AppClient{ID: "app", PoolID: "us-east-1_V"})
	fake.CreateUser("us-east-1_V", cognitofake.User{Username: "hana", Password: "pw-hana-123"})
	fake.CreateUser("us-east-1_V", cognitofake.User{Username: "ivan", Password: "pw-ivan-123"})
	token := fake.IssueAccessToken("app", "hana")
	assoc, err := api.AssociateSoftwareToken(ctx, &cip.AssociateSoftwareTokenInput{AccessToken: aws.String(token)})
	if err != nil {
		t.Fatal(err)
	}
	secret := aws.ToString(assoc.SecretCode)

	fake.InjectVerifyStatusError("ivan") // someone else's: hana is not affected by it
	fake.InjectVerifyStatusError("hana")
	out, err := verify(api, token, code(t, secret, clk.Now()))
	if err != nil || out.Status != types.VerifySoftwareTokenResponseTypeError {
		t.Fatalf("verify = %+v, %v; want HTTP 200 with Status ERROR", out, err)
	}
	if u := fake.User("us-east-1_V", "hana"); u.TOTPSecret != "" || u.PendingSecret != secret || u.TOTPEnabled {
		t.Fatalf("Status ERROR changed the user: %+v", u)
	}
	// Once per injection: the next attempt is served.
	out, err = verify(api, token, code(t, secret, clk.Now()))
	if err != nil || out.Status != types.VerifySoftwareTokenResponseTypeSuccess {
		t.Fatalf("second verify = %+v, %v; want SUCCESS", out, err)
	}
	if u := fake.User("us-east-1_V", "hana"); u.TOTPSecret != secret || u.PendingSecret != "" {
		t.Fatalf("after SUCCESS: %+v", u)
	}
	// ivan's injection is still queued.
	ivan := fake.IssueAccessToken("app", "ivan")
	assoc, err = api.AssociateSoftwareToken(ctx, &cip.AssociateSoftwareTokenInput{AccessToken: aws.String(ivan)})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := verify(api, ivan, code(t, aws.ToString(assoc.SecretCode), clk.Now())); err != nil || out.Status != types.VerifySoftwareTokenResponseTypeError {
		t.Fatalf("ivan's verify = %+v, %v; want Status ERROR", out, err)
	}
}

// In the MFA_SETUP chain a Status ERROR leaves the session usable, as a wrong code does.
func TestVerifyStatusErrorOnTheSessionPath(t *testing.T) {
	fake, api := start(t)
	clk := newClock(fake)
	fake.CreatePool("us-east-1_V", cognitofake.MFAOn, true)
	fake.CreateClient(cognitofake.AppClient{ID: "app", PoolID: "us-east-1_V"})
	fake.CreateUser("us-east-1_V", cognitofake.User{Username: "jo", Password: "pw-jo-12345"})
	out, err := signIn(api, "app", "", "jo", "pw-jo-12345")
	if err != nil || out.ChallengeName != types.ChallengeNameTypeMfaSetup {
		t.Fatalf("sign-in = %+v, %v; want MFA_SETUP", out, err)
	}
	assoc, err := api.AssociateSoftwareToken(ctx, &cip.AssociateSoftwareTokenInput{Session: out.Session})
	if err != nil {
		t.Fatal(err)
	}
	fake.InjectVerifyStatusError("")
	in := &cip.VerifySoftwareTokenInput{Session: assoc.Session, UserCode: aws.String(code(t, aws.ToString(assoc.SecretCode), clk.Now()))}
	ver, err := api.VerifySoftwareToken(ctx, in)
	if err != nil || ver.Status != types.VerifySoftwareTokenResponseTypeError || aws.ToString(ver.Session) != "" {
		t.Fatalf("verify = %+v, %v; want Status ERROR and no session", ver, err)
	}
	if u := fake.User("us-east-1_V", "jo"); u.TOTPSecret != "" || u.TOTPEnabled {
		t.Fatalf("Status ERROR enrolled the user: %+v", u)
	}
	ver, err = api.VerifySoftwareToken(ctx, in)
	if err != nil || ver.Status != types.VerifySoftwareTokenResponseTypeSuccess || aws.ToString(ver.Session) == "" {
		t.Fatalf("retry with the same session = %+v, %v; want SUCCESS with a session", ver, err)
	}
}
