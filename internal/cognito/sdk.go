package cognito

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"golang.org/x/time/rate"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/clock"
)

// Options configure the SDK-backed clients.
type Options struct {
	// Endpoint overrides Cognito's endpoint (e.g. an emulator). When empty the
	// SDK's own resolution applies, AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER included.
	Endpoint string
	// DefaultRegion is used for user pools whose id does not name a region.
	DefaultRegion string
	// ConnectTimeout bounds dialling and the TLS handshake.
	ConnectTimeout time.Duration
	// ReadTimeout bounds how long a connection may deliver no data.
	ReadTimeout time.Duration
	// MaxAttempts is the SDK's retry budget for one call (1 disables SDK retries).
	MaxAttempts int
	// CategoryRates pace each quota category per region (requests per
	// second; see CategoryRates). Cognito's quotas are per account and Region
	// and shared by every application in the account.
	CategoryRates map[string]float64
	// QPS, when above 0, also caps all operations of a region together;
	// QPS 0 disables pacing altogether, categories included; below 0, no cap.
	QPS float64
	// Burst is each bucket's burst.
	Burst int
	// Now is the local clock Cognito's is estimated against; nil means time.Now.
	Now func() time.Time
}

// Provider hands out one Client per region, built once from the SDK's
// default configuration with anonymous credentials: the operations are
// public, so the operator needs no IAM permissions and never signs.
type Provider struct {
	cfg      aws.Config
	endpoint string
	qps      float64
	rates    map[string]float64
	burst    int
	now      func() time.Time

	mu      sync.Mutex
	clients map[string]Client
}

// NewProvider loads the SDK configuration (AWS_CA_BUNDLE, endpoint variables,
// shared config files) once.
func NewProvider(ctx context.Context, o Options) (*Provider, error) {
	httpClient := awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) {
			if o.ConnectTimeout > 0 {
				d.Timeout = o.ConnectTimeout
			}
		}).
		WithTransportOptions(func(t *http.Transport) {
			if o.ConnectTimeout > 0 {
				t.TLSHandshakeTimeout = o.ConnectTimeout
			}
		})
	if o.ReadTimeout > 0 {
		httpClient = httpClient.WithReadTimeout(o.ReadTimeout)
	}
	attempts := o.MaxAttempts
	if attempts <= 0 {
		attempts = retry.DefaultMaxAttempts
	}
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion(o.DefaultRegion),
		config.WithCredentialsProvider(aws.AnonymousCredentials{}),
		config.WithHTTPClient(httpClient),
		config.WithRetryer(func() aws.Retryer {
			// The client-side retry quota would turn a burst of throttling into
			// its own opaque failure; pacing is the controller's job.
			return retry.NewStandard(func(so *retry.StandardOptions) {
				so.MaxAttempts = attempts
				so.RateLimiter = ratelimit.None
			})
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("loading AWS SDK configuration: %w", err)
	}
	return &Provider{cfg: cfg, endpoint: o.Endpoint, qps: o.QPS, rates: o.CategoryRates, burst: max(o.Burst, 1),
		now: o.Now, clients: map[string]Client{}}, nil
}

// DefaultRegion is the region used when a pool id names none.
func (p *Provider) DefaultRegion() string { return p.cfg.Region }

// ForRegion returns the client for a region.
func (p *Provider) ForRegion(region string) Client {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.clients[region]; ok {
		return c
	}
	limiters := p.limiters()
	est := &clock.Estimate{Local: p.now}
	c := &sdkClient{clock: est, api: cip.NewFromConfig(p.cfg, func(o *cip.Options) {
		o.Region = region
		if p.endpoint != "" {
			o.BaseEndpoint = aws.String(p.endpoint)
		}
		if limiters != nil {
			// Every attempt, SDK retries included, waits for its turn.
			o.APIOptions = append(o.APIOptions, pace(limiters))
		}
		o.APIOptions = append(o.APIOptions, observe, learnClock(est))
	})}
	p.clients[region] = c
	return c
}

// limiters are one region's buckets: one per category, and "" for the cap
// over all operations; nil when pacing is off.
func (p *Provider) limiters() map[string]*rate.Limiter {
	if p.qps == 0 {
		return nil
	}
	out := map[string]*rate.Limiter{}
	for c, r := range p.rates {
		if r > 0 {
			out[c] = rate.NewLimiter(rate.Limit(r), p.burst)
		}
	}
	if p.qps > 0 {
		out[""] = rate.NewLimiter(rate.Limit(p.qps), p.burst)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

type sdkClient struct {
	api   *cip.Client
	clock *clock.Estimate
}

func (c *sdkClient) Now() (time.Time, bool, bool) {
	_, known := c.clock.Offset()
	return c.clock.Now(), known, c.clock.Heard()
}

func (c *sdkClient) InitiateAuth(ctx context.Context, in SignIn) (*AuthResult, error) {
	params := map[string]string{"USERNAME": in.Username, "PASSWORD": in.Password}
	if in.Client.Secret != "" {
		params["SECRET_HASH"] = SecretHash(in.Client.Secret, in.Username, in.Client.ID)
	}
	out, err := c.api.InitiateAuth(ctx, &cip.InitiateAuthInput{
		AuthFlow:       types.AuthFlowTypeUserPasswordAuth,
		ClientId:       aws.String(in.Client.ID),
		AuthParameters: params,
	})
	if err != nil {
		return nil, classify("InitiateAuth", opSignIn, err, in.Password, in.Client.Secret, params["SECRET_HASH"])
	}
	return authResult(out.AuthenticationResult, out.ChallengeName, out.ChallengeParameters, out.Session), nil
}

func (c *sdkClient) RespondToAuthChallenge(ctx context.Context, in ChallengeAnswer) (*AuthResult, error) {
	responses := map[string]string{"USERNAME": in.Username}
	for k, v := range in.Responses {
		responses[k] = v
	}
	if in.Client.Secret != "" {
		responses["SECRET_HASH"] = SecretHash(in.Client.Secret, in.Username, in.Client.ID)
	}
	out, err := c.api.RespondToAuthChallenge(ctx, &cip.RespondToAuthChallengeInput{
		ClientId:           aws.String(in.Client.ID),
		ChallengeName:      types.ChallengeNameType(in.Challenge),
		Session:            aws.String(in.Session),
		ChallengeResponses: responses,
	})
	if err != nil {
		return nil, classify("RespondToAuthChallenge", opSession, err, append(values(responses), in.Session, in.Client.Secret)...)
	}
	return authResult(out.AuthenticationResult, out.ChallengeName, out.ChallengeParameters, out.Session), nil
}

func (c *sdkClient) AssociateSoftwareToken(ctx context.Context, cred Credential) (*Association, error) {
	out, err := c.api.AssociateSoftwareToken(ctx, &cip.AssociateSoftwareTokenInput{
		AccessToken: optional(cred.AccessToken),
		Session:     optional(cred.Session),
	})
	if err != nil {
		return nil, classify("AssociateSoftwareToken", cred.kind(), err, cred.AccessToken, cred.Session)
	}
	return &Association{SecretCode: aws.ToString(out.SecretCode), Session: aws.ToString(out.Session)}, nil
}

func (c *sdkClient) VerifySoftwareToken(ctx context.Context, in Verify) (*Verification, error) {
	out, err := c.api.VerifySoftwareToken(ctx, &cip.VerifySoftwareTokenInput{
		AccessToken:        optional(in.AccessToken),
		Session:            optional(in.Session),
		UserCode:           aws.String(in.Code),
		FriendlyDeviceName: optional(in.DeviceName),
	})
	if err != nil {
		return nil, classify("VerifySoftwareToken", in.kind(), err, in.AccessToken, in.Session, in.Code)
	}
	return &Verification{Status: string(out.Status), Session: aws.ToString(out.Session)}, nil
}

func (c *sdkClient) SetSoftwareTokenPreference(ctx context.Context, accessToken string, pref Preference) error {
	_, err := c.api.SetUserMFAPreference(ctx, &cip.SetUserMFAPreferenceInput{
		AccessToken:              aws.String(accessToken),
		SoftwareTokenMfaSettings: &types.SoftwareTokenMfaSettingsType{Enabled: pref.Enabled, PreferredMfa: pref.Preferred},
	})
	return classify("SetUserMFAPreference", opAccessToken, err, accessToken)
}

func (c *sdkClient) GetUser(ctx context.Context, accessToken string) (*UserInfo, error) {
	out, err := c.api.GetUser(ctx, &cip.GetUserInput{AccessToken: aws.String(accessToken)})
	if err != nil {
		return nil, classify("GetUser", opAccessToken, err, accessToken)
	}
	info := &UserInfo{Username: aws.ToString(out.Username), MFASettings: out.UserMFASettingList,
		PreferredMFA: aws.ToString(out.PreferredMfaSetting)}
	for _, a := range out.UserAttributes {
		if aws.ToString(a.Name) == "sub" {
			info.Sub = aws.ToString(a.Value)
		}
	}
	return info, nil
}

func (cred Credential) kind() opKind {
	if cred.Session != "" {
		return opSession
	}
	return opAccessToken
}

func authResult(res *types.AuthenticationResultType, challenge types.ChallengeNameType, params map[string]string, session *string) *AuthResult {
	out := &AuthResult{Challenge: string(challenge), Session: aws.ToString(session),
		Username: params["USER_ID_FOR_SRP"], ChallengeParameters: params}
	if res != nil {
		out.AccessToken = aws.ToString(res.AccessToken)
		out.IDToken = aws.ToString(res.IdToken)
		out.RefreshToken = aws.ToString(res.RefreshToken)
		out.ExpiresIn = res.ExpiresIn
		out.TokenType = aws.ToString(res.TokenType)
	}
	return out
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

func values(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
