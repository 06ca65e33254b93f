package cognito_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// A sign-in by e-mail alias learns the canonical username from the
// challenge, and answering under it (SECRET_HASH included) signs in.
func TestAuthResultCarriesCanonicalUsername(t *testing.T) {
	fake, api := newFake(t)
	pool := fake.CreatePool("us-east-1_Alias", cognitofake.MFAOn, true)
	pool.UsernameAttributes = []string{"email"}
	app := cognito.AppClient{ID: "app", Secret: "app-client-secret"}
	fake.CreateClient(cognitofake.AppClient{ID: app.ID, PoolID: "us-east-1_Alias", Secret: app.Secret})
	fake.CreateUser("us-east-1_Alias", cognitofake.User{Username: "7f0c1c8e-uuid-user", Email: "carol@example.com", Password: "pw-carol-123"})
	ctx := context.Background()
	res, err := api.InitiateAuth(ctx, cognito.SignIn{Client: app, Username: "carol@example.com", Password: "pw-carol-123"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Challenge != cognito.ChallengeMFASetup || res.Username != "7f0c1c8e-uuid-user" ||
		res.ChallengeParameters["MFAS_CAN_SETUP"] != `["SOFTWARE_TOKEN_MFA"]` {
		t.Fatalf("InitiateAuth = challenge %q username %q parameters %v", res.Challenge, res.Username, res.ChallengeParameters)
	}
	// The alias is refused in the answer; the canonical name is accepted.
	assoc, err := api.AssociateSoftwareToken(ctx, cognito.Credential{Session: res.Session})
	if err != nil {
		t.Fatal(err)
	}
	ver, err := verifyWithCurrentCode(ctx, api, assoc)
	if err != nil {
		t.Fatal(err)
	}
	_, err = api.RespondToAuthChallenge(ctx, cognito.ChallengeAnswer{Client: app, Username: "carol@example.com",
		Challenge: cognito.ChallengeMFASetup, Session: ver.Session})
	if !cognito.HasCode(err, "NotAuthorizedException") || !strings.Contains(err.Error(), "Unable to verify secret hash") {
		t.Fatalf("answer under the alias: %v", err)
	}
	out, err := api.RespondToAuthChallenge(ctx, cognito.ChallengeAnswer{Client: app, Username: res.Username,
		Challenge: cognito.ChallengeMFASetup, Session: ver.Session})
	if err != nil || out.AccessToken == "" {
		t.Fatalf("answer under the canonical username: %+v, %v", out, err)
	}
}

func verifyWithCurrentCode(ctx context.Context, api cognito.Client, assoc *cognito.Association) (*cognito.Verification, error) {
	var ver *cognito.Verification
	ok, err := cognito.SendCodes(assoc.SecretCode, time.Now(), func(code string) error {
		var err error
		ver, err = api.VerifySoftwareToken(ctx, cognito.Verify{Credential: cognito.Credential{Session: assoc.Session}, Code: code})
		return err
	})
	if err == nil && !ok {
		err = errors.New("no code was accepted")
	}
	return ver, err
}
