package kube

import (
	"net/http"
	"sync"
	"time"
)

// ServerClock estimates the API server's clock from the Date header of its
// answers, against Local (the manager's clock). A deletionTimestamp is the
// API server's time: a manager whose clock is ahead by the deletion timeout
// would otherwise find every deletion timed out before it began. Dates have
// a resolution of one second; the estimate is within about a second.
type ServerClock struct {
	// Local is the manager's clock; nil means time.Now.
	Local func() time.Time

	mu     sync.Mutex
	offset time.Duration
	known  bool
}

// Now is the API server's time, as far as its answers tell; the manager's
// own clock until one has been heard.
func (c *ServerClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.local().Add(c.offset)
}

// Wrap is a rest.Config WrapTransport that learns from every answer.
func (c *ServerClock) Wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		sent := c.local()
		resp, err := rt.RoundTrip(req)
		if err == nil {
			c.observe(resp.Header.Get("Date"), sent, c.local())
		}
		return resp, err
	})
}

// observe takes one answer's Date: the server's clock read somewhere
// between sent and received, truncated to the second.
func (c *ServerClock) observe(date string, sent, received time.Time) {
	server, err := http.ParseTime(date)
	if err != nil {
		return
	}
	mid := sent.Add(received.Sub(sent) / 2)
	offset := server.Add(500 * time.Millisecond).Sub(mid)
	c.mu.Lock()
	defer c.mu.Unlock()
	if d := offset - c.offset; !c.known || d > 2*time.Second || d < -2*time.Second {
		c.offset, c.known = offset, true // the first answer, or a clock that jumped
		return
	}
	c.offset += (offset - c.offset) / 8 // smooth the second's rounding
}

func (c *ServerClock) local() time.Time {
	if c.Local != nil {
		return c.Local()
	}
	return time.Now()
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
