package localenv

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// API is an SDK client for cognito-local itself (not through the proxy), for
// setting up pools, clients and users and for signing in as a consumer would.
func (c *CognitoLocal) API() *cip.Client { return SDK(c.Upstream) }

// CreatePool creates a user pool with software-token MFA enabled and the
// given MFA configuration (OFF, OPTIONAL or ON).
func (c *CognitoLocal) CreatePool(ctx context.Context, name string, mfa types.UserPoolMfaType) (string, error) {
	api := c.API()
	out, err := api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String(name)})
	if err != nil {
		return "", err
	}
	id := aws.ToString(out.UserPool.Id)
	_, err = api.SetUserPoolMfaConfig(ctx, &cip.SetUserPoolMfaConfigInput{UserPoolId: aws.String(id), MfaConfiguration: mfa,
		SoftwareTokenMfaConfiguration: &types.SoftwareTokenMfaConfigType{Enabled: true}})
	return id, err
}

// CreateClient creates an app client allowing USER_PASSWORD_AUTH, with a
// generated secret when withSecret is set. It returns the id and the secret.
func (c *CognitoLocal) CreateClient(ctx context.Context, poolID, name string, withSecret bool) (string, string, error) {
	out, err := c.API().CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: aws.String(poolID),
		ClientName: aws.String(name), GenerateSecret: withSecret,
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserPasswordAuth, types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth}})
	if err != nil {
		return "", "", err
	}
	return aws.ToString(out.UserPoolClient.ClientId), aws.ToString(out.UserPoolClient.ClientSecret), nil
}

// CreateUser creates a confirmed user with a permanent password.
func (c *CognitoLocal) CreateUser(ctx context.Context, poolID, username, password string) error {
	api := c.API()
	if _, err := api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: aws.String(poolID), Username: aws.String(username),
		MessageAction: types.MessageActionTypeSuppress}); err != nil {
		return err
	}
	_, err := api.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: aws.String(poolID), Username: aws.String(username),
		Password: aws.String(password), Permanent: true})
	return err
}
