package kube

import (
	"net/http"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/clock"
)

// ServerClock estimates the API server's clock from the Date header of its
// answers, against Local (the manager's clock). A deletionTimestamp is the
// API server's time: a manager whose clock is ahead by the deletion timeout
// would otherwise find every deletion timed out before it began.
type ServerClock struct {
	clock.Estimate
}

// Wrap is a rest.Config WrapTransport that learns from every answer.
func (c *ServerClock) Wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		sent := c.LocalNow()
		resp, err := rt.RoundTrip(req)
		if err == nil {
			c.Observe(resp.Header.Get("Date"), sent, c.LocalNow())
		}
		return resp, err
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
