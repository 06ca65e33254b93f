// Command bench measures the operator against a bare loop of the same
// Cognito calls: throughput, latency to Ready, calls and API writes per
// enrollment, the manager's CPU and memory, its steady state, and its memory
// with many unrelated Secrets. It writes docs/benchmarks.md and a JSON file.
// Run it with `make bench`.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/localenv"
)

type config struct {
	n            int
	concurrency  int
	cognitoLocal bool
	latency      time.Duration
	steady       time.Duration
	secrets      int
	out          string
	managerArgs  string
}

func main() {
	var c config
	suite := flag.Bool("suite", true, "run the three standard configurations (fake, fake with 30ms, cognito-local) instead of one")
	flag.IntVar(&c.n, "n", 0, "enrollments (default 1000 with the fake, 200 with cognito-local)")
	flag.IntVar(&c.concurrency, "concurrency", 8, "concurrent reconciles, and workers of the baseline loop")
	flag.BoolVar(&c.cognitoLocal, "cognito-local", false, "measure against cognito-local instead of the fake")
	flag.DurationVar(&c.latency, "latency", 0, "latency the fake adds to every Cognito call (e.g. 30ms)")
	flag.DurationVar(&c.steady, "steady", 60*time.Second, "how long to watch the steady state after all are Ready")
	flag.IntVar(&c.secrets, "secrets", 20000, "unrelated 1 KiB Secrets for the scale phase (0 skips it)")
	flag.StringVar(&c.managerArgs, "manager-args", "", "extra manager flags, space separated, for tuning experiments")
	flag.StringVar(&c.out, "out", "docs/benchmarks", "output path without extension (.md and .json are written)")
	flag.Parse()
	configs := []config{c}
	if *suite {
		// The full run with the zero-latency fake measures the operator's own
		// overhead, steady state and memory; the other two its throughput
		// where Cognito takes time.
		withLatency, local := c, c
		withLatency.latency, withLatency.steady, withLatency.secrets = 30*time.Millisecond, 0, 0
		local.cognitoLocal, local.steady, local.secrets = true, 0, 0
		configs = []config{c, withLatency, local}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var results []*result
	for _, rc := range configs {
		if rc.n == 0 {
			rc.n = 1000
			if rc.cognitoLocal {
				rc.n = 200
			}
		}
		res, err := run(ctx, rc)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		results = append(results, res)
	}
	md := document(results)
	fmt.Print(md)
	if err := os.MkdirAll(filepath.Dir(c.out), 0o755); err == nil {
		_ = os.WriteFile(c.out+".md", []byte(md), 0o644)
		b, _ := json.MarshalIndent(results, "", "  ")
		_ = os.WriteFile(c.out+".json", append(b, '\n'), 0o644)
	}
}

func run(ctx context.Context, c config) (*result, error) {
	root, _ := os.Getwd()
	work, err := os.MkdirTemp("", "cognito-mfa-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	res := &result{Config: c.describe(), Date: time.Now().UTC().Format(time.RFC3339)}

	step("starting kube-apiserver and etcd")
	cp, err := localenv.StartControlPlane(root, work)
	if err != nil {
		return nil, err
	}
	defer cp.Stop()
	if _, err := cp.Kubectl(ctx, "apply", "-k", filepath.Join(root, "config/crd")); err != nil {
		return nil, err
	}

	step("starting Cognito")
	cog, err := newCognito(ctx, root, work, c)
	if err != nil {
		return nil, err
	}
	defer cog.stop()

	step(fmt.Sprintf("baseline: a bare loop of the Cognito calls for %d users, %d workers", c.n, c.concurrency))
	if res.Baseline, err = baseline(ctx, cog, c); err != nil {
		return nil, err
	}

	step(fmt.Sprintf("operator: %d enrollments, manager process, %d concurrent reconciles", c.n, c.concurrency))
	op, err := newOperatorRun(ctx, root, work, cp, cog, c)
	if err != nil {
		return nil, err
	}
	defer op.stop()
	if res.Operator, err = op.enrolAll(ctx); err != nil {
		return nil, err
	}
	res.Ratio = res.Operator.PerSecond / res.Baseline.PerSecond

	if c.steady > 0 {
		step(fmt.Sprintf("steady state: watching for %s", c.steady))
		if res.Steady, err = op.steady(ctx, c.steady); err != nil {
			return nil, err
		}
	}
	if c.secrets > 0 {
		step(fmt.Sprintf("scale: %d unrelated 1 KiB Secrets", c.secrets))
		if res.Scale, err = op.scale(ctx, c.secrets); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func (c config) describe() map[string]any {
	peer := "project fake"
	if c.cognitoLocal {
		peer = "cognito-local 5.3.0"
	}
	return map[string]any{"enrollments": c.n, "concurrency": c.concurrency, "cognito": peer,
		"fakeLatency": c.latency.String(), "steady": c.steady.String(), "unrelatedSecrets": c.secrets, "managerArgs": c.managerArgs}
}

func step(s string) { fmt.Fprintf(os.Stderr, "==> %s\n", s) }
