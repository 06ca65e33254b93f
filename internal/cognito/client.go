// Package cognito is the operator's only door to Amazon Cognito: the small set
// of public user operations an enrollment needs, and the one place where their
// errors are classified and scrubbed of secret material.
package cognito

import (
	"context"
	"time"
)

// Challenge names the controller acts on.
const (
	ChallengeMFASetup         = "MFA_SETUP"
	ChallengeSoftwareTokenMFA = "SOFTWARE_TOKEN_MFA"
	ChallengeSelectMFAType    = "SELECT_MFA_TYPE"
)

// VerifySuccess is the Status VerifySoftwareToken returns for an accepted code.
const VerifySuccess = "SUCCESS"

// Client is what the controller may ask of Cognito. Every operation is public:
// Cognito evaluates no IAM policy for them, so they are sent unsigned.
type Client interface {
	// InitiateAuth signs in with USER_PASSWORD_AUTH.
	InitiateAuth(ctx context.Context, in SignIn) (*AuthResult, error)
	// RespondToAuthChallenge answers a challenge InitiateAuth returned.
	RespondToAuthChallenge(ctx context.Context, in ChallengeAnswer) (*AuthResult, error)
	// AssociateSoftwareToken starts a software-token association.
	AssociateSoftwareToken(ctx context.Context, cred Credential) (*Association, error)
	// VerifySoftwareToken completes an association with a code from its secret.
	VerifySoftwareToken(ctx context.Context, in Verify) (*Verification, error)
	// SetSoftwareTokenPreference sets whether software-token MFA is enabled and preferred.
	SetSoftwareTokenPreference(ctx context.Context, accessToken string, pref Preference) error
	// GetUser reads back the user an access token belongs to and its MFA settings.
	GetUser(ctx context.Context, accessToken string) (*UserInfo, error)
	// Now is Cognito's time, learnt from the Date of its answers: whether
	// any answer has told it yet (until then, the local clock), and whether
	// any answer came back at all.
	Now() (now time.Time, known, heard bool)
}

// AppClient is the app client a sign-in goes through.
type AppClient struct {
	ID string
	// Secret is the app client's secret; when set, SECRET_HASH is sent.
	Secret string
}

// SignIn is a USER_PASSWORD_AUTH sign-in.
type SignIn struct {
	Client   AppClient
	Username string
	Password string
}

// AuthResult is either tokens or a challenge with its session.
type AuthResult struct {
	AccessToken  string
	IDToken      string
	RefreshToken string
	ExpiresIn    int32
	TokenType    string
	Challenge    string
	Session      string
	// Username is the canonical username from ChallengeParameters
	// USER_ID_FOR_SRP, when Cognito sent it. It differs from the name signed in
	// with when that was an alias (e-mail, phone), and challenge answers and
	// their SECRET_HASH must use it.
	Username string
	// ChallengeParameters are the challenge's parameters as Cognito sent
	// them, e.g. MFAS_CAN_CHOOSE (a JSON list in a string).
	ChallengeParameters map[string]string
}

// ChallengeAnswer answers a challenge. USERNAME and SECRET_HASH are added to
// Responses by the client.
type ChallengeAnswer struct {
	Client    AppClient
	Username  string
	Challenge string
	Session   string
	Responses map[string]string
}

// Credential is an access token or the session of an MFA_SETUP challenge, never both.
type Credential struct {
	AccessToken string
	Session     string
}

// Association is what AssociateSoftwareToken returns.
type Association struct {
	SecretCode string
	// Session is the next session of an MFA_SETUP flow, empty on the access-token path.
	Session string
}

// Verify is a VerifySoftwareToken request.
type Verify struct {
	Credential
	Code       string
	DeviceName string
}

// Preference is a user's software-token MFA setting.
type Preference struct {
	Enabled, Preferred bool
}

// Verification is what VerifySoftwareToken returns.
type Verification struct {
	Status string
	// Session answers the MFA_SETUP challenge, empty on the access-token path.
	Session string
}

// UserInfo is what GetUser returns of a user.
type UserInfo struct {
	Username string
	// Sub is the user's immutable id, from the sub attribute.
	Sub string
	// MFASettings lists the enabled factors, e.g. SOFTWARE_TOKEN_MFA.
	MFASettings  []string
	PreferredMFA string
}
