package cognito

import (
	"context"

	"github.com/aws/smithy-go/middleware"
	"golang.org/x/time/rate"
)

// pace is SDK middleware that waits for the limiter before each attempt.
func pace(limiter *rate.Limiter) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("CognitoPacing",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				if err := limiter.Wait(ctx); err != nil {
					return middleware.FinalizeOutput{}, middleware.Metadata{}, err
				}
				return next.HandleFinalize(ctx, in)
			}), middleware.After)
	}
}
