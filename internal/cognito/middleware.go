package cognito

import (
	"context"
	"errors"
	"time"

	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/time/rate"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/metrics"
)

// pace is SDK middleware that waits, before each attempt, for the bucket of
// the operation's quota category and for the cap over all operations.
func pace(limiters map[string]*rate.Limiter) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("CognitoPacing",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				for _, key := range []string{CategoryOf(middleware.GetOperationName(ctx)), ""} {
					if l := limiters[key]; l != nil {
						if err := l.Wait(ctx); err != nil {
							return middleware.FinalizeOutput{}, middleware.Metadata{}, err
						}
					}
				}
				return next.HandleFinalize(ctx, in)
			}), middleware.After)
	}
}

// observe is SDK middleware that records each attempt's operation, outcome
// and latency (pacing excluded: it sits inside the pacing middleware).
func observe(stack *middleware.Stack) error {
	return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("CognitoMetrics",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			start := time.Now()
			out, md, err := next.HandleFinalize(ctx, in)
			outcome := "success"
			var apiErr smithy.APIError
			switch {
			case errors.As(err, &apiErr):
				outcome = apiErr.ErrorCode()
			case err != nil:
				outcome = "RequestFailed"
			}
			metrics.ObserveCognito(middleware.GetOperationName(ctx), outcome, time.Since(start))
			return out, md, err
		}), middleware.After)
}
