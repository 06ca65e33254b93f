package kube

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/clock"
)

// The API server's clock is learnt from its Date headers, whatever the
// manager's clock says.
func TestServerClockFollowsTheServersDate(t *testing.T) {
	serverSkew := -3 * time.Minute // the server's clock, against the real one
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Date", time.Now().Add(serverSkew).UTC().Format(http.TimeFormat))
	}))
	defer srv.Close()
	managerSkew := 10 * time.Minute // the manager's clock is wrong the other way
	c := &ServerClock{Estimate: clock.Estimate{Local: func() time.Time { return time.Now().Add(managerSkew) }}}
	if d := c.Now().Sub(time.Now().Add(managerSkew)); d > time.Second || d < -time.Second {
		t.Fatalf("before any answer, Now is the manager's clock (off by %v)", d)
	}
	client := &http.Client{Transport: c.Wrap(http.DefaultTransport)}
	for range 3 {
		resp, err := client.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if d := c.Now().Sub(time.Now().Add(serverSkew)); d > 1500*time.Millisecond || d < -1500*time.Millisecond {
		t.Fatalf("ServerClock is %v off the server's clock", d)
	}
	// The manager's clock jumps: the next two answers, which agree, correct
	// the estimate.
	managerSkew = time.Hour
	for range 2 {
		resp, err := client.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if d := c.Now().Sub(time.Now().Add(serverSkew)); d > 1500*time.Millisecond || d < -1500*time.Millisecond {
		t.Fatalf("after the manager's clock jumped, ServerClock is %v off the server's clock", d)
	}
}
