package controllers

import "sync"

// together runs independent steps at once (each a round trip to the API
// server or Cognito) and waits for all of them: the reconcile's latency is
// its longest step, not their sum. The error is the first in argument
// order, so that which one is reported does not depend on timing.
func together(steps ...func() error) error {
	if len(steps) == 0 {
		return nil
	}
	errs := make([]error, len(steps))
	var wg sync.WaitGroup
	for i, step := range steps[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i+1] = step()
		}()
	}
	errs[0] = steps[0]() // on the caller's goroutine: one fewer to start
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
