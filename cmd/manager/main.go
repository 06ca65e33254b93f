// Command manager runs the cognito-mfa-operator controller.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/controllers/clusteruserpool"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/controllers/enrollment"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/controllers/seedstore"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/kube"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/metrics"
)

type options struct {
	metricsAddr, probeAddr string
	metricsSecure          bool
	leaderElect            bool
	leaderElectionNS       string
	namespaces             string
	namespaceRights        string
	logLevel               string
	cognito                cognito.Options
	concurrency            int
	timeout                time.Duration
	retryBase, retryMax    time.Duration
	deletionTimeout        time.Duration
	dormantRetention       time.Duration
	resyncPeriod           time.Duration
	kubeQPS                float64
	kubeBurst              int
	clusterResourceNS      string
	requireUserPoolRef     bool
	quotaShare             float64
	quotas, categoryQPS    string
}

func main() {
	var o options
	fs := flag.CommandLine
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", ":8080", "Address the Prometheus metrics endpoint binds to; \"0\" disables it.")
	fs.BoolVar(&o.metricsSecure, "metrics-secure", false, "Serve metrics over HTTPS (a self-signed certificate) to clients the API server authenticates (TokenReview) and authorizes (SubjectAccessReview for GET /metrics), as kubebuilder's scaffold does.")
	fs.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "Address the /healthz and /readyz probes bind to.")
	fs.BoolVar(&o.leaderElect, "leader-elect", false, "Elect a leader, so that only one replica reconciles at a time.")
	fs.StringVar(&o.leaderElectionNS, "leader-election-namespace", "", "Namespace of the leader-election Lease (default: the manager's own).")
	fs.StringVar(&o.namespaces, "namespaces", "", "Comma-separated namespaces to watch; empty watches all.")
	fs.StringVar(&o.namespaceRights, "namespace-rights", "",
		"With --namespaces: the name of the RoleBinding granting the manager its rights in each watched namespace. "+
			"It carries the finalizer "+v1alpha1.FinalizerRights+", which the manager lifts once a namespace being deleted holds nothing of the operator's (the chart sets this).")
	fs.StringVar(&o.logLevel, "log-level", "info", "Log level: debug, info or error.")
	fs.StringVar(&o.cognito.Endpoint, "cognito-endpoint", "", "Cognito endpoint URL, e.g. an emulator; overrides AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER.")
	fs.StringVar(&o.cognito.DefaultRegion, "region", "", "Region for user pools whose id names none (default: AWS_REGION / the shared config).")
	fs.DurationVar(&o.cognito.ConnectTimeout, "cognito-connect-timeout", 10*time.Second, "Timeout for connecting to Cognito, TLS handshake included.")
	fs.DurationVar(&o.cognito.ReadTimeout, "cognito-read-timeout", 30*time.Second, "Timeout for a Cognito connection that delivers no data.")
	fs.IntVar(&o.cognito.MaxAttempts, "cognito-max-attempts", 3, "Attempts per Cognito call, SDK retries included.")
	fs.Float64Var(&o.cognito.QPS, "cognito-qps", -1, "When set above 0, a cap on Cognito requests per second per region over all operations, on top of the per-category pacing; 0 disables pacing altogether; unset (-1): no cap.")
	fs.IntVar(&o.cognito.Burst, "cognito-burst", 10, "Requests allowed in a burst, per pacing bucket.")
	fs.Float64Var(&o.quotaShare, "cognito-quota-share", cognito.DefaultQuotaShare, "Share of each Cognito quota category (per account and Region) the operator paces itself to; end users' sign-ins use the same quotas.")
	fs.StringVar(&o.quotas, "cognito-quotas", "", "The account's quotas where they differ from AWS's defaults, e.g. UserAuthentication=200 after an increase (categories: UserAuthentication, RespondToAuthChallenge, UserUpdate, UserRead).")
	fs.StringVar(&o.categoryQPS, "cognito-category-qps", "", "Explicit pacing rates per category, overriding the share, e.g. UserUpdate=10,UserRead=50.")
	fs.Float64Var(&o.kubeQPS, "kube-api-qps", 200, "Requests per second to the Kubernetes API server (its priority and fairness still applies).")
	fs.IntVar(&o.kubeBurst, "kube-api-burst", 400, "Burst of requests to the Kubernetes API server.")
	fs.IntVar(&o.concurrency, "max-concurrent-reconciles", 4, "Enrollments reconciled at once.")
	fs.DurationVar(&o.timeout, "reconcile-timeout", 2*time.Minute, "Upper bound for one reconcile's Cognito calls.")
	fs.DurationVar(&o.retryBase, "retry-base-delay", 5*time.Second, "First retry delay after a transient failure; it doubles per failure.")
	fs.DurationVar(&o.retryMax, "retry-max-delay", 10*time.Minute, "Longest retry delay after repeated transient failures.")
	fs.DurationVar(&o.resyncPeriod, "resync-period", 30*time.Minute, "How often a Ready enrollment re-reads its Secret and its claim on the user (no Cognito call); 0 disables.")
	fs.DurationVar(&o.deletionTimeout, "deletion-timeout", 10*time.Minute, "How long deletionPolicy Disable keeps trying to reach Cognito before it keeps the seed instead (Retain), on the API server's clock.")
	fs.DurationVar(&o.dormantRetention, "dormant-seed-retention", 0, "How long the seed store keeps a dormant seed (TOTP turned off by Disable, confirmed; Cognito keeps the registration, so re-enabling TOTP brings it back); 0 keeps it until an administrator deletes it. Retained seeds are never deleted by the operator.")
	fs.StringVar(&o.clusterResourceNS, "cluster-resource-namespace", defaultNamespace(),
		"The operator's own namespace: the claims that keep two enrollments off one user live there, the seed store, and ClusterUserPools' client secrets by default (default: $POD_NAMESPACE, else cognito-mfa-operator-system).")
	fs.BoolVar(&o.requireUserPoolRef, "require-user-pool-ref", false,
		"Refuse enrollments that name their own user pool and app client (spec.userPoolID): only ClusterUserPools, chosen by cluster administrators, may be used (spec.userPoolRef).")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(fs)
	flag.Parse()

	level, err := parseLevel(o.logLevel)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if zapOpts.Level == nil {
		zapOpts.Level = level
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	quotas, err := cognito.ParseRates(o.quotas)
	if err == nil {
		var overrides map[string]float64
		if overrides, err = cognito.ParseRates(o.categoryQPS); err == nil {
			o.cognito.CategoryRates = cognito.CategoryRates(o.quotaShare, quotas, overrides)
		}
	}
	if err == nil && (o.quotaShare < 0 || o.quotaShare > 1) {
		err = fmt.Errorf("--cognito-quota-share must be between 0 and 1, not %v", o.quotaShare)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pacing flags:", err)
		os.Exit(2)
	}
	if err := run(ctrl.SetupSignalHandler(), o); err != nil {
		ctrl.Log.Error(err, "manager stopped")
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	log := ctrl.Log.WithName("setup")
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return err
	}
	cacheOpts := cache.Options{DefaultTransform: kube.TrimCache}
	var namespaces []string
	if o.namespaces != "" {
		cacheOpts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range strings.Split(o.namespaces, ",") {
			if ns = strings.TrimSpace(ns); ns != "" {
				cacheOpts.DefaultNamespaces[ns] = cache.Config{}
				namespaces = append(namespaces, ns)
			}
		}
	}
	if o.namespaceRights != "" && len(namespaces) > 0 {
		seedstore.RightsCache(&cacheOpts, o.namespaceRights)
	}
	restCfg := ctrl.GetConfigOrDie()
	restCfg.QPS, restCfg.Burst = float32(o.kubeQPS), o.kubeBurst
	// The deletion timeout runs on the API server's clock, learnt from its answers.
	serverClock := &kube.ServerClock{}
	restCfg.Wrap(serverClock.Wrap)
	mgr, err := ctrl.NewManager(restCfg, ctrl.Options{
		Scheme:                  scheme,
		Cache:                   cacheOpts,
		Metrics:                 metricsOptions(o),
		HealthProbeBindAddress:  o.probeAddr,
		LeaderElection:          o.leaderElect,
		LeaderElectionID:        "cognito-mfa-operator.mfa.cognito-operator.dev",
		LeaderElectionNamespace: o.leaderElectionNS,
		// A stopping leader hands the Lease back instead of letting it run
		// out (15 s): rollouts and failovers go on at once. Safe because the
		// process exits as soon as the manager stops.
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}
	provider, err := cognito.NewProvider(ctx, o.cognito)
	if err != nil {
		return err
	}
	secretEvents, err := kube.NewSecretEvents(restCfg, namespaces)
	if err != nil {
		return err
	}
	// The inputs fingerprints are keyed, so that a status tells nothing of
	// the Secrets they cover; the key is kept in the operator's namespace.
	direct, err := client.New(restCfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	fingerprintKey, err := kube.FingerprintKey(ctx, direct, o.clusterResourceNS)
	if err != nil {
		return fmt.Errorf("%w (the operator's namespace must exist: --cluster-resource-namespace)", err)
	}
	r := &enrollment.Reconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Recorder:  mgr.GetEventRecorder("cognito-mfa-operator"),
		Cognito:   provider,
		Now:       time.Now,
		RetryBase: o.retryBase,
		RetryMax:  o.retryMax,
		Timeout:   o.timeout,

		DeletionTimeout:    o.deletionTimeout,
		ServerNow:          serverClock.Now,
		FingerprintKey:     fingerprintKey,
		ResyncPeriod:       o.resyncPeriod,
		ClaimNamespace:     o.clusterResourceNS,
		RequireUserPoolRef: o.requireUserPoolRef,
		SecretEvents:       secretEvents,
	}
	if err := r.SetupWithManager(mgr, controller.Options{MaxConcurrentReconciles: o.concurrency}); err != nil {
		return fmt.Errorf("setting up controller: %w", err)
	}
	pools := &clusteruserpool.Reconciler{
		Client:                   mgr.GetClient(),
		APIReader:                mgr.GetAPIReader(),
		ClusterResourceNamespace: o.clusterResourceNS,
		DefaultRegion:            provider.DefaultRegion(),
		SecretEvents:             secretEvents,
	}
	if err := pools.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the ClusterUserPool controller: %w", err)
	}
	guardian := &seedstore.Reconciler{
		Client:           mgr.GetClient(),
		APIReader:        mgr.GetAPIReader(),
		Recorder:         mgr.GetEventRecorder("cognito-mfa-operator"),
		StoreNamespace:   o.clusterResourceNS,
		SecretEvents:     secretEvents,
		Namespaces:       namespaces,
		DormantRetention: o.dormantRetention,
	}
	if err := guardian.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the seed store: %w", err)
	}
	if o.namespaceRights != "" && len(namespaces) > 0 {
		rights := &seedstore.Rights{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Name: o.namespaceRights, Namespaces: namespaces}
		if err := rights.SetupWithManager(mgr); err != nil {
			return fmt.Errorf("setting up the rights keeper: %w", err)
		}
	}
	if err := metrics.RegisterStates(mgr.GetClient()); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return err
	}
	log.Info("starting manager", "cognitoEndpoint", o.cognito.Endpoint, "defaultRegion", provider.DefaultRegion(),
		"cognitoPacing", o.cognito.CategoryRates, "cognitoQPSCap", o.cognito.QPS,
		"namespaces", o.namespaces, "requireUserPoolRef", o.requireUserPoolRef)
	return mgr.Start(ctx)
}

// metricsOptions serves metrics in the clear, or, with --metrics-secure,
// over TLS to authenticated and authorized clients only (the ClusterRole
// config/rbac/metrics_reader_role.yaml grants a scraper GET /metrics).
func metricsOptions(o options) metricsserver.Options {
	opts := metricsserver.Options{BindAddress: o.metricsAddr}
	if o.metricsSecure {
		opts.SecureServing = true
		opts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	return opts
}

func defaultNamespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	return "cognito-mfa-operator-system"
}

func parseLevel(s string) (zapcore.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return zapcore.DebugLevel, nil
	case "info", "":
		return zapcore.InfoLevel, nil
	case "error":
		return zapcore.ErrorLevel, nil
	}
	return 0, fmt.Errorf("--log-level must be debug, info or error, not %q", s)
}
