package cognito_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// GetUser reads back the sub and the MFA settings of the token's user.
func TestGetUser(t *testing.T) {
	fake, api := newFake(t)
	fake.CreatePool("us-east-1_Pool", cognitofake.MFAOptional, true)
	fake.CreateClient(cognitofake.AppClient{ID: "app", PoolID: "us-east-1_Pool"})
	fake.CreateUser("us-east-1_Pool", cognitofake.User{Username: "alice", Password: "pw-alice-123"})
	fake.SetVerifiedToken("us-east-1_Pool", "alice", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
	token := fake.IssueAccessToken("app", "alice")
	ctx := context.Background()
	if err := api.SetSoftwareTokenPreference(ctx, token, cognito.Preference{Enabled: true, Preferred: true}); err != nil {
		t.Fatal(err)
	}
	info, err := api.GetUser(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	sub := fake.User("us-east-1_Pool", "alice").Sub
	if info.Username != "alice" || info.Sub != sub || sub == "" ||
		!slices.Contains(info.MFASettings, "SOFTWARE_TOKEN_MFA") || info.PreferredMFA != "SOFTWARE_TOKEN_MFA" {
		t.Fatalf("GetUser = %+v, want alice, sub %s, SOFTWARE_TOKEN_MFA preferred", info, sub)
	}
	// The token's own claims name the same user and pool.
	claims, err := cognito.TokenClaims(token)
	if err != nil {
		t.Fatal(err)
	}
	if claims.Sub != sub || claims.Username != "alice" || claims.ClientID != "app" || claims.PoolID() != "us-east-1_Pool" {
		t.Fatalf("claims = %+v", claims)
	}
}

// An unknown token is a terminal AccessTokenRejected, and the token is cut from the text.
func TestGetUserRejectedTokenIsRedacted(t *testing.T) {
	fake, api := newFake(t)
	const token = "not-a-token-but-secret"
	fake.InjectFault("GetUser", cognitofake.Fault{Code: "NotAuthorizedException", Message: "Invalid Access Token " + token})
	_, err := api.GetUser(context.Background(), token)
	e, ok := cognito.AsError(err)
	if !ok || e.Op != "GetUser" || e.Class != cognito.Terminal || strings.Contains(err.Error(), token) {
		t.Fatalf("got %v (%+v)", err, e)
	}
}
