package chart

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/metrics"
)

// alertsSpec is the spec (the rule groups) of config/prometheus/alerts.yaml.
func alertsSpec(t *testing.T) any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "config/prometheus/alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs := docs(t, string(data))
	if len(objs) != 1 || objs[0]["kind"] != "PrometheusRule" {
		t.Fatal("config/prometheus/alerts.yaml: want one PrometheusRule")
	}
	return jsonRoundTrip(t, objs[0]["spec"])
}

// promtoolRules writes rule groups as a plain rule file in dir.
func promtoolRules(t *testing.T, dir string, spec any) string {
	t.Helper()
	data, err := json.Marshal(spec) // JSON is YAML
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, "alerts.rules.yaml", string(data))
}

// TestAlertRules runs `promtool check rules` and `promtool test rules
// config/prometheus/alerts_test.yaml` on the alerts of
// config/prometheus/alerts.yaml (make test-alerts).
func TestAlertRules(t *testing.T) {
	needPromtool(t)
	dir := t.TempDir()
	rules := promtoolRules(t, dir, alertsSpec(t))
	tests, err := os.ReadFile(filepath.Join(root, "config/prometheus/alerts_test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "alerts_test.yaml", string(tests))
	out, err := runTool(t, dir, promtool, "check", "rules", rules)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(strings.TrimSpace(out))
	out, err = runTool(t, dir, promtool, "test", "rules", "alerts_test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	t.Log(strings.TrimSpace(out))
}

// TestAlertsRunbooks: every alert has a runbook annotation and a severity,
// and is unit-tested in alerts_test.yaml.
func TestAlertsRunbooks(t *testing.T) {
	tests, err := os.ReadFile(filepath.Join(root, "config/prometheus/alerts_test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(chartDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range alertsSpec(t).(map[string]any)["groups"].([]any) {
		for _, r := range g.(map[string]any)["rules"].([]any) {
			rule := r.(map[string]any)
			name, _ := rule["alert"].(string)
			if name == "" {
				continue
			}
			n++
			ann, _ := rule["annotations"].(map[string]any)
			if s, _ := ann["runbook"].(string); len(s) < 20 {
				t.Errorf("alert %s has no runbook annotation", name)
			}
			if labels, _ := rule["labels"].(map[string]any); labels["severity"] == nil {
				t.Errorf("alert %s has no severity", name)
			}
			if !strings.Contains(string(tests), "alertname: "+name) {
				t.Errorf("alert %s is not tested in alerts_test.yaml", name)
			}
			if !strings.Contains(string(readme), "### "+name) {
				t.Errorf("alert %s has no runbook section in the chart's README.md", name)
			}
			if expr, _ := rule["expr"].(string); !strings.Contains(string(readme), "`"+expr+"`") {
				t.Errorf("the chart's README.md does not show alert %s's expression %s", name, expr)
			}
		}
	}
	if n < 4 {
		t.Fatalf("%d alerts, want at least 4", n)
	}
}

// TestChartAlerts: the chart's PrometheusRule holds config/prometheus's
// rules, and promtool accepts them as rendered.
func TestChartAlerts(t *testing.T) {
	var got any
	for _, o := range docs(t, render(t, nil, "prometheusRule.enabled=true", "prometheusRule.labels.release=prom")) {
		if o["kind"] == "PrometheusRule" {
			got = jsonRoundTrip(t, o["spec"])
			if str(o, "metadata", "labels", "release") != "prom" {
				t.Error("prometheusRule.labels are not on the PrometheusRule")
			}
		}
	}
	if got == nil {
		t.Fatal("prometheusRule.enabled=true rendered no PrometheusRule")
	}
	if !reflect.DeepEqual(got, alertsSpec(t)) {
		t.Fatal("the chart's PrometheusRule differs from config/prometheus/alerts.yaml: run make chart")
	}
	for _, o := range docs(t, render(t, nil)) {
		if o["kind"] == "PrometheusRule" || o["kind"] == "ServiceMonitor" || o["kind"] == "ConfigMap" {
			t.Errorf("the default values render a %s", o["kind"])
		}
	}
	needPromtool(t)
	dir := t.TempDir()
	if _, err := runTool(t, dir, promtool, "check", "rules", promtoolRules(t, dir, got)); err != nil {
		t.Fatal(err)
	}
}

// TestServiceMonitor: plain HTTP by default, HTTPS with the ServiceAccount
// token when metrics.secure is set; it selects the metrics Service.
func TestServiceMonitor(t *testing.T) {
	for _, secure := range []string{"false", "true"} {
		objs := docs(t, render(t, nil, "serviceMonitor.enabled=true", "metrics.secure="+secure))
		var svcLabels map[string]any
		var sm map[string]any
		for _, o := range objs {
			switch o["kind"] {
			case "Service":
				svcLabels = o["metadata"].(map[string]any)["labels"].(map[string]any)
			case "ServiceMonitor":
				sm = o
			}
		}
		if sm == nil || svcLabels == nil {
			t.Fatalf("secure=%s: want a Service and a ServiceMonitor", secure)
		}
		spec := sm["spec"].(map[string]any)
		for k, v := range spec["selector"].(map[string]any)["matchLabels"].(map[string]any) {
			if svcLabels[k] != v {
				t.Errorf("secure=%s: the ServiceMonitor selects %s=%v, which the Service lacks", secure, k, v)
			}
		}
		ep := spec["endpoints"].([]any)[0].(map[string]any)
		wantScheme := map[string]string{"false": "http", "true": "https"}[secure]
		if ep["scheme"] != wantScheme || ep["port"] != "metrics" {
			t.Errorf("secure=%s: endpoint %v, want scheme %s on port metrics", secure, ep, wantScheme)
		}
		if (secure == "true") != (ep["bearerTokenFile"] != nil) {
			t.Errorf("secure=%s: bearerTokenFile %v", secure, ep["bearerTokenFile"])
		}
	}
}

// TestDashboard: the chart's ConfigMap holds config/grafana/dashboard.json,
// whose queries use only metrics the manager exports, with their labels, and
// cover what an operator of the operator needs to see.
func TestDashboard(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, "config/grafana/dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatalf("config/grafana/dashboard.json: %v", err)
	}
	var cm map[string]any
	for _, o := range docs(t, render(t, nil, "grafanaDashboard.enabled=true", "grafanaDashboard.namespace=monitoring")) {
		if o["kind"] == "ConfigMap" {
			cm = o
		}
	}
	if cm == nil {
		t.Fatal("grafanaDashboard.enabled=true rendered no ConfigMap")
	}
	if str(cm, "metadata", "namespace") != "monitoring" || str(cm, "metadata", "labels", "grafana_dashboard") != "1" {
		t.Errorf("the dashboard ConfigMap's namespace or sidecar label is wrong: %v", cm["metadata"])
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(str(cm, "data", "cognito-mfa-operator.json")), &got); err != nil {
		t.Fatalf("the ConfigMap's dashboard: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatal("the chart's dashboard differs from config/grafana/dashboard.json: run make chart")
	}

	var exprs []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if e, ok := v["expr"].(string); ok {
				exprs = append(exprs, e)
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(want)
	all := strings.Join(exprs, "\n")
	checkQueries(t, "config/grafana/dashboard.json", exprs)
	for _, m := range []string{
		"cognito_mfa_enrollments", "cognito_mfa_cognito_requests_total",
		"cognito_mfa_cognito_request_duration_seconds_bucket", "cognito_mfa_enrollment_time_to_ready_seconds_bucket",
		"cognito_mfa_enrollment_failures_total", "cognito_mfa_rotations_total",
	} {
		if !strings.Contains(all, m) {
			t.Errorf("the dashboard does not show %s", m)
		}
	}
	for _, q := range []string{"histogram_quantile(0.5, sum by (le, operation) (rate(cognito_mfa_cognito_request_duration_seconds_bucket",
		"histogram_quantile(0.99, sum by (le, operation) (rate(cognito_mfa_cognito_request_duration_seconds_bucket"} {
		if !strings.Contains(all, q) {
			t.Errorf("the dashboard lacks the Cognito latency query %s…", q)
		}
	}
	for name := range exportedMetrics(t) {
		if !strings.Contains(all, name) {
			t.Logf("the dashboard does not use %s", name)
		}
	}
	var alertExprs []string
	for _, g := range alertsSpec(t).(map[string]any)["groups"].([]any) {
		for _, r := range g.(map[string]any)["rules"].([]any) {
			alertExprs = append(alertExprs, r.(map[string]any)["expr"].(string))
		}
	}
	checkQueries(t, "config/prometheus/alerts.yaml", alertExprs)
}

// controllerRuntimeMetrics are controller-runtime's metrics the dashboard and
// alerts use (pkg/internal/controller/metrics, which cannot be imported), with
// their labels.
var controllerRuntimeMetrics = map[string][]string{
	"controller_runtime_reconcile_errors_total": {"controller"},
	"controller_runtime_reconcile_total":        {"controller", "result"},
}

// targetLabels are the labels a scrape adds, and le of histogram buckets.
var targetLabels = []string{"namespace", "job", "pod", "instance", "service", "endpoint", "container"}

var (
	metricRef = regexp.MustCompile(`\b((?:cognito_mfa|controller_runtime)_[a-z0-9_]+)(\{[^}]*\})?`)
	matcher   = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)`)
)

// checkQueries fails on a metric the manager does not export, or a label
// matcher on a label it does not have.
func checkQueries(t *testing.T, where string, exprs []string) {
	t.Helper()
	exported := exportedMetrics(t)
	for name, labels := range controllerRuntimeMetrics {
		exported[name] = labels
	}
	for _, e := range exprs {
		for _, m := range metricRef.FindAllStringSubmatch(e, -1) {
			name := m[1]
			labels, ok := exported[name]
			if !ok {
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if base, cut := strings.CutSuffix(name, suffix); cut {
						if labels, ok = exported[base]; ok {
							labels = append(labels, "le")
							break
						}
					}
				}
			}
			if !ok {
				t.Errorf("%s: %s is not a metric the manager exports (query %q)", where, name, e)
				continue
			}
			for _, l := range matcher.FindAllStringSubmatch(m[2], -1) {
				if !contains(labels, l[1]) && !contains(targetLabels, l[1]) {
					t.Errorf("%s: %s has no label %s (query %q)", where, name, l[1], e)
				}
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// exportedMetrics are the manager's own metrics (internal/metrics), with
// their variable labels.
func exportedMetrics(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	desc := regexp.MustCompile(`fqName: "([^"]+)".*variableLabels: \{([^}]*)\}`)
	ch := make(chan *prometheus.Desc, 64)
	for _, c := range []prometheus.Collector{metrics.CognitoRequests, metrics.CognitoLatency, metrics.TimeToReady, metrics.Rotations, metrics.Failures} {
		c.Describe(ch)
	}
	close(ch)
	for d := range ch {
		m := desc.FindStringSubmatch(d.String())
		if m == nil {
			t.Fatalf("cannot read the metric's name in %s", d)
		}
		var labels []string
		for _, l := range strings.Split(m[2], ",") {
			if l = strings.TrimSpace(l); l != "" {
				labels = append(labels, l)
			}
		}
		out[m[1]] = labels
	}
	// The enrollments gauge is collected at scrape time from a reader: an
	// empty one still yields every state.
	statesOnce(t)
	families, err := crmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "cognito_mfa_") || out[f.GetName()] != nil {
			continue
		}
		labels := map[string]bool{}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = true
			}
		}
		var list []string
		for l := range labels {
			list = append(list, l)
		}
		sort.Strings(list)
		out[f.GetName()] = list
	}
	if _, ok := out["cognito_mfa_enrollments"]; !ok {
		t.Fatal("cognito_mfa_enrollments is not exported")
	}
	return out
}

var statesRegistered bool

func statesOnce(t *testing.T) {
	t.Helper()
	if statesRegistered {
		return
	}
	if err := metrics.RegisterStates(emptyReader{}); err != nil {
		t.Fatal(err)
	}
	statesRegistered = true
}

// emptyReader finds nothing.
type emptyReader struct{}

func (emptyReader) Get(context.Context, client.ObjectKey, client.Object, ...client.GetOption) error {
	return nil
}

func (emptyReader) List(context.Context, client.ObjectList, ...client.ListOption) error { return nil }

// TestKustomizeMonitoring: config/prometheus (ServiceMonitor and alerts) and
// config/grafana (the dashboard's ConfigMap) build with kustomize and apply
// to a real API server (server-side dry run).
func TestKustomizeMonitoring(t *testing.T) {
	cp := controlPlane(t)
	createNamespaces(t, cp, nil, releaseNS)
	for _, dir := range []string{"config/prometheus", "config/grafana"} {
		t.Run(dir, func(t *testing.T) {
			out, err := cp.Kubectl(context.Background(), "kustomize", filepath.Join(root, dir))
			if err != nil {
				t.Fatal(err)
			}
			objs := docs(t, out)
			file := writeFile(t, t.TempDir(), "kustomized.yaml", out)
			applied, err := cp.Kubectl(context.Background(), "apply", "--server-side", "--dry-run=server",
				"--field-manager=chart-test", "-f", file)
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(applied, "(server dry run)"); n != len(objs) {
				t.Fatalf("the API server took %d objects of %d:\n%s", n, len(objs), applied)
			}
		})
	}
}
