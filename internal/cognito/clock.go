package cognito

import (
	"context"

	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/clock"
)

// Cognito checks TOTP codes against its own clock, so codes are computed on
// that clock, learnt from the Date header of its answers (RFC 9110 §6.6.1:
// an origin server with a clock sends one), never on the manager's: a
// manager minutes off would otherwise send codes Cognito refuses, and read
// a refusal as a seed that is not the user's.

// learnClock is SDK middleware that feeds each attempt's Date, error
// answers included, to the region's clock estimate. It sits in the
// Deserialize step, below the SDK's retries, so every attempt counts.
func learnClock(est *clock.Estimate) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("CognitoClock",
			func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
				sent := est.LocalNow()
				out, md, err := next.HandleDeserialize(ctx, in)
				if resp, ok := out.RawResponse.(*smithyhttp.Response); ok && resp != nil {
					est.Observe(resp.Header.Get("Date"), sent, est.LocalNow())
				}
				return out, md, err
			}), middleware.After)
	}
}
