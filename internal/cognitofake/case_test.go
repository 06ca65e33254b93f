package cognitofake_test

import (
	"testing"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// Usernames and e-mail aliases match as UsernameConfiguration.CaseSensitive
// says: exactly by default, whatever the case when it is false.
func TestUsernameCase(t *testing.T) {
	for _, tc := range []struct {
		name        string
		insensitive bool
		login       string
		found       bool
	}{
		{"sensitive: exact username", false, "Quinn", true},
		{"sensitive: other case", false, "quinn", false},
		{"sensitive: exact alias", false, "Quinn@Example.com", true},
		{"sensitive: alias, other case", false, "quinn@example.com", false},
		{"insensitive: other case", true, "QUINN", true},
		{"insensitive: alias, other case", true, "quinn@example.com", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, api := start(t)
			fake.CreatePool("us-east-1_C", cognitofake.MFAOff, true)
			fake.UpdatePool("us-east-1_C", func(p *cognitofake.Pool) {
				p.UsernameAttributes, p.UsernameCaseInsensitive = []string{"email"}, tc.insensitive
			})
			fake.CreateClient(cognitofake.AppClient{ID: "app", PoolID: "us-east-1_C"})
			fake.CreateUser("us-east-1_C", cognitofake.User{Username: "Quinn", Email: "Quinn@Example.com", Password: "pw-quinn-123"})
			_, err := signIn(api, "app", "", tc.login, "pw-quinn-123")
			if tc.found && err != nil {
				t.Fatalf("sign-in as %q: %v", tc.login, err)
			}
			if !tc.found {
				wantAPIError(t, err, "UserNotFoundException", "")
			}
		})
	}
}
