package main

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/localenv"
)

const benchNS = "bench"

type operatorRun struct {
	c          config
	env        *environment
	k8s        client.WithWatch
	mgr        *localenv.Manager
	args       []string
	metricsURL string
	pool       string
	client     string
	users      []string
	next       int // users[next:] have no enrollment yet
	track      *tracker
}

// operatorPhase is the operator's run with its costs.
type operatorPhase struct {
	// phase.Seconds is the wall time to all Ready; PerSecond counts a held
	// enrollment done when its verified seed was recorded (WorkSeconds).
	phase
	WorkSeconds float64 `json:"workSeconds"`
	LatencyP50  float64 `json:"latencyP50Seconds"`
	LatencyP95  float64 `json:"latencyP95Seconds"`
	LatencyP99  float64 `json:"latencyP99Seconds"`
	// Failed enrollments were ever Stalled or counted a failed attempt.
	Failed int `json:"failedEnrollments"`
	// Held is the share of enrollments whose new seed the one-time-code
	// rule held back (a Secret write, a status write and a reconcile more).
	Held          float64            `json:"heldShare"`
	APIPer        map[string]float64 `json:"apiRequestsPerEnrollment"`
	APIWritesPer  float64            `json:"apiWritesPerEnrollment"`
	ReconcilesPer float64            `json:"reconcilesPerEnrollment"`
	// Time spent, summed over reconciles, per enrollment: in reconciles, in
	// Cognito requests and in API-server requests (these overlap).
	ReconcileMillisPer float64 `json:"reconcileMillisPerEnrollment"`
	CognitoMillisPer   float64 `json:"cognitoMillisPerEnrollment"`
	APIMillisPer       float64 `json:"apiMillisPerEnrollment"`
	// APIMeanMillis is the API server's mean latency by verb, as the
	// manager saw it.
	APIMeanMillis map[string]float64 `json:"apiMeanMillisByVerb"`
	// CPUMillisPerByProcess is every process's CPU per enrollment: on two
	// shared cores, what the API server and etcd spend competes with Cognito.
	CPUMillisPerByProcess map[string]float64 `json:"cpuMillisPerEnrollmentByProcess"`
	CPUSeconds            float64            `json:"managerCPUSeconds"`
	CPUMillisPer          float64            `json:"managerCPUMillisPerEnrollment"`
	PeakRSSMiB            float64            `json:"managerPeakRSSMiB"`
	RSSMiB                float64            `json:"managerRSSMiB"`
	RepeatedCalls         int                `json:"repeatedCognitoCalls"`
	MinimalCallsPer       int                `json:"minimalCallsPerEnrollment"`
}

// flowCalls are the calls of one enrollment of a user without MFA:
// InitiateAuth, GetUser, AssociateSoftwareToken, VerifySoftwareToken and
// SetUserMFAPreference.
const flowCalls = 5

func newOperatorRun(ctx context.Context, env *environment, c config) (*operatorRun, error) {
	scheme := runtime.NewScheme()
	_ = corev1.AddToScheme(scheme)
	_ = v1alpha1.AddToScheme(scheme)
	cfg := *env.cp.Config
	cfg.QPS, cfg.Burst = 500, 1000 // the driver must not be the bottleneck
	k, err := client.NewWithWatch(&cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	r := &operatorRun{c: c, env: env, k8s: k}
	if r.pool, r.client, r.users, err = env.cog.users(ctx, "op", c.n+c.probes); err != nil {
		return nil, err
	}
	if err := k.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: benchNS}}); err != nil {
		return nil, err
	}
	// Credentials first: the measured phase is the operator's, not the driver's.
	if err := parallel(ctx, len(r.users), func(i int) error {
		return k.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: benchNS, Name: r.users[i]},
			StringData: map[string]string{"username": r.users[i], "password": benchPassword}})
	}); err != nil {
		return nil, err
	}
	if r.track, err = startTracker(ctx, k); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	r.metricsURL = "http://" + addr + "/metrics"
	// Production settings. Pacing is off unless the run is about the quotas:
	// it would measure the limiter, not the operator.
	r.args = []string{"--cognito-endpoint", env.cog.endpoint, "--region", "us-east-1", "--metrics-bind-address", addr,
		"--health-probe-bind-address", "0", "--max-concurrent-reconciles", fmt.Sprint(c.concurrency)}
	if !c.quota {
		r.args = append(r.args, "--cognito-qps", "0")
	}
	r.args = append(r.args, strings.Fields(c.managerArgs)...)
	if err := r.startManager(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *operatorRun) startManager() error {
	var err error
	r.mgr, err = localenv.StartManager(filepath.Join(r.env.root, "bin/manager"), r.env.cp.Kubeconfig, r.env.work, r.args...)
	if err != nil {
		return err
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := scrape(r.metricsURL); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the manager's metrics never came up:\n%s", r.mgr.Log())
		}
	}
}

func (r *operatorRun) stop() {
	r.mgr.Stop()
	r.track.stop()
}

// create applies enrollments for the next n users, from 16 workers, and
// returns their names.
func (r *operatorRun) create(ctx context.Context, n int) []string {
	names := r.users[r.next : r.next+n]
	r.next += n
	go func() {
		_ = parallel(ctx, n, func(i int) error {
			ste := &v1alpha1.SoftwareTokenEnrollment{ObjectMeta: metav1.ObjectMeta{Namespace: benchNS, Name: names[i]},
				Spec: v1alpha1.SoftwareTokenEnrollmentSpec{UserPoolID: r.pool, ClientID: r.client,
					CredentialsSecretRef: &v1alpha1.LocalObjectReference{Name: names[i]}}}
			r.track.created(names[i])
			return r.k8s.Create(ctx, ste)
		})
	}()
	return names
}

// enrolAll creates n enrollments at once and waits for every one to be Ready.
func (r *operatorRun) enrolAll(ctx context.Context, n int) (*operatorPhase, error) {
	before, err := scrape(r.metricsURL)
	if err != nil {
		return nil, err
	}
	calls0, cpu0 := r.env.cog.calls(), cpuSeconds(r.mgr.Pid())
	procs := r.processes()
	cpuAll0 := cpuByRole(procs)
	start := time.Now()
	names := r.create(ctx, n)
	if err := r.track.waitReady(ctx, names, 20*time.Minute); err != nil {
		return nil, err
	}
	took := time.Since(start)
	work := r.track.lastDone(names).Sub(start)
	time.Sleep(2 * time.Second) // let trailing reconciles and Events land before counting
	after, err := scrape(r.metricsURL)
	if err != nil {
		return nil, err
	}
	cpu := cpuSeconds(r.mgr.Pid()) - cpu0
	cpuAll := diff(cpuAll0, cpuByRole(procs))
	for role, v := range cpuAll {
		cpuAll[role] = 1000 * v / float64(n)
	}
	calls := diff(calls0, r.env.cog.calls())
	lat := r.track.latencies(names)
	verbs := diff(byLabel(before, "rest_client_requests_total", "method"), byLabel(after, "rest_client_requests_total", "method"))
	per := func(name string) float64 { return 1000 * (histSum(after, name) - histSum(before, name)) / float64(n) }
	op := &operatorPhase{
		phase: phase{Enrollments: n, Seconds: took.Seconds(), PerSecond: float64(n) / work.Seconds(),
			CallsPer: perEnrollment(calls, n)},
		WorkSeconds: work.Seconds(),
		LatencyP50:  quantile(lat.total, .50), LatencyP95: quantile(lat.total, .95), LatencyP99: quantile(lat.total, .99),
		Failed:             r.track.failed(names),
		Held:               heldShare(lat.hold),
		APIPer:             perEnrollment(verbs, n),
		ReconcilesPer:      (sum(after, "controller_runtime_reconcile_total") - sum(before, "controller_runtime_reconcile_total")) / float64(n),
		ReconcileMillisPer: per("controller_runtime_reconcile_time_seconds"),
		CognitoMillisPer:   per("cognito_mfa_cognito_request_duration_seconds"),
		APIMillisPer:       per("rest_client_request_duration_seconds"),
		APIMeanMillis:      histMeanBy(before, after, "rest_client_request_duration_seconds", "verb"),
		CPUSeconds:         cpu, CPUMillisPer: cpu * 1000 / float64(n),
		CPUMillisPerByProcess: cpuAll,
		PeakRSSMiB:            float64(procStatus(r.mgr.Pid(), "VmHWM")) / 1024,
		RSSMiB:                float64(procStatus(r.mgr.Pid(), "VmRSS")) / 1024,
		MinimalCallsPer:       flowCalls,
	}
	for _, v := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		op.APIWritesPer += op.APIPer[v]
	}
	total := 0
	for _, v := range calls {
		total += v
	}
	op.RepeatedCalls = total - flowCalls*n
	return op, nil
}

func heldShare(holds []float64) float64 {
	held := 0
	for _, h := range holds {
		if h > 0 {
			held++
		}
	}
	return float64(held) / float64(max(1, len(holds)))
}

func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

// parallel runs f for 0..n-1 on 16 workers and returns the first error.
func parallel(ctx context.Context, n int, f func(int) error) error {
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	next := make(chan int)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					once.Do(func() { first = err })
				}
			}
		}()
	}
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	return first
}

func sortedCopy(v []float64) []float64 {
	out := append([]float64(nil), v...)
	sort.Float64s(out)
	return out
}
