// Package metrics defines the operator's Prometheus metrics, served with
// controller-runtime's own on the manager's metrics endpoint.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

const namespace = "cognito_mfa"

var (
	// CognitoRequests counts Cognito requests (each attempt) by operation and
	// outcome: "success" or Cognito's exception name.
	CognitoRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "cognito_requests_total",
		Help: "Cognito requests by operation and outcome (success, or the exception name).",
	}, []string{"operation", "outcome"})

	// CognitoLatency is the latency of Cognito requests by operation.
	CognitoLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "cognito_request_duration_seconds",
		Help:    "Latency of Cognito requests by operation.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"operation"})

	// TimeToReady is how long enrollments took from creation to first Ready.
	TimeToReady = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: namespace, Name: "enrollment_time_to_ready_seconds",
		Help:    "Time from an enrollment's creation to its first Ready.",
		Buckets: prometheus.ExponentialBuckets(0.05, 2, 14),
	})

	// Rotations counts rotations by result.
	Rotations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "rotations_total",
		Help: "Secret rotations by result (success, failure).",
	}, []string{"result"})

	// Failures counts failed enrollment attempts by condition reason.
	Failures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "enrollment_failures_total",
		Help: "Failed enrollment attempts by condition reason.",
	}, []string{"reason"})

	// ImpossibleTransitions counts the (phase, event) pairs met that the
	// transitions table calls impossible: a bug, which is retried, never acted on.
	ImpossibleTransitions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "impossible_transitions_total",
		Help: "Reconciles that met a (phase, event) pair the transitions table calls impossible (a bug; nothing was done).",
	}, []string{"phase", "event"})
)

func init() {
	crmetrics.Registry.MustRegister(CognitoRequests, CognitoLatency, TimeToReady, Rotations, Failures, ImpossibleTransitions)
	// The API server's latency by verb, beside Cognito's: where a
	// reconcile's time goes (make bench reads both).
	crmetrics.RegisterRESTClientMetrics(crmetrics.MetricRequestLatency)
}

// ObserveCognito records one Cognito request.
func ObserveCognito(operation, outcome string, took time.Duration) {
	CognitoRequests.WithLabelValues(operation, outcome).Inc()
	CognitoLatency.WithLabelValues(operation).Observe(took.Seconds())
}
