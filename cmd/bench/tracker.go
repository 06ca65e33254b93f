package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	k8score "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/lifecycle"
)

// tracker watches the bench namespace's enrollments and their Secrets and
// remembers, per enrollment, when it was created and first Ready, whether it
// ever failed, and until when the one-time-code rule held its new seed back.
type tracker struct {
	mu        sync.Mutex
	createdAt map[string]time.Time
	readyAt   map[string]time.Time
	holdUntil map[string]time.Time
	// heldAt is when a held enrollment's verified seed was seen recorded.
	heldAt   map[string]time.Time
	failures map[string]bool
	cancel   context.CancelFunc
}

func startTracker(ctx context.Context, k client.WithWatch) (*tracker, error) {
	ctx, cancel := context.WithCancel(ctx)
	t := &tracker{createdAt: map[string]time.Time{}, readyAt: map[string]time.Time{}, holdUntil: map[string]time.Time{},
		heldAt: map[string]time.Time{}, failures: map[string]bool{}, cancel: cancel}
	steWatch, err := k.Watch(ctx, &v1alpha1.SoftwareTokenEnrollmentList{}, client.InNamespace(benchNS))
	if err != nil {
		cancel()
		return nil, err
	}
	secretWatch, err := k.Watch(ctx, &k8score.SecretList{}, client.InNamespace(benchNS), client.HasLabels{v1alpha1.LabelEnrollment})
	if err != nil {
		cancel()
		return nil, err
	}
	go t.consume(ctx, steWatch, t.enrollment)
	go t.consume(ctx, secretWatch, t.secret)
	return t, nil
}

func (t *tracker) stop() { t.cancel() }

func (t *tracker) consume(ctx context.Context, w watch.Interface, f func(watch.Event)) {
	defer w.Stop()
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				return
			}
			f(ev)
		case <-ctx.Done():
			return
		}
	}
}

func (t *tracker) enrollment(ev watch.Event) {
	ste, ok := ev.Object.(*v1alpha1.SoftwareTokenEnrollment)
	if !ok {
		return
	}
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, seen := t.readyAt[ste.Name]; !seen && meta.IsStatusConditionTrue(ste.Status.Conditions, v1alpha1.ConditionReady) {
		t.readyAt[ste.Name] = now
	}
	if meta.IsStatusConditionTrue(ste.Status.Conditions, v1alpha1.ConditionStalled) || ste.Status.FailedAttempts > 0 {
		t.failures[ste.Name] = true
	}
}

func (t *tracker) secret(ev watch.Event) {
	s, ok := ev.Object.(*k8score.Secret)
	if !ok {
		return
	}
	rec, err := lifecycle.ReadRecord(s.Annotations)
	if err != nil || rec.Pending.Verified == nil {
		return
	}
	until := rec.Pending.Verified.Until
	name := s.Labels[v1alpha1.LabelEnrollment]
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, seen := t.holdUntil[name]; !seen {
		t.holdUntil[name], t.heldAt[name] = until, time.Now()
	}
}

func (t *tracker) created(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.createdAt[name] = time.Now()
}

// lastDone is when the last of names was done: Ready, or for a held one
// verified and recorded, since the rest of its wait is latency, not work.
func (t *tracker) lastDone(names []string) time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	var last time.Time
	for _, name := range names {
		done := t.readyAt[name]
		if held, ok := t.heldAt[name]; ok && held.Before(done) {
			done = held
		}
		if done.After(last) {
			last = done
		}
	}
	return last
}

func (t *tracker) createdAtOf(name string) time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.createdAt[name]
}

func (t *tracker) waitReady(ctx context.Context, names []string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ready := t.countReady(names)
		if ready == len(names) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d Ready after %s", ready, len(names), timeout)
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (t *tracker) countReady(names []string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, name := range names {
		if _, ok := t.readyAt[name]; ok {
			n++
		}
	}
	return n
}

func (t *tracker) failed(names []string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, name := range names {
		if t.failures[name] {
			n++
		}
	}
	return n
}

// latencies are, sorted, each enrollment's time from creation to Ready, and
// the part of it beyond the one-time-code rule's hold: from the later of its
// creation and the end of the hold.
type latencies struct {
	total, beyondHold, hold []float64
}

func (t *tracker) latencies(names []string) latencies {
	t.mu.Lock()
	defer t.mu.Unlock()
	var l latencies
	for _, name := range names {
		created, ready := t.createdAt[name], t.readyAt[name]
		from := created
		hold := 0.0
		if until, ok := t.holdUntil[name]; ok && until.After(created) {
			from, hold = until, until.Sub(created).Seconds()
		}
		l.total = append(l.total, ready.Sub(created).Seconds())
		l.beyondHold = append(l.beyondHold, max(0, ready.Sub(from).Seconds()))
		l.hold = append(l.hold, hold)
	}
	l.total, l.beyondHold, l.hold = sortedCopy(l.total), sortedCopy(l.beyondHold), sortedCopy(l.hold)
	return l
}
