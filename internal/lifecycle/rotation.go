package lifecycle

import (
	"slices"
	"time"
)

// keptRotateValues is how many rotate values other than times the record
// remembers: a GitOps tool reverting to one of them rotates nothing.
const keptRotateValues = 8

// Rotations are the rotate requests an enrollment has carried out. Every
// distinct value means at most one rotation, ever: a value that is an RFC
// 3339 time rotates only when it is later than the latest time handled
// (kubectl mfa rotate writes the current time; putting back an older one
// is no request), and any other value only once (the last several are
// remembered).
type Rotations struct {
	// Latest is the latest RFC 3339 value handled.
	Latest *time.Time `json:"latest,omitempty"`
	// Values are the last other values handled, oldest first.
	Values []string `json:"values,omitempty"`
}

// Handled says the value asks for no rotation any more.
func (r Rotations) Handled(value string) bool {
	if t, err := time.Parse(time.RFC3339Nano, value); err == nil {
		return r.Latest != nil && !t.After(*r.Latest)
	}
	return slices.Contains(r.Values, value)
}

// Add records a handled value.
func (r *Rotations) Add(value string) {
	if value == "" || r.Handled(value) {
		return
	}
	if t, err := time.Parse(time.RFC3339Nano, value); err == nil {
		t = t.UTC()
		r.Latest = &t
		return
	}
	r.Values = append(r.Values, value)
	if n := len(r.Values); n > keptRotateValues {
		r.Values = slices.Clone(r.Values[n-keptRotateValues:])
	}
}
