package metrics

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
)

var enrollmentsDesc = prometheus.NewDesc(namespace+"_enrollments",
	"Enrollments by state: ready, reconciling, stalled, or unknown (not yet reconciled).", []string{"state"}, nil)

// states counts enrollments by condition at scrape time, from the
// manager's cache: always current, with nothing to keep in step.
type states struct{ reader client.Reader }

// RegisterStates adds the enrollments-by-state gauge, read from reader.
func RegisterStates(reader client.Reader) error {
	return crmetrics.Registry.Register(states{reader})
}

func (s states) Describe(ch chan<- *prometheus.Desc) { ch <- enrollmentsDesc }

func (s states) Collect(ch chan<- prometheus.Metric) {
	var list v1alpha1.SoftwareTokenEnrollmentList
	if err := s.reader.List(context.Background(), &list); err != nil {
		ch <- prometheus.NewInvalidMetric(enrollmentsDesc, err)
		return
	}
	counts := map[string]float64{"ready": 0, "reconciling": 0, "stalled": 0, "unknown": 0}
	for _, ste := range list.Items {
		conds := ste.Status.Conditions
		switch {
		case meta.IsStatusConditionTrue(conds, v1alpha1.ConditionReady):
			counts["ready"]++
		case meta.IsStatusConditionTrue(conds, v1alpha1.ConditionStalled):
			counts["stalled"]++
		case meta.IsStatusConditionTrue(conds, v1alpha1.ConditionReconciling):
			counts["reconciling"]++
		default:
			counts["unknown"]++
		}
	}
	for state, n := range counts {
		ch <- prometheus.MustNewConstMetric(enrollmentsDesc, prometheus.GaugeValue, n, state)
	}
}
