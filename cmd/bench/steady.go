package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

type steadyPhase struct {
	Seconds     float64 `json:"seconds"`
	CognitoCall int     `json:"cognitoCalls"`
	APIWrites   float64 `json:"apiWrites"`
}

// steady watches a Ready fleet: nothing should be called or written.
func (r *operatorRun) steady(ctx context.Context, d time.Duration) (*steadyPhase, error) {
	before, err := scrape(r.metricsURL)
	if err != nil {
		return nil, err
	}
	calls0 := r.env.cog.calls()
	select {
	case <-time.After(d):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	after, err := scrape(r.metricsURL)
	if err != nil {
		return nil, err
	}
	out := &steadyPhase{Seconds: d.Seconds()}
	for _, v := range diff(calls0, r.env.cog.calls()) {
		out.CognitoCall += v
	}
	verbs := diff(byLabel(before, "rest_client_requests_total", "method"), byLabel(after, "rest_client_requests_total", "method"))
	for _, v := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		out.APIWrites += verbs[v]
	}
	return out, nil
}

type memoryPhase struct {
	Secrets       int     `json:"secrets"`
	RSSBeforeMiB  float64 `json:"rssBeforeMiB"`
	RSSAfterMiB   float64 `json:"rssAfterMiB"`
	GrowthPercent float64 `json:"growthPercent"`
	SecretDataMiB float64 `json:"secretDataMiB"`
}

// unrelatedSecrets adds unrelated Secrets to the cluster and compares the
// manager's RSS.
func (r *operatorRun) unrelatedSecrets(ctx context.Context, n int) (*memoryPhase, error) {
	out := &memoryPhase{Secrets: n, RSSBeforeMiB: float64(procStatus(r.mgr.Pid(), "VmRSS")) / 1024,
		SecretDataMiB: float64(n) / 1024}
	if err := r.k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "unrelated"}}); err != nil {
		return nil, err
	}
	payload := strings.Repeat("x", 1024)
	if err := parallel(ctx, n, func(i int) error {
		return r.k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "unrelated", Name: fmt.Sprintf("s%05d", i)},
			StringData: map[string]string{"data": payload}})
	}); err != nil {
		return nil, err
	}
	time.Sleep(10 * time.Second) // the manager's watch takes them all in
	out.RSSAfterMiB = float64(procStatus(r.mgr.Pid(), "VmRSS")) / 1024
	out.GrowthPercent = 100 * (out.RSSAfterMiB - out.RSSBeforeMiB) / out.RSSBeforeMiB
	return out, nil
}
