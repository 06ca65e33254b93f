package conditions

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestMarkersKeepOneMeaning(t *testing.T) {
	var c []metav1.Condition
	MarkNotReady(&c, 1, "Progressing", "working")
	MarkReconciling(&c, 1, "Progressing", "working")
	if !IsTrue(c, Reconciling) || Get(c, Stalled) != nil {
		t.Fatalf("reconciling: %+v", c)
	}
	MarkStalled(&c, 2, "InvalidCredentials", "wrong password")
	if Get(c, Reconciling) != nil || !IsTrue(c, Stalled) {
		t.Fatalf("stalled must remove Reconciling: %+v", c)
	}
	MarkReconciling(&c, 2, "Throttled", "backing off")
	if Get(c, Stalled) != nil {
		t.Fatalf("reconciling must remove Stalled: %+v", c)
	}
	MarkReady(&c, 3, "Enrolled", "done")
	if len(c) != 1 || !IsTrue(c, Ready) || c[0].ObservedGeneration != 3 {
		t.Fatalf("ready must leave only Ready: %+v", c)
	}
}
