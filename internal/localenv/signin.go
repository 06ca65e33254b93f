package localenv

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// SDK is an unsigned Cognito SDK client for an endpoint.
func SDK(endpoint string) *cip.Client {
	return cip.New(cip.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1})
}

// Consumer signs in the way a user of the stored secret would, with the SDK
// alone: tests use it to prove a secret without trusting the operator's code.
type Consumer struct {
	API                    *cip.Client
	ClientID, ClientSecret string
	Username, Password     string
}

// SignInWithMFA signs in, requires the SOFTWARE_TOKEN_MFA challenge, answers
// it with code (computed by the caller) and returns the tokens.
func (c Consumer) SignInWithMFA(ctx context.Context, code string) (*types.AuthenticationResultType, error) {
	out, err := c.API.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeUserPasswordAuth,
		ClientId: aws.String(c.ClientID), AuthParameters: c.Params("PASSWORD", c.Password)})
	if err != nil {
		return nil, err
	}
	if out.ChallengeName != types.ChallengeNameTypeSoftwareTokenMfa {
		return nil, fmt.Errorf("sign-in was not challenged for a software token (challenge %q)", out.ChallengeName)
	}
	res, err := c.API.RespondToAuthChallenge(ctx, &cip.RespondToAuthChallengeInput{ClientId: aws.String(c.ClientID),
		ChallengeName: out.ChallengeName, Session: out.Session, ChallengeResponses: c.Params("SOFTWARE_TOKEN_MFA_CODE", code)})
	if err != nil {
		return nil, err
	}
	if res.AuthenticationResult == nil || aws.ToString(res.AuthenticationResult.AccessToken) == "" {
		return nil, fmt.Errorf("no tokens after the MFA challenge")
	}
	return res.AuthenticationResult, nil
}

// Params are USERNAME, one more key, and SECRET_HASH when the client has a
// secret, computed here rather than with the operator's code.
func (c Consumer) Params(key, value string) map[string]string {
	p := map[string]string{"USERNAME": c.Username, key: value}
	if c.ClientSecret != "" {
		mac := hmac.New(sha256.New, []byte(c.ClientSecret))
		mac.Write([]byte(c.Username + c.ClientID))
		p["SECRET_HASH"] = base64.StdEncoding.EncodeToString(mac.Sum(nil))
	}
	return p
}
