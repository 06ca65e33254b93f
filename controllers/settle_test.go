package controllers

import (
	"testing"
	"time"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
)

// dueAfter asks for the work that is due right after a successful
// reconcile, which no echo of its own writes will start any more.
func TestDueAfter(t *testing.T) {
	clock := func() time.Time { return t0.Add(10 * time.Second) } // mid-step: no pause
	cases := []struct {
		name   string
		done   planName
		step   step
		change func(o *observation)
		want   time.Duration
	}{
		{"enrolled: nothing more", planEnroll, stepAssociate, func(*observation) {}, 0},
		{"promoted with a rotation requested meanwhile: rotate now", planPromoteVerified, stepPromote, func(o *observation) {
			o.ste.Annotations = map[string]string{v1alpha1.AnnotationRotate: "r2"}
		}, time.Millisecond},
		{"the same plan again is never asked for at once", planRotate, stepAssociate, func(o *observation) {
			o.ste.Annotations = map[string]string{v1alpha1.AnnotationRotate: "r3"}
		}, 0},
		{"the claim taken by this reconcile counts as held", planEnroll, stepAssociate, func(o *observation) {
			o.claim = claimState{state: claimFree}
		}, 0},
		{"a claim observed free on the promote path is repaired next", planPromoteVerified, stepPromote, func(o *observation) {
			o.claim = claimState{state: claimFree}
		}, time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := enrolled()
			o.target.Data = map[string][]byte{v1alpha1.KeySecret: []byte(seedA)} // as written
			tc.change(o)
			x := &run{r: &Reconciler{Now: clock}, o: o, p: plan{name: tc.done}, step: tc.step}
			if got := x.dueAfter(); got != tc.want {
				t.Fatalf("dueAfter() = %v, want %v (decided %q)", got, tc.want, decide(o).name)
			}
		})
	}
}
