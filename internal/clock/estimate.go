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
// taken as a clock that jumped rather than a second's rounding.
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
// (or with one that does not parse) tells nothing.
func (e *Estimate) Observe(date string, sent, received time.Time) {
	e.mu.Lock()
	e.heard = true
	e.mu.Unlock()
	remote, err := http.ParseTime(date)
	if err != nil {
		return
	}
	mid := sent.Add(received.Sub(sent) / 2)
	offset := remote.Add(500 * time.Millisecond).Sub(mid)
	e.mu.Lock()
	defer e.mu.Unlock()
	if d := offset - e.offset; !e.known || d > jump || d < -jump {
		e.offset, e.known = offset, true // the first answer, or a clock that jumped
		return
	}
	e.offset += (offset - e.offset) / 8 // smooth the second's rounding
}
