package cognito

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

func jwt(payload string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"RS256","kid":"k"}`)) + "." + enc.EncodeToString([]byte(payload)) + ".c2ln"
}

func TestTokenClaims(t *testing.T) {
	for _, tc := range []struct {
		name, token string
		want        Claims
		pool        string
		wantErr     bool
	}{
		{
			name: "Cognito access token",
			token: jwt(`{"sub":"1b2c3d4e-0000-4000-8000-000000000001","iss":"https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123",` +
				`"client_id":"app1","token_use":"access","scope":"aws.cognito.signin.user.admin","exp":1700003600,"iat":1700000000,"username":"alice"}`),
			want: Claims{Issuer: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123", Sub: "1b2c3d4e-0000-4000-8000-000000000001",
				Username: "alice", ClientID: "app1", TokenUse: "access", ExpiresAt: time.Unix(1700003600, 0)},
			pool: "eu-west-1_AbC123",
		},
		{
			name:  "cognito-local issuer",
			token: jwt(`{"sub":"s","iss":"http://127.0.0.1:9229/local_abc","client_id":"c","token_use":"access","exp":1700000000,"username":"bob"}`),
			want:  Claims{Issuer: "http://127.0.0.1:9229/local_abc", Sub: "s", Username: "bob", ClientID: "c", TokenUse: "access", ExpiresAt: time.Unix(1700000000, 0)},
			pool:  "local_abc",
		},
		{
			name:  "padded payload, no exp, trailing slash",
			token: "aGVhZGVy." + base64.URLEncoding.EncodeToString([]byte(`{"iss":"https://issuer/pool_1/","sub":"x"}`)) + ".sig",
			want:  Claims{Issuer: "https://issuer/pool_1/", Sub: "x"},
			pool:  "pool_1",
		},
		{name: "opaque token", token: "fake-access-0123456789abcdef", wantErr: true},
		{name: "empty", token: "", wantErr: true},
		{name: "payload not base64url", token: "a.b+c/d.e", wantErr: true},
		{name: "payload not JSON", token: "a." + base64.RawURLEncoding.EncodeToString([]byte("nope")) + ".c", wantErr: true},
		{name: "four parts", token: jwt(`{}`) + ".x", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := TokenClaims(tc.token)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("TokenClaims = %+v, want an error", got)
				}
				if tc.token != "" && strings.Contains(err.Error(), tc.token) {
					t.Fatalf("error quotes the token: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.ExpiresAt.Equal(tc.want.ExpiresAt) {
				t.Fatalf("ExpiresAt = %v, want %v", got.ExpiresAt, tc.want.ExpiresAt)
			}
			got.ExpiresAt, tc.want.ExpiresAt = time.Time{}, time.Time{}
			if got != tc.want {
				t.Fatalf("TokenClaims = %+v, want %+v", got, tc.want)
			}
			if got.PoolID() != tc.pool {
				t.Fatalf("PoolID = %q, want %q", got.PoolID(), tc.pool)
			}
		})
	}
}

func TestPoolIDWithoutIssuer(t *testing.T) {
	if got := (Claims{}).PoolID(); got != "" {
		t.Fatalf("PoolID of no issuer = %q", got)
	}
}
