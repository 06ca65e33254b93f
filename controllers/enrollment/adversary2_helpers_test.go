package enrollment_test

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/totp"
)

// a2Shape returns a description of every enrollment in ns whose conditions
// are not one of the kstatus shapes the README promises.
func a2Shape(ns string) []string {
	var list v1alpha1.SoftwareTokenEnrollmentList
	if err := k8s.List(ctx(), &list, client.InNamespace(ns)); err != nil {
		return nil
	}
	var out []string
	for _, ste := range list.Items {
		if ste.Status.ObservedGeneration == 0 {
			continue
		}
		r := meta.FindStatusCondition(ste.Status.Conditions, v1alpha1.ConditionReady)
		rec := meta.FindStatusCondition(ste.Status.Conditions, v1alpha1.ConditionReconciling)
		st := meta.FindStatusCondition(ste.Status.Conditions, v1alpha1.ConditionStalled)
		bad := ""
		switch {
		case r == nil:
			bad = "no Ready"
		case rec != nil && st != nil:
			bad = "Reconciling and Stalled both"
		case rec != nil && rec.Status != metav1.ConditionTrue, st != nil && st.Status != metav1.ConditionTrue:
			bad = "Reconciling/Stalled present but not True"
		case r.Status == metav1.ConditionFalse && rec == nil && st == nil && ste.DeletionTimestamp.IsZero():
			bad = "Ready=False with neither Reconciling nor Stalled"
		}
		if bad != "" {
			out = append(out, fmt.Sprintf("%s/%s: %s: %+v", ste.Namespace, ste.Name, bad, ste.Status.Conditions))
		}
	}
	return out
}

// a2ShapeWatch samples the shapes every 20 ms (stable over 150 ms) until stopped.
func a2ShapeWatch(namespaces ...string) func() []string {
	stop, done := make(chan struct{}), make(chan struct{})
	var found []string
	seen := map[string]time.Time{}
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			now := map[string]time.Time{}
			for _, ns := range namespaces {
				for _, s := range a2Shape(ns) {
					first, ok := seen[s]
					if !ok {
						first = time.Now()
					}
					now[s] = first
					if time.Since(first) > 150*time.Millisecond && !contains(found, s) {
						found = append(found, s)
					}
				}
			}
			seen = now
		}
	}()
	return func() []string { close(stop); <-done; return found }
}

// waitLateInStep waits until the TOTP step has between lo and hi left.
func waitLateInStep(lo, hi time.Duration) {
	for r := totp.Remaining(time.Now()); r > hi || r < lo; r = totp.Remaining(time.Now()) {
		time.Sleep(10 * time.Millisecond)
	}
}
