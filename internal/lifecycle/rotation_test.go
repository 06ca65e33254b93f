package lifecycle

import (
	"fmt"
	"testing"
)

// Every distinct rotate value means at most one rotation, ever.
func TestRotateValuesRotateOnce(t *testing.T) {
	var r Rotations
	steps := []struct {
		value   string
		handled bool // before it is added
	}{
		{"2026-11-28T12:00:00Z", false},
		{"2026-11-28T12:00:00Z", true},       // the same time again
		{"2026-11-28T11:00:00Z", true},       // an earlier time: a revert, no request
		{"2026-11-28T12:00:00.5Z", false},    // later, to the sub-second
		{"v1", false},                        // a committed value
		{"v2", false},                        // the next
		{"v1", true},                         // put back by a GitOps self-heal
		{"2026-11-28T12:00:00Z", true},       // a time older than the latest handled
		{"2026-11-28T13:00:00+02:00", true},  // 11:00 UTC: older too
		{"2026-11-28T14:00:00+01:00", false}, // 13:00 UTC: later
	}
	for i, s := range steps {
		if got := r.Handled(s.value); got != s.handled {
			t.Fatalf("step %d: Handled(%q) = %v, want %v (rotations %+v)", i, s.value, got, s.handled, r)
		}
		r.Add(s.value)
		if !r.Handled(s.value) {
			t.Fatalf("step %d: %q not handled once added", i, s.value)
		}
	}
}

// Other values are remembered up to a bound; the oldest go first.
func TestRotateValuesAreBounded(t *testing.T) {
	var r Rotations
	for i := range keptRotateValues + 3 {
		r.Add(fmt.Sprintf("v%d", i))
	}
	if len(r.Values) != keptRotateValues || r.Handled("v0") || !r.Handled(fmt.Sprintf("v%d", keptRotateValues+2)) {
		t.Fatalf("kept %v", r.Values)
	}
}
