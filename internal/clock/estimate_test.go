package clock

import (
	"net/http"
	"testing"
	"time"
)

// Each row feeds answers (a remote clock offset against the local one,
// and the round trip) and expects the estimate within a second.
func TestEstimate(t *testing.T) {
	local := time.Date(2026, 12, 2, 12, 0, 0, 250e6, time.UTC)
	type answer struct {
		remote time.Duration // remote clock minus local
		rtt    time.Duration
		noDate bool
	}
	for _, tc := range []struct {
		name    string
		answers []answer
		want    time.Duration
		known   bool
	}{
		{"no answer: the local clock", nil, 0, false},
		{"an answer without a Date tells nothing", []answer{{noDate: true}}, 0, false},
		{"two minutes ahead", []answer{{remote: 2 * time.Minute, rtt: 80 * time.Millisecond}}, 2 * time.Minute, true},
		{"two minutes behind", []answer{{remote: -2 * time.Minute, rtt: 300 * time.Millisecond}}, -2 * time.Minute, true},
		{"a clock that jumps is followed once two answers agree", []answer{{remote: time.Minute}, {remote: -time.Hour}, {remote: -time.Hour}}, -time.Hour, true},
		{"one stray Date does not move it", []answer{{remote: time.Minute}, {remote: -time.Hour}}, time.Minute, true},
		{"two strays that disagree do not move it", []answer{{remote: 0}, {remote: time.Hour}, {remote: -time.Hour}}, 0, true},
		{"a slow answer does not move it", []answer{{remote: 0}, {remote: 5 * time.Second, rtt: 10 * time.Second}, {remote: 5 * time.Second, rtt: 10 * time.Second}}, 0, true},
		{"rounding is smoothed, not followed", []answer{{remote: 0}, {remote: 900 * time.Millisecond}, {remote: 0}}, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := local
			e := &Estimate{Local: func() time.Time { return now }}
			for _, a := range tc.answers {
				sent := now
				now = now.Add(a.rtt)
				date := ""
				if !a.noDate {
					// The remote clock read mid-flight, truncated to the second.
					date = sent.Add(a.rtt / 2).Add(a.remote).UTC().Format(http.TimeFormat)
				}
				e.Observe(date, sent, now)
			}
			_, known := e.Offset()
			if known != tc.known {
				t.Fatalf("known %v, want %v", known, tc.known)
			}
			if d := e.Now().Sub(now.Add(tc.want)); d > time.Second || d < -time.Second {
				t.Fatalf("the estimate is %v off", d)
			}
		})
	}
}
