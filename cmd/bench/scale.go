package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// scaleRow is one point of the scale curve: n enrollments on the
// zero-latency fake, then a manager restart over them.
type scaleRow struct {
	Enrollments  int     `json:"enrollments"`
	Seconds      float64 `json:"secondsToAllReady"`
	PerSecond    float64 `json:"perSecond"`
	CPUMillisPer float64 `json:"managerCPUMillisPerEnrollment"`
	RSSMiB       float64 `json:"managerRSSMiB"`
	// RSSKiBPer is the RSS above the run with no enrollments, per enrollment.
	RSSKiBPer  float64 `json:"managerRSSKiBPerEnrollment"`
	IdleRSSMiB float64 `json:"idleManagerRSSMiB"`
	// APIMeanMillis is the API server's mean latency by verb during the run.
	APIMeanMillis  map[string]float64 `json:"apiMeanMillisByVerb"`
	SyncSeconds    float64            `json:"restartCacheSyncSeconds"`
	RestartCalls   int                `json:"restartCognitoCalls"`
	RestartWrites  float64            `json:"restartAPIWrites"`
	RestartSeconds float64            `json:"restartWindowSeconds"`
}

// restartWindow is how long after a restart's cache sync the curve counts
// Cognito calls and API writes: every enrollment is reconciled once then.
const restartWindow = 30 * time.Second

func scalePoint(ctx context.Context, base config, n int) (*scaleRow, error) {
	c := base
	c.n, c.cognitoLocal, c.latency, c.quota, c.probes, c.steady, c.secrets = n, false, 0, false, 0, 0, 0
	env, cleanup, err := start(ctx, c)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	step(fmt.Sprintf("scale curve: %d enrollments", n))
	op, err := newOperatorRun(ctx, env, c)
	if err != nil {
		return nil, err
	}
	defer op.stop()
	idle := float64(procStatus(op.mgr.Pid(), "VmRSS")) / 1024
	ph, err := op.enrolAll(ctx, n)
	if err != nil {
		return nil, err
	}
	row := &scaleRow{Enrollments: n, Seconds: ph.Seconds, PerSecond: ph.PerSecond, CPUMillisPer: ph.CPUMillisPer,
		RSSMiB: ph.RSSMiB, IdleRSSMiB: idle, RSSKiBPer: 1024 * (ph.RSSMiB - idle) / float64(n), APIMeanMillis: ph.APIMeanMillis}

	step("scale curve: restarting the manager over them")
	op.mgr.Stop()
	calls0 := env.cog.calls()
	started := time.Now()
	if err := op.startManager(); err != nil {
		return nil, err
	}
	for !workersStarted(op.mgr.Log()) {
		if time.Since(started) > 5*time.Minute {
			return nil, fmt.Errorf("the restarted manager's caches never synced:\n%s", op.mgr.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
	row.SyncSeconds = time.Since(started).Seconds()
	time.Sleep(restartWindow)
	after, err := scrape(op.metricsURL)
	if err != nil {
		return nil, err
	}
	for _, v := range diff(calls0, env.cog.calls()) {
		row.RestartCalls += v
	}
	verbs := byLabel(after, "rest_client_requests_total", "method")
	for _, v := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		row.RestartWrites += verbs[v]
	}
	row.RestartSeconds = time.Since(started).Seconds()
	return row, nil
}

// workersStarted says the enrollment controller's caches have synced: its
// workers start right after.
func workersStarted(log string) bool {
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "Starting workers") && strings.Contains(strings.ToLower(line), "softwaretokenenrollment") {
			return true
		}
	}
	return false
}
