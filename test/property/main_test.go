// Package property drives random sequences of events (reconciles, lost
// Cognito replies, crashes, spec and credential edits, rotation requests, a
// second enrollment of the same user, the passing of time, deletions with
// the garbage collector, the namespace controller and the seed guardian
// played by the harness) against the real reconcilers, synchronously and on
// a fake clock, and checks the operator's
// safety invariants after every step and its liveness at the end of each
// sequence. There is no manager: the test calls Reconcile itself, so every
// interleaving it explores is one it chose, and a seed reproduces it.
package property

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	ctrlenrollment "github.com/cognito-mfa-operator/cognito-mfa-operator/controllers/enrollment"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/controllers/seedstore"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// claimNamespace stands for the operator's own namespace.
const claimNamespace = "cognito-mfa-system"

var (
	// k8s is a direct client: no cache, so every read is the API server's truth.
	k8s client.Client
	// crashy is the reconciler's client: k8s, with injectable write faults and crashes.
	crashy *faultyClient
	fake   *cognitofake.Server
	clock  = &fakeClock{}
	r      *ctrlenrollment.Reconciler
	// faults tracks the faults injected into the fake and not yet consumed.
	faults = &faultTracker{}
	// logs receives the reconciler's log; each reconcile reads what it wrote.
	logs = &logBuffer{}
	// guardian is the seed guardian (controllers/seedstore), reconciled by the
	// harness's guard step.
	guardian *seedstore.Reconciler
	// clientset finalizes namespaces, as the namespace controller does.
	clientset kubernetes.Interface
	// worldStart is the fake clock when the sequence began.
	worldStart time.Time
)

// serverNow is the API server's clock: deletionTimestamps are its real
// time, and the fake clock's advance since the sequence began passes on it
// too, so that a deletion timeout elapses as the sequence's time passes.
func serverNow() time.Time { return time.Now().Add(clock.Now().Sub(worldStart)) }

// fakeClock is the time of the reconciler and of the Cognito fake (TOTP
// codes, token and session expiry), advanced only by the test.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// noEvents is an events.EventRecorder that drops every Event.
type noEvents struct{}

func (noEvents) Eventf(runtime.Object, runtime.Object, string, string, string, string, ...any) {}

func TestMain(m *testing.M) { os.Exit(runSuite(m)) }

func runSuite(m *testing.M) int {
	logger := zap.New(zap.WriteTo(logs), zap.Level(zapcore.DebugLevel))
	ctrl.SetLogger(logger)
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets, _ = filepath.Abs("../../bin/k8s")
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
	}
	cfg, err := env.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting envtest (run `make envtest-bins`): %v\n", err)
		return 1
	}
	defer func() { _ = env.Stop() }()

	// client-go's default of 5 requests per second would pace the test, not the API server.
	cfg.QPS, cfg.Burst = 1000, 2000

	clock.Set(time.Now().Truncate(time.Second))
	fake = cognitofake.New()
	fake.SetClock(clock.Now)
	fake.SetHook(hook)
	// Each sequence draws the fake's modes where the documents are silent
	// or AWS's behaviour is a choice (newWorld): replacement on association
	// (per test), turning TOTP off where MFA is required, the lockout,
	// one-time codes (VerifySoftwareToken's answer to a reused code is
	// pinned to "expired" for now: see newWorld).
	if err := fake.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer fake.Close()

	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = v1alpha1.AddToScheme(scheme)
	if k8s, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx := context.Background()
	if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: claimNamespace}}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	provider, err := cognito.NewProvider(ctx, cognito.Options{Endpoint: fake.URL(), DefaultRegion: "us-east-1", MaxAttempts: 1,
		Now: clock.Now})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if clientset, err = kubernetes.NewForConfig(cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	guardian = &seedstore.Reconciler{Client: k8s, APIReader: k8s, Recorder: noEvents{}, StoreNamespace: claimNamespace, Now: clock.Now}
	crashy = &faultyClient{Client: k8s}
	r = &ctrlenrollment.Reconciler{
		Client: crashy, APIReader: k8s, Recorder: noEvents{}, Cognito: provider, Now: clock.Now,
		RetryBase: time.Second, RetryMax: time.Minute, Timeout: 30 * time.Second,
		DeletionTimeout: 10 * time.Minute, ServerNow: serverNow, ClaimNamespace: claimNamespace, Transitions: transitions.add,
	}
	return m.Run()
}
