package main

import (
	"context"
	"fmt"
	"time"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/totp"
)

// code prints the current TOTP code; with next > 0 it first waits out a step
// with less than next left, so the code stays valid long enough to be used.
func (c *cli) code(ctx context.Context, name string, next time.Duration) error {
	ste, err := c.enrollment(ctx, name)
	if err != nil {
		return err
	}
	seed, err := c.storedSecret(ctx, ste)
	if err != nil {
		return err
	}
	now := c.now()
	if left := totp.Remaining(now); next > 0 && left < next {
		select {
		case <-time.After(left):
		case <-ctx.Done():
			return ctx.Err()
		}
		now = now.Add(left)
	}
	code, err := totp.Code(seed, now)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(c.out, code)
	return err
}
