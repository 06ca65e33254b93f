// Package clock estimates a remote server's clock from the Date header of
// its HTTP answers. The API server's clock decides deletion timeouts (a
// deletionTimestamp is its time); Cognito's decides which TOTP step a code
// belongs to. The AWS SDK does the same for request signing (its
// clock-skew correction reads the Date of every answer).
package clock

import (
	"net/http"
	"sync"
	"time"
)

// jump is how far one answer may disagree with the estimate before it is
// taken as a clock that jumped rather than a second's rounding; it also
// bounds the round trip of an answer that may move the estimate, since an
// answer's Date is the remote clock read anywhere within its round trip.
const jump = 2 * time.Second

// Estimate is a remote clock, against Local (this process's clock). Dates
// have a resolution of one second; the estimate is within about a second.
type Estimate struct {
	// Local is this process's clock; nil means time.Now.
	Local func() time.Time

	mu     sync.Mutex
	offset time.Duration
	known  bool
	heard  bool
	// jumped is the offset of the last answer that disagreed, waiting for
	// a second one to confirm it.
	jumped *time.Duration
}

// Now is the remote time, as far as its answers tell; the local clock
// until one answer has carried a Date.
func (e *Estimate) Now() time.Time {
	offset, _ := e.Offset()
	return e.LocalNow().Add(offset)
}

// Offset is how far the remote clock is ahead of the local one, and
// whether any answer has told.
func (e *Estimate) Offset() (time.Duration, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.offset, e.known
}

// Heard says whether any answer came back, with a Date or without.
func (e *Estimate) Heard() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.heard
}

// LocalNow is the local clock.
func (e *Estimate) LocalNow() time.Time {
	if e.Local != nil {
		return e.Local()
	}
	return time.Now()
}

// Observe takes one answer's Date: the remote clock read somewhere between
// sent and received, truncated to the second. An answer without a Date
// (or with one that does not parse) tells nothing. The first answer sets
// the estimate; later ones within a jump of it smooth it; one further off
// moves it only once a second answer agrees with it, and neither took
// longer than a jump (a slow answer, or one stray Date from a proxy's
// error page, must not move the clock every enrollment of the region
// computes codes on).
func (e *Estimate) Observe(date string, sent, received time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.heard = true
	remote, err := http.ParseTime(date)
	if err != nil {
		return
	}
	rtt := received.Sub(sent)
	offset := remote.Add(500 * time.Millisecond).Sub(sent.Add(rtt / 2))
	near := func(a, b time.Duration) bool { return a-b <= jump && b-a <= jump }
	switch {
	case !e.known:
		e.offset, e.known = offset, true
	case rtt > jump:
		// Too coarse to move the estimate.
	case near(offset, e.offset):
		e.jumped = nil
		e.offset += (offset - e.offset) / 8 // smooth the second's rounding
	case e.jumped != nil && near(offset, *e.jumped):
		e.offset, e.jumped = offset, nil // a clock that jumped, seen twice
	default:
		e.jumped = &offset
	}
}
