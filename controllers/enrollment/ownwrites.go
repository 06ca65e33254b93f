package enrollment

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ownWrites keeps the watch event that an enrollment's own Secret write
// causes from bringing the same enrollment back: the reconcile that wrote it
// already acted on it, and a second reconcile would only spend a worker and
// the API server's reads. Any other change still triggers.
//
// The event may arrive before the write's reply, so a write is registered
// before it is sent; events for that Secret meanwhile are held back and
// compared with the resourceVersion the reply brings: any other one (a
// change by someone else in between) makes the writer reconcile again.
// A nil *ownWrites suppresses nothing (a Reconciler driven by hand, as the
// property tests do).
type ownWrites struct {
	mu     sync.Mutex
	writes map[types.NamespacedName]*ownWrite
}

type ownWrite struct {
	enrollment types.NamespacedName
	// mine are the resourceVersions of its writes whose echo has not come.
	mine []string
	// inFlight: a write was sent and its reply has not come.
	inFlight bool
	// held are the resourceVersions of events that arrived in flight.
	held []string
}

// begin registers enrollment's write to secret.
func (w *ownWrites) begin(secret, enrollment types.NamespacedName) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.writes == nil {
		w.writes = map[types.NamespacedName]*ownWrite{}
	}
	own := w.writes[secret]
	if own == nil || own.enrollment != enrollment {
		own = &ownWrite{enrollment: enrollment}
		w.writes[secret] = own
	}
	own.inFlight = true
}

// end records the write's outcome: its resourceVersion, or "" when it
// failed. It says whether an event held back meanwhile was someone else's
// change, which the writer must then look at.
func (w *ownWrites) end(secret types.NamespacedName, resourceVersion string) (missed bool) {
	if w == nil {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	own := w.writes[secret]
	if own == nil {
		return false
	}
	own.inFlight = false
	if resourceVersion != "" {
		own.mine = append(own.mine, resourceVersion)
	}
	for _, rv := range own.held {
		if !own.consume(rv) {
			missed = true
		}
	}
	own.held = nil
	if missed || len(own.mine) == 0 {
		delete(w.writes, secret)
	}
	return missed
}

// consume says rv is one of the writes' own, and forgets it.
func (o *ownWrite) consume(rv string) bool {
	for i, mine := range o.mine {
		if mine == rv {
			o.mine = append(o.mine[:i], o.mine[i+1:]...)
			return true
		}
	}
	return false
}

// echo says an event for secret need not reconcile enrollment: it is that
// enrollment's own write, or held back until the write's reply says.
func (w *ownWrites) echo(secret client.Object, enrollment types.NamespacedName) bool {
	if w == nil {
		return false
	}
	key := client.ObjectKeyFromObject(secret)
	w.mu.Lock()
	defer w.mu.Unlock()
	own := w.writes[key]
	if own == nil || own.enrollment != enrollment {
		return false
	}
	if own.inFlight {
		own.held = append(own.held, secret.GetResourceVersion())
		return true
	}
	mine := own.consume(secret.GetResourceVersion())
	if !mine || len(own.mine) == 0 {
		delete(w.writes, key)
	}
	return mine
}
