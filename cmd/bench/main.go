// Command bench measures the operator against a bare loop of the same
// Cognito calls: throughput, latency to Ready, calls and API writes per
// enrollment, the manager's CPU and memory, its steady state, its memory
// with many unrelated Secrets, its rate under Cognito's quotas with default
// flags, and how its costs grow with the number of enrollments. It writes
// docs/benchmarks.md, a JSON file and a PNG plot. Run it with `make bench`.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/localenv"
)

type config struct {
	n            int
	concurrency  int
	cognitoLocal bool
	latency      time.Duration
	// quota: the fake enforces Cognito's documented quotas and the manager
	// runs with its default pacing; the reference is the rate the pacing
	// allows, not the bare loop.
	quota   bool
	steady  time.Duration
	secrets int
	// probes is how many single enrollments to apply one at a time on the
	// idle manager, after the rest, for the latency of one.
	probes      int
	out         string
	managerArgs string
}

func main() {
	var c config
	suite := flag.Bool("suite", true, "run the standard configurations (fake, fake with 30ms, cognito-local, quota-bound, scale curve) instead of one")
	flag.IntVar(&c.n, "n", 0, "enrollments (default 1000 with the fake, 300 with cognito-local)")
	flag.IntVar(&c.concurrency, "concurrency", 8, "concurrent reconciles, and workers of the baseline loop")
	flag.BoolVar(&c.cognitoLocal, "cognito-local", false, "measure against cognito-local instead of the fake")
	flag.DurationVar(&c.latency, "latency", 0, "latency the fake adds to every Cognito call (e.g. 30ms)")
	flag.BoolVar(&c.quota, "quota", false, "the fake enforces Cognito's documented per-category quotas; the manager paces with its default flags")
	flag.DurationVar(&c.steady, "steady", 60*time.Second, "how long to watch the steady state after all are Ready")
	flag.IntVar(&c.secrets, "secrets", 20000, "unrelated 1 KiB Secrets for the memory phase (0 skips it)")
	flag.IntVar(&c.probes, "probes", 20, "single enrollments applied one at a time on the idle manager, for the latency of one (0 skips it)")
	flag.StringVar(&c.managerArgs, "manager-args", "", "extra manager flags, space separated, for tuning experiments")
	flag.StringVar(&c.out, "out", "docs/benchmarks", "output path without extension (.md, .json and .png are written)")
	render := flag.String("render", "", "write the document and plot again from a JSON file of an earlier run (its measurements, this code's text), instead of measuring")
	scaleFlag := flag.String("scale", "", "enrollment counts of the scale curve on the zero-latency fake, e.g. 1000,3000,10000 (the suite's default; empty skips it)")
	flag.Parse()
	configs := []config{c}
	scaleCounts := *scaleFlag
	if *suite {
		// The zero-latency fake measures the operator's own overhead, steady
		// state, memory and single-enrollment latency; the 30 ms fake and
		// cognito-local its throughput where Cognito takes time; the quota
		// run its rate with default flags under Cognito's quotas.
		withLatency, local, quota := c, c, c
		withLatency.latency, withLatency.steady, withLatency.secrets, withLatency.probes = 30*time.Millisecond, 0, 0, 0
		local.cognitoLocal, local.steady, local.secrets, local.probes = true, 0, 0, 0
		quota.quota, quota.latency, quota.steady, quota.secrets, quota.probes = true, 30*time.Millisecond, 0, 0, 0
		configs = []config{c, withLatency, local, quota}
		if scaleCounts == "" {
			scaleCounts = "1000,3000,10000"
		}
	}
	if *render != "" {
		doc := &report{}
		b, err := os.ReadFile(*render)
		if err == nil {
			err = json.Unmarshal(b, doc)
		}
		if err != nil {
			fail(err)
		}
		write(doc, c.out)
		return
	}
	counts, err := parseCounts(scaleCounts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: -scale:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	doc := &report{}
	for _, rc := range configs {
		if rc.n == 0 {
			rc.n = 1000
			if rc.cognitoLocal {
				rc.n = 300
			}
		}
		res, err := run(ctx, rc)
		if err != nil {
			fail(err)
		}
		doc.Results = append(doc.Results, res)
	}
	for _, n := range counts {
		point, err := scalePoint(ctx, c, n)
		if err != nil {
			fail(err)
		}
		doc.Scale = append(doc.Scale, point)
	}
	write(doc, c.out)
}

// write saves the document, the JSON of the measurements and the plot.
func write(doc *report, out string) {
	md := doc.markdown(filepath.Base(out) + ".png")
	fmt.Print(md)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		fail(err)
	}
	b, _ := json.MarshalIndent(doc, "", "  ")
	for path, data := range map[string][]byte{out + ".md": []byte(md), out + ".json": append(b, '\n')} {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			fail(err)
		}
	}
	if len(doc.Scale) > 0 {
		if err := plotScale(doc.Scale, out+".png"); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

func parseCounts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive count", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// environment is one fresh API server, Cognito peer and work directory.
type environment struct {
	root, work string
	cp         *localenv.ControlPlane
	cog        *peer
}

func start(ctx context.Context, c config) (*environment, func(), error) {
	root, _ := os.Getwd()
	work, err := os.MkdirTemp("", "cognito-mfa-bench-")
	if err != nil {
		return nil, nil, err
	}
	var stops []func()
	cleanup := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
		os.RemoveAll(work)
	}
	step("starting kube-apiserver and etcd")
	cp, err := localenv.StartControlPlane(root, work)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	stops = append(stops, cp.Stop)
	if _, err := cp.Kubectl(ctx, "apply", "-k", filepath.Join(root, "config/crd")); err != nil {
		cleanup()
		return nil, nil, err
	}
	step("starting Cognito")
	cog, err := newCognito(root, work, c)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	stops = append(stops, cog.stop)
	return &environment{root: root, work: work, cp: cp, cog: cog}, cleanup, nil
}

func run(ctx context.Context, c config) (*result, error) {
	env, cleanup, err := start(ctx, c)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	res := &result{Config: c.describe(), Date: time.Now().UTC().Format(time.RFC3339)}

	if c.quota {
		step("quota-bound: no bare loop; the reference is the rate the default pacing allows")
	} else {
		step(fmt.Sprintf("baseline: a bare loop of the Cognito calls for %d users, %d workers", c.n, c.concurrency))
		if res.Baseline, err = baseline(ctx, env.cog, c); err != nil {
			return nil, err
		}
	}

	step(fmt.Sprintf("operator: %d enrollments, manager process, %d concurrent reconciles", c.n, c.concurrency))
	op, err := newOperatorRun(ctx, env, c)
	if err != nil {
		return nil, err
	}
	defer op.stop()
	if res.Operator, err = op.enrolAll(ctx, c.n); err != nil {
		return nil, err
	}
	if res.Baseline != nil {
		res.Ratio = res.Operator.PerSecond / res.Baseline.PerSecond
	}
	if c.quota {
		res.Quota = quotaBound(res.Operator, env.cog)
		res.Ratio = res.Operator.PerSecond / res.Quota.BoundPerSecond
	}
	if c.steady > 0 {
		step(fmt.Sprintf("steady state: watching for %s", c.steady))
		if res.Steady, err = op.steady(ctx, c.steady); err != nil {
			return nil, err
		}
	}
	if c.probes > 0 {
		step(fmt.Sprintf("latency: %d single enrollments on the idle manager", c.probes))
		if res.Single, err = op.probe(ctx, c.probes); err != nil {
			return nil, err
		}
	}
	if c.secrets > 0 {
		step(fmt.Sprintf("memory: %d unrelated 1 KiB Secrets", c.secrets))
		if res.Memory, err = op.unrelatedSecrets(ctx, c.secrets); err != nil {
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
	return map[string]any{"enrollments": c.n, "concurrency": c.concurrency, "cognito": peer, "quota": c.quota,
		"fakeLatency": c.latency.String(), "steady": c.steady.String(), "unrelatedSecrets": c.secrets, "probes": c.probes,
		"managerArgs": c.managerArgs}
}

func step(s string) { fmt.Fprintf(os.Stderr, "==> %s\n", s) }
