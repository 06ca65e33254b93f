package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
)

// login signs in as a credentials-mode enrollment's user, answers the MFA
// challenge with a code from the stored secret and prints the tokens.
func (c *cli) login(ctx context.Context, name, endpoint, defaultRegion, clusterNamespace string) error {
	ste, err := c.enrollment(ctx, name)
	if err != nil {
		return err
	}
	ref := ste.Spec.CredentialsSecretRef
	if ref == nil {
		return fmt.Errorf("enrollment %q uses an access token, not credentials: there is no password to sign in with", name)
	}
	creds, err := c.secret(ctx, ref.Name)
	if err != nil {
		return err
	}
	t, err := c.target(ctx, ste, clusterNamespace)
	if err != nil {
		return err
	}
	app := cognito.AppClient{ID: t.clientID}
	if cs := t.clientSecret; cs != nil {
		s, err := c.secretIn(ctx, cs.Namespace, cs.Name)
		if err != nil {
			return err
		}
		app.Secret = string(s.Data[cs.Key])
	}
	region := v1alpha1.RegionOf(t.poolID, t.region, defaultRegion)
	if region == "" {
		return fmt.Errorf("user pool id %q names no region: pass --region", t.poolID)
	}
	provider, err := cognito.NewProvider(ctx, cognito.Options{Endpoint: endpoint, DefaultRegion: region})
	if err != nil {
		return err
	}
	api := provider.ForRegion(region)
	username := string(creds.Data["username"])
	res, err := api.InitiateAuth(ctx, cognito.SignIn{Client: app, Username: username, Password: string(creds.Data["password"])})
	if err != nil {
		return err
	}
	if res.Challenge == cognito.ChallengeSoftwareTokenMFA {
		seed, err := c.storedSecret(ctx, ste)
		if err != nil {
			return err
		}
		challenge := res
		ok, err := cognito.SendCodes(seed, c.now(), func(code string) error {
			var err error
			res, err = api.RespondToAuthChallenge(ctx, cognito.ChallengeAnswer{Client: app, Username: username,
				Challenge: challenge.Challenge, Session: challenge.Session,
				Responses: map[string]string{"SOFTWARE_TOKEN_MFA_CODE": code}})
			return err
		})
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("Cognito rejected the codes from Secret %q", ste.Status.SecretName)
		}
	}
	if res.AccessToken == "" {
		return fmt.Errorf("sign-in ended in the challenge %s, which this command cannot answer", res.Challenge)
	}
	enc := json.NewEncoder(c.out)
	enc.SetIndent("", "  ")
	return enc.Encode(map[string]any{"AccessToken": res.AccessToken, "IdToken": res.IDToken,
		"RefreshToken": res.RefreshToken, "ExpiresIn": res.ExpiresIn, "TokenType": res.TokenType})
}
