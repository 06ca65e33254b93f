package enrollment

import (
	"errors"
	"sync"
	"testing"
	"time"
)

func TestTogether(t *testing.T) {
	errA, errB := errors.New("a"), errors.New("b")
	cases := []struct {
		name  string
		steps []func() error
		want  error
	}{
		{"no steps", nil, nil},
		{"one step", []func() error{func() error { return errA }}, errA},
		{"all succeed", []func() error{func() error { return nil }, func() error { return nil }}, nil},
		// The first error in argument order, whichever finishes first.
		{"first in order wins", []func() error{
			func() error { time.Sleep(20 * time.Millisecond); return errA },
			func() error { return errB },
		}, errA},
		{"a later error", []func() error{func() error { return nil }, func() error { return errB }}, errB},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := together(tc.steps...); !errors.Is(got, tc.want) || (got == nil) != (tc.want == nil) {
				t.Fatalf("together() = %v, want %v", got, tc.want)
			}
		})
	}
	// The steps run at once: each waits until all three have started,
	// which only steps that overlap can do.
	var started sync.WaitGroup
	started.Add(3)
	step := func() error {
		started.Done()
		done := make(chan struct{})
		go func() { started.Wait(); close(done) }()
		select {
		case <-done:
			return nil
		case <-time.After(10 * time.Second):
			return errors.New("the other steps never started")
		}
	}
	if err := together(step, step, step); err != nil {
		t.Fatal(err)
	}
}
