package cognitofake_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// adminDeleteSoftwareToken calls the operation over HTTP: the pinned SDK
// (v1.61.0) predates it. The fake needs a signature's presence, not its value.
func adminDeleteSoftwareToken(t *testing.T, fake *cognitofake.Server, pool, user string, signed bool) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, fake.URL(), bytes.NewBufferString(`{"UserPoolId":"`+pool+`","Username":"`+user+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", "AWSCognitoIdentityProviderService.AdminDeleteSoftwareToken")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	if signed {
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDFAKE/20250101/us-east-1/cognito-idp/aws4_request, SignedHeaders=host, Signature=00")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// AdminDeleteSoftwareToken removes the registration and the TOTP preference:
// in a pool that requires MFA with no other factor the next sign-in is
// MFA_SETUP, with another factor it falls back to it, and the old seed is void.
func TestAdminDeleteSoftwareToken(t *testing.T) {
	for _, tc := range []struct {
		name string
		sms  bool
		want types.ChallengeNameType
	}{
		{"no other factor", false, types.ChallengeNameTypeMfaSetup},
		{"SMS left", true, types.ChallengeNameTypeSmsMfa},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, api := start(t)
			addPool(fake, "us-east-1_A", cognitofake.MFAOn, cognitofake.User{Username: "ada", Password: "pw-ada-1234", SMSMFA: tc.sms, PhoneNumber: "+15555550100"})
			fake.SetVerifiedToken("us-east-1_A", "ada", oldSecret)
			token := fake.IssueAccessToken("app", "ada")
			if err := setTOTP(api, token, true, true); err != nil {
				t.Fatal(err)
			}
			if got := adminDeleteSoftwareToken(t, fake, "us-east-1_A", "ada", false); got != http.StatusBadRequest {
				t.Fatalf("unsigned: HTTP %d, want 400", got)
			}
			if got := adminDeleteSoftwareToken(t, fake, "us-east-1_A", "ada", true); got != http.StatusOK {
				t.Fatalf("signed: HTTP %d, want 200", got)
			}
			if u := fake.User("us-east-1_A", "ada"); u.TOTPSecret != "" || u.TOTPEnabled || u.TOTPPreferred {
				t.Fatalf("after AdminDeleteSoftwareToken: %+v", u)
			}
			if got := challengeOf(t, api, "app", "ada", "pw-ada-1234"); got != tc.want {
				t.Fatalf("next sign-in: %q, want %q", got, tc.want)
			}
			// The old seed cannot be switched back on.
			wantAPIError(t, setTOTP(api, token, true, true), "InvalidParameterException", "not set up software token")
		})
	}
}

// The Admin API words an early TOTP preference differently from the user's
// API; an SMS factor without a phone number is refused the same way.
func TestAdminSetUserMFAPreferenceWording(t *testing.T) {
	fake, _ := start(t)
	fake.CreatePool("us-east-1_A", cognitofake.MFAOptional, true)
	fake.CreateUser("us-east-1_A", cognitofake.User{Username: "ada", Password: "pw-ada-1234"})
	adm := admin(fake)
	for _, tc := range []struct {
		name string
		in   cip.AdminSetUserMFAPreferenceInput
		msg  string
	}{
		{"TOTP without a token", cip.AdminSetUserMFAPreferenceInput{SoftwareTokenMfaSettings: &types.SoftwareTokenMfaSettingsType{Enabled: true}},
			"User does not have delivery config set to turn on SOFTWARE_TOKEN_MFA"},
		{"SMS without a phone number", cip.AdminSetUserMFAPreferenceInput{SMSMfaSettings: &types.SMSMfaSettingsType{Enabled: true}},
			"User does not have delivery config set to turn on SMS_MFA"},
	} {
		in := tc.in
		in.UserPoolId, in.Username = aws.String("us-east-1_A"), aws.String("ada")
		_, err := adm.AdminSetUserMFAPreference(ctx, &in)
		wantAPIError(t, err, "InvalidParameterException", tc.msg)
	}
	fake.SetVerifiedToken("us-east-1_A", "ada", oldSecret)
	if _, err := adm.AdminSetUserMFAPreference(ctx, &cip.AdminSetUserMFAPreferenceInput{UserPoolId: aws.String("us-east-1_A"), Username: aws.String("ada"),
		SoftwareTokenMfaSettings: &types.SoftwareTokenMfaSettingsType{Enabled: true, PreferredMfa: true}}); err != nil {
		t.Fatal(err)
	}
	if u := fake.User("us-east-1_A", "ada"); !u.TOTPEnabled || !u.TOTPPreferred {
		t.Fatalf("after AdminSetUserMFAPreference: %+v", u)
	}
}

// Provisioning through the Admin API, as against real Cognito: pool ids name
// the signing Region, pools are case-sensitive unless told otherwise, clients
// without ExplicitAuthFlows cannot sign in with a password, a Lite pool
// refuses e-mail MFA, and users of an e-mail pool are named by their sub.
func TestAdminProvisioning(t *testing.T) {
	fake, api := start(t)
	adm := admin(fake)
	pool, err := adm.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("p"), UserPoolTier: types.UserPoolTierTypeLite,
		UsernameAttributes: []types.UsernameAttributeType{types.UsernameAttributeTypeEmail}})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(pool.UserPool.Id)
	if len(id) < 11 || id[:10] != "eu-west-1_" || pool.UserPool.UsernameConfiguration == nil || !aws.ToBool(pool.UserPool.UsernameConfiguration.CaseSensitive) {
		t.Fatalf("CreateUserPool: id %q, UsernameConfiguration %+v", id, pool.UserPool.UsernameConfiguration)
	}
	_, err = adm.SetUserPoolMfaConfig(ctx, &cip.SetUserPoolMfaConfigInput{UserPoolId: aws.String(id), MfaConfiguration: types.UserPoolMfaTypeOn,
		EmailMfaConfiguration: &types.EmailMfaConfigType{}})
	wantAPIError(t, err, "FeatureUnavailableInTierException", "")
	if _, err := adm.SetUserPoolMfaConfig(ctx, &cip.SetUserPoolMfaConfigInput{UserPoolId: aws.String(id), MfaConfiguration: types.UserPoolMfaTypeOn,
		SoftwareTokenMfaConfiguration: &types.SoftwareTokenMfaConfigType{Enabled: true}}); err != nil {
		t.Fatal(err)
	}
	bare, err := adm.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: aws.String(id), ClientName: aws.String("bare")})
	if err != nil {
		t.Fatal(err)
	}
	pw, err := adm.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: aws.String(id), ClientName: aws.String("pw"), GenerateSecret: true,
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserPasswordAuth}})
	if err != nil || aws.ToString(pw.UserPoolClient.ClientSecret) == "" {
		t.Fatalf("CreateUserPoolClient with a secret: %+v, %v", pw, err)
	}
	u, err := adm.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: aws.String(id), Username: aws.String("eve@example.com"),
		MessageAction: types.MessageActionTypeSuppress})
	if err != nil || u.User.UserStatus != types.UserStatusTypeForceChangePassword || aws.ToString(u.User.Username) == "eve@example.com" {
		t.Fatalf("AdminCreateUser: %+v, %v", u, err)
	}
	name := aws.ToString(u.User.Username)
	if _, err := adm.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: aws.String(id), Username: aws.String("eve@example.com"),
		Password: aws.String("Pw-eve-1234!"), Permanent: true}); err != nil {
		t.Fatal(err)
	}
	_, err = signIn(api, aws.ToString(bare.UserPoolClient.ClientId), "", "eve@example.com", "Pw-eve-1234!")
	wantAPIError(t, err, "InvalidParameterException", "USER_PASSWORD_AUTH flow not enabled for this client")
	out, err := signIn(api, aws.ToString(pw.UserPoolClient.ClientId), aws.ToString(pw.UserPoolClient.ClientSecret), "eve@example.com", "Pw-eve-1234!")
	if err != nil || out.ChallengeName != types.ChallengeNameTypeMfaSetup || out.ChallengeParameters["USER_ID_FOR_SRP"] != name {
		t.Fatalf("sign-in by alias: %+v, %v", out, err)
	}
	_, err = signIn(api, aws.ToString(pw.UserPoolClient.ClientId), aws.ToString(pw.UserPoolClient.ClientSecret), "EVE@example.com", "Pw-eve-1234!")
	wantAPIError(t, err, "UserNotFoundException", "")
	got, err := adm.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(id), Username: aws.String(name)})
	if err != nil || got.UserStatus != types.UserStatusTypeConfirmed {
		t.Fatalf("AdminGetUser: %+v, %v", got, err)
	}
	if _, err := adm.AdminDeleteUser(ctx, &cip.AdminDeleteUserInput{UserPoolId: aws.String(id), Username: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.DeleteUserPool(ctx, &cip.DeleteUserPoolInput{UserPoolId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	_, err = adm.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: aws.String(id)})
	wantAPIError(t, err, "ResourceNotFoundException", "")
	if fake.SignedRequests() != 0 {
		t.Fatalf("SignedRequests = %d: it counts signed public requests only", fake.SignedRequests())
	}
}
