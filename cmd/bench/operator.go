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
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/localenv"
)

const benchNS = "bench"

type operatorRun struct {
	c          config
	cog        *peer
	k8s        client.WithWatch
	mgr        *localenv.Manager
	metricsURL string
	pool       string
	client     string
	users      []string
}

// operatorPhase is the operator's run with its costs.
type operatorPhase struct {
	phase
	LatencyP50      float64            `json:"latencyP50Seconds"`
	LatencyP95      float64            `json:"latencyP95Seconds"`
	LatencyP99      float64            `json:"latencyP99Seconds"`
	APIPer          map[string]float64 `json:"apiRequestsPerEnrollment"`
	APIWritesPer    float64            `json:"apiWritesPerEnrollment"`
	ReconcilesPer   float64            `json:"reconcilesPerEnrollment"`
	CPUSeconds      float64            `json:"managerCPUSeconds"`
	CPUMillisPer    float64            `json:"managerCPUMillisPerEnrollment"`
	PeakRSSMiB      float64            `json:"managerPeakRSSMiB"`
	RepeatedCalls   int                `json:"repeatedCognitoCalls"`
	MinimalCallsPer int                `json:"minimalCallsPerEnrollment"`
}

func newOperatorRun(ctx context.Context, root, work string, cp *localenv.ControlPlane, cog *peer, c config) (*operatorRun, error) {
	scheme := runtime.NewScheme()
	_ = corev1.AddToScheme(scheme)
	_ = v1alpha1.AddToScheme(scheme)
	cfg := *cp.Config
	cfg.QPS, cfg.Burst = 500, 1000 // the driver must not be the bottleneck
	k, err := client.NewWithWatch(&cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	r := &operatorRun{c: c, cog: cog, k8s: k}
	if r.pool, r.client, r.users, err = cog.users(ctx, "op", c.n); err != nil {
		return nil, err
	}
	if err := k.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: benchNS}}); err != nil {
		return nil, err
	}
	// Credentials first: the measured phase is the operator's, not the driver's.
	if err := parallel(ctx, c.n, func(i int) error {
		return k.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: benchNS, Name: r.users[i]},
			StringData: map[string]string{"username": r.users[i], "password": benchPassword}})
	}); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	r.metricsURL = "http://" + addr + "/metrics"
	// Production settings, except pacing: the fake has no quota to respect,
	// and --cognito-qps would measure the limiter rather than the operator.
	args := append([]string{"--cognito-endpoint", cog.endpoint, "--region", "us-east-1", "--metrics-bind-address", addr,
		"--health-probe-bind-address", "0", "--max-concurrent-reconciles", fmt.Sprint(c.concurrency), "--cognito-qps", "0"},
		strings.Fields(c.managerArgs)...)
	r.mgr, err = localenv.StartManager(filepath.Join(root, "bin/manager"), cp.Kubeconfig, work, args...)
	if err != nil {
		return nil, err
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if _, err := scrape(r.metricsURL); err == nil {
			return r, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the manager's metrics never came up:\n%s", r.mgr.Log())
		}
	}
}

func (r *operatorRun) stop() { r.mgr.Stop() }

// enrolAll creates the enrollments and waits, watching, for every one to be Ready.
func (r *operatorRun) enrolAll(ctx context.Context) (*operatorPhase, error) {
	n := r.c.n
	before, err := scrape(r.metricsURL)
	if err != nil {
		return nil, err
	}
	calls0, cpu0 := r.cog.calls(), cpuSeconds(r.mgr.Pid())
	w, err := r.k8s.Watch(ctx, &v1alpha1.SoftwareTokenEnrollmentList{}, client.InNamespace(benchNS))
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	var mu sync.Mutex
	created := map[string]time.Time{}
	start := time.Now()
	go func() {
		_ = parallel(ctx, n, func(i int) error {
			ste := &v1alpha1.SoftwareTokenEnrollment{ObjectMeta: metav1.ObjectMeta{Namespace: benchNS, Name: r.users[i]},
				Spec: v1alpha1.SoftwareTokenEnrollmentSpec{UserPoolID: r.pool, ClientID: r.client,
					CredentialsSecretRef: &v1alpha1.LocalObjectReference{Name: r.users[i]}}}
			t := time.Now()
			err := r.k8s.Create(ctx, ste)
			mu.Lock()
			created[ste.Name] = t
			mu.Unlock()
			return err
		})
	}()
	ready := map[string]time.Time{}
	timeout := time.After(10 * time.Minute)
	for len(ready) < n {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				return nil, fmt.Errorf("watch closed with %d of %d Ready", len(ready), n)
			}
			ste, isSTE := ev.Object.(*v1alpha1.SoftwareTokenEnrollment)
			if ev.Type == watch.Modified && isSTE && meta.IsStatusConditionTrue(ste.Status.Conditions, v1alpha1.ConditionReady) {
				if _, seen := ready[ste.Name]; !seen {
					ready[ste.Name] = time.Now()
				}
			}
		case <-timeout:
			return nil, fmt.Errorf("%d of %d Ready after 10 minutes", len(ready), n)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	took := time.Since(start)
	time.Sleep(2 * time.Second) // let trailing reconciles and Events land before counting
	after, err := scrape(r.metricsURL)
	if err != nil {
		return nil, err
	}
	cpu := cpuSeconds(r.mgr.Pid()) - cpu0
	calls := diff(calls0, r.cog.calls())
	latencies := make([]float64, 0, n)
	mu.Lock()
	for name, t := range ready {
		latencies = append(latencies, t.Sub(created[name]).Seconds())
	}
	mu.Unlock()
	sort.Float64s(latencies)
	verbs := diff(byLabel(before, "rest_client_requests_total", "method"), byLabel(after, "rest_client_requests_total", "method"))
	op := &operatorPhase{
		phase: phase{Enrollments: n, Seconds: took.Seconds(), PerSecond: float64(n) / took.Seconds(),
			CallsPer: perEnrollment(calls, n)},
		LatencyP50: quantile(latencies, .50), LatencyP95: quantile(latencies, .95), LatencyP99: quantile(latencies, .99),
		APIPer:        perEnrollment(verbs, n),
		ReconcilesPer: (sum(after, "controller_runtime_reconcile_total") - sum(before, "controller_runtime_reconcile_total")) / float64(n),
		CPUSeconds:    cpu, CPUMillisPer: cpu * 1000 / float64(n),
		PeakRSSMiB:      float64(procStatus(r.mgr.Pid(), "VmHWM")) / 1024,
		MinimalCallsPer: 4,
	}
	for _, v := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		op.APIWritesPer += op.APIPer[v]
	}
	total := 0
	for _, v := range calls {
		total += v
	}
	op.RepeatedCalls = total - 4*n
	return op, nil
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
