package enrollment_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/controllers/clusteruserpool"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/controllers/enrollment"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/controllers/seedstore"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/clock"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/kube"
)

// The suite runs the reconciler in-process against a real kube-apiserver and
// etcd, and the real AWS SDK client against the strict Cognito fake.
// claimNamespace stands for the operator's own namespace.
const claimNamespace = "cognito-mfa-system"

// rightsName is the RoleBinding the suite's rights keeper guards (the
// chart's <release>-watched in namespace mode).
const rightsName = "manager-rights"

// retryBase and retryMax are the suite manager's backoff: tests that bound
// retries compute what its schedule allows from them.
const retryBase, retryMax = 200 * time.Millisecond, 2 * time.Second

var (
	// managerSkew sets the manager's clock off the real one, for the tests
	// of what a wrong clock does; the API server's stays right.
	managerSkew atomic.Int64
	managerNow  = func() time.Time { return time.Now().Add(time.Duration(managerSkew.Load())) }
	serverClock = &kube.ServerClock{Estimate: clock.Estimate{Local: managerNow}}
	k8s         client.Client
	cfg         *rest.Config
	fake        *cognitofake.Server
	logSink     = &syncBuffer{}
)

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	var sink io.Writer = logSink
	if os.Getenv("TEST_LOG") != "" { // the manager's log on stderr too, to debug a test
		sink = io.MultiWriter(logSink, os.Stderr)
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(sink), zap.UseDevMode(true), zap.Level(zapcore.DebugLevel)))
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets, _ = filepath.Abs("../../bin/k8s")
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
	}
	var err error
	cfg, err = env.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting envtest (run `make envtest-bins`): %v\n", err)
		return 1
	}
	defer func() { _ = env.Stop() }()

	fake = cognitofake.New()
	if err := fake.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer fake.Close()

	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = v1alpha1.AddToScheme(scheme)
	k8s, err = client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The manager learns the API server's clock from its answers, as in production.
	mgrCfg := rest.CopyConfig(cfg)
	mgrCfg.Wrap(serverClock.Wrap)
	cacheOpts := cache.Options{DefaultTransform: kube.TrimCache}
	seedstore.RightsCache(&cacheOpts, rightsName)
	mgr, err := ctrl.NewManager(mgrCfg, ctrl.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"},
		Cache: cacheOpts})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	provider, err := cognito.NewProvider(ctx, cognito.Options{Endpoint: fake.URL(), DefaultRegion: "us-east-1", MaxAttempts: 1,
		QPS: 100, Burst: 100, Now: managerNow})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	r := &enrollment.Reconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder("cognito-mfa-operator"),
		Cognito: provider, Now: managerNow, RetryBase: retryBase, RetryMax: retryMax, Timeout: 30 * time.Second,
		DeletionTimeout: 3 * time.Second, ClaimNamespace: claimNamespace, ServerNow: serverClock.Now,
	}
	if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: claimNamespace}}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := r.SetupWithManager(mgr, controller.Options{MaxConcurrentReconciles: 8}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	pools := &clusteruserpool.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(),
		ClusterResourceNamespace: claimNamespace, DefaultRegion: "us-east-1"}
	if err := pools.SetupWithManager(mgr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	guardian := &seedstore.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(),
		Recorder: mgr.GetEventRecorder("cognito-mfa-operator"), StoreNamespace: claimNamespace}
	if err := guardian.SetupWithManager(mgr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// The keeper of the namespace-mode rights, for every namespace here.
	if err := (&seedstore.Rights{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Name: rightsName}).SetupWithManager(mgr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "manager:", err)
		}
	}()
	code := m.Run()
	if code == 0 {
		if err := scanForLeaks(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	cancel()
	<-done
	return code
}
