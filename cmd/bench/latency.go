package main

import (
	"context"
	"time"
)

// singlePhase is the latency of one enrollment applied on an idle manager.
type singlePhase struct {
	Probes int `json:"probes"`
	// Apply→Ready, and the part of it beyond the one-time-code rule's hold.
	P50           float64 `json:"p50Seconds"`
	P99           float64 `json:"p99Seconds"`
	BeyondHoldP50 float64 `json:"beyondHoldP50Seconds"`
	BeyondHoldP99 float64 `json:"beyondHoldP99Seconds"`
	HoldP50       float64 `json:"holdP50Seconds"`
	HoldMax       float64 `json:"holdMaxSeconds"`
	Held          float64 `json:"heldShare"`
}

// probeSpacing spreads the probes over more than one TOTP step (30 s), so
// that they sample every phase of it, the held ones included.
const probeSpacing = 1700 * time.Millisecond

// probe applies single enrollments one after another, each once the one
// before is Ready and probeSpacing after the one before was applied.
func (r *operatorRun) probe(ctx context.Context, n int) (*singlePhase, error) {
	var names []string
	for i := range n {
		if i > 0 {
			select {
			case <-time.After(time.Until(r.track.createdAtOf(names[i-1]).Add(probeSpacing))):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		name := r.create(ctx, 1)
		if err := r.track.waitReady(ctx, name, time.Minute); err != nil {
			return nil, err
		}
		names = append(names, name...)
	}
	l := r.track.latencies(names)
	return &singlePhase{Probes: n, P50: quantile(l.total, .5), P99: quantile(l.total, .99),
		BeyondHoldP50: quantile(l.beyondHold, .5), BeyondHoldP99: quantile(l.beyondHold, .99),
		HoldP50: quantile(l.hold, .5), HoldMax: quantile(l.hold, 1), Held: heldShare(l.hold)}, nil
}
