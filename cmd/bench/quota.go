package main

import (
	"math"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
)

// quotaPhase is the quota-bound run's reference: the rate of enrollments
// that the manager's default pacing allows, from the calls each enrollment
// makes in each quota category.
type quotaPhase struct {
	Share float64 `json:"share"`
	// RatePerCategory is the default pacing: share × the documented quota.
	RatePerCategory  map[string]float64 `json:"ratePerCategory"`
	CallsPerCategory map[string]float64 `json:"callsPerCategory"`
	Limiting         string             `json:"limitingCategory"`
	BoundPerSecond   float64            `json:"boundPerSecond"`
	Requests         int                `json:"requests"`
	Throttled        map[string]int     `json:"throttled"`
	ThrottledPercent float64            `json:"throttledPercent"`
}

func quotaBound(op *operatorPhase, cog *peer) *quotaPhase {
	q := &quotaPhase{Share: cognito.DefaultQuotaShare, RatePerCategory: cognito.CategoryRates(cognito.DefaultQuotaShare, nil, nil),
		CallsPerCategory: map[string]float64{}, BoundPerSecond: math.Inf(1), Throttled: cog.throttled()}
	for operation, per := range op.CallsPer {
		q.CallsPerCategory[cognito.CategoryOf(operation)] += per
		q.Requests += int(math.Round(per * float64(op.Enrollments)))
	}
	for c, per := range q.CallsPerCategory {
		if bound := q.RatePerCategory[c] / per; bound < q.BoundPerSecond {
			q.BoundPerSecond, q.Limiting = bound, c
		}
	}
	throttled := 0
	for _, v := range q.Throttled {
		throttled += v
	}
	q.ThrottledPercent = 100 * float64(throttled) / float64(max(1, q.Requests))
	return q
}
