package cognitofake_test

import (
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

var base64url = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// decodeJWT checks the header.payload.signature shape and returns the payload.
func decodeJWT(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts, want 3", len(parts))
	}
	for i, p := range parts {
		if !base64url.MatchString(p) {
			t.Fatalf("part %d is not unpadded base64url", i)
		}
	}
	var header, payload map[string]any
	for i, v := range []*map[string]any{&header, &payload} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("part %d is not JSON: %v", i, err)
		}
	}
	if header["alg"] != "RS256" || header["kid"] == "" {
		t.Fatalf("header = %v", header)
	}
	return payload
}

func TestAccessTokensAreJWTs(t *testing.T) {
	fake, api := start(t)
	clk := newClock(fake)
	for _, tc := range []struct{ pool, iss string }{
		{"eu-west-2_AbC123", "https://cognito-idp.eu-west-2.amazonaws.com/eu-west-2_AbC123"},
		{"local_x", "https://cognito-idp.us-east-1.amazonaws.com/local_x"},
	} {
		t.Run(tc.pool, func(t *testing.T) {
			fake.CreatePool(tc.pool, cognitofake.MFAOff, true)
			client := "app-" + tc.pool
			fake.CreateClient(cognitofake.AppClient{ID: client, PoolID: tc.pool, AccessTokenValidity: 20 * time.Minute})
			fake.CreateUser(tc.pool, cognitofake.User{Username: "dave", Password: "pw-dave-123"})
			sub := fake.User(tc.pool, "dave").Sub

			var jtis []string
			for range 2 {
				out, err := signIn(api, client, "", "dave", "pw-dave-123")
				if err != nil {
					t.Fatal(err)
				}
				token := aws.ToString(out.AuthenticationResult.AccessToken)
				c := decodeJWT(t, token)
				now := float64(clk.Now().Unix())
				want := map[string]any{"sub": sub, "username": "dave", "iss": tc.iss, "client_id": client,
					"token_use": "access", "scope": "aws.cognito.signin.user.admin",
					"iat": now, "auth_time": now, "exp": now + 20*60}
				for k, v := range want {
					if c[k] != v {
						t.Errorf("claim %s = %v, want %v", k, c[k], v)
					}
				}
				jti, _ := c["jti"].(string)
				origin, _ := c["origin_jti"].(string)
				if !uuidV4.MatchString(jti) || !uuidV4.MatchString(origin) || jti == origin {
					t.Errorf("jti %q, origin_jti %q: want two distinct UUIDs", jti, origin)
				}
				jtis = append(jtis, jti)
				// The fake still finds the token by value.
				if _, err := api.GetUser(ctx, &cip.GetUserInput{AccessToken: aws.String(token)}); err != nil {
					t.Fatalf("GetUser with the minted token: %v", err)
				}
			}
			if jtis[0] == jtis[1] {
				t.Fatal("two sign-ins in the same second minted the same jti")
			}
			if c := decodeJWT(t, fake.IssueAccessToken(client, "dave")); c["username"] != "dave" || c["sub"] != sub {
				t.Fatalf("IssueAccessToken claims = %v", c)
			}
		})
	}
}

// A token whose payload was altered is not one the fake issued.
func TestAlteredTokenIsRejected(t *testing.T) {
	fake, api := start(t)
	fake.CreatePool("us-east-1_T", cognitofake.MFAOff, true)
	fake.CreateClient(cognitofake.AppClient{ID: "app", PoolID: "us-east-1_T"})
	fake.CreateUser("us-east-1_T", cognitofake.User{Username: "erin", Password: "pw-erin-123"})
	parts := strings.Split(fake.IssueAccessToken("app", "erin"), ".")
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(`{"username":"mallory"}`))
	_, err := api.GetUser(ctx, &cip.GetUserInput{AccessToken: aws.String(strings.Join(parts, "."))})
	wantAPIError(t, err, "NotAuthorizedException", "Invalid Access Token")
}

// The China Regions' pools issue tokens under amazonaws.com.cn.
func TestIssuerByPartition(t *testing.T) {
	fake, _ := start(t)
	for pool, want := range map[string]string{
		"cn-north-1_Cn":     "https://cognito-idp.cn-north-1.amazonaws.com.cn/cn-north-1_Cn",
		"cn-northwest-1_Cn": "https://cognito-idp.cn-northwest-1.amazonaws.com.cn/cn-northwest-1_Cn",
		"us-gov-west-1_Gov": "https://cognito-idp.us-gov-west-1.amazonaws.com/us-gov-west-1_Gov",
		"eu-west-1_Eu":      "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Eu",
	} {
		fake.CreatePool(pool, cognitofake.MFAOff, true)
		fake.CreateClient(cognitofake.AppClient{ID: "app-" + pool, PoolID: pool})
		fake.CreateUser(pool, cognitofake.User{Username: "u", Password: "pw-u-123456"})
		if got := decodeJWT(t, fake.IssueAccessToken("app-"+pool, "u"))["iss"]; got != want {
			t.Errorf("iss %v, want %s", got, want)
		}
	}
}

// Access-token customization that drops aws.cognito.signin.user.admin makes
// the user's own operations refuse the token.
func TestTokenWithoutAdminScope(t *testing.T) {
	fake, api := start(t)
	fake.CreatePool("us-east-1_Sc", cognitofake.MFAOptional, true)
	fake.UpdatePool("us-east-1_Sc", func(p *cognitofake.Pool) { p.DropsAdminScope = true })
	fake.CreateClient(cognitofake.AppClient{ID: "app", PoolID: "us-east-1_Sc"})
	fake.CreateUser("us-east-1_Sc", cognitofake.User{Username: "u", Password: "pw-u-123456"})
	token := fake.IssueAccessToken("app", "u")
	if _, ok := decodeJWT(t, token)["scope"]; ok {
		t.Fatalf("the token still has a scope claim")
	}
	_, err := api.GetUser(ctx, &cip.GetUserInput{AccessToken: aws.String(token)})
	wantAPIError(t, err, "NotAuthorizedException", "Access Token does not have required scopes")
	_, err = api.AssociateSoftwareToken(ctx, &cip.AssociateSoftwareTokenInput{AccessToken: aws.String(token)})
	wantAPIError(t, err, "NotAuthorizedException", "Access Token does not have required scopes")
}
