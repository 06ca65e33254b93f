package enrollment

import "golang.org/x/sync/errgroup"

// together runs independent steps at once (each a round trip to the API
// server or Cognito) and waits for all of them: the reconcile's latency is
// its longest step, not their sum. The error is the first in argument
// order, so that which one is reported does not depend on timing.
func together(steps ...func() error) error {
	errs := make([]error, len(steps))
	var g errgroup.Group
	for i, step := range steps {
		g.Go(func() error {
			errs[i] = step()
			return nil // every step runs to its end: none cancels another
		})
	}
	_ = g.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
