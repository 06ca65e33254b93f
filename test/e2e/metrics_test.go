package e2e

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

var sample = regexp.MustCompile(`(?m)^(cognito_mfa_\w+)(?:\{([^}]*)\})? ([0-9.e+-]+)$`)
var label = regexp.MustCompile(`(\w+)="([^"]*)"`)

// scrape reads the operator's metrics as name -> label set -> value.
func scrape(t *testing.T, url string) map[string]map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	out := map[string]map[string]float64{}
	for _, m := range sample.FindAllStringSubmatch(string(body), -1) {
		v, _ := strconv.ParseFloat(m[3], 64)
		if out[m[1]] == nil {
			out[m[1]] = map[string]float64{}
		}
		out[m[1]][m[2]] += v
	}
	return out
}

// byLabel sums a metric's samples by one label.
func byLabel(series map[string]float64, name string) map[string]float64 {
	out := map[string]float64{}
	for labels, v := range series {
		for _, l := range label.FindAllStringSubmatch(labels, -1) {
			if l[1] == name {
				out[l[2]] += v
			}
		}
	}
	return out
}

// The metrics endpoint agrees with what Cognito saw, and with the states.
func TestMetricsMatchCognito(t *testing.T) {
	addr := freeAddr(t) // nothing listens there yet
	r := &crashRig{t: t, ns: "metrics", fake: cognitofake.New(), args: []string{"--metrics-bind-address", addr}}
	if err := r.fake.Start(); err != nil {
		t.Fatal(err)
	}
	r.endpoint = r.fake.URL()
	r.launch()
	r.user("counted", cognitofake.MFAOptional)
	r.user("setup", cognitofake.MFAOn)
	r.fake.CreatePool("us-east-1_typo", cognitofake.MFAOptional, true)
	r.fake.CreateClient(cognitofake.AppClient{ID: "clienttypo", PoolID: "us-east-1_typo"})
	r.fake.CreateUser("us-east-1_typo", cognitofake.User{Username: "typo", Password: "right-password-1"})
	apply(t, credentialsManifest(r.ns, "typo-creds", "typo", "wrong-password-1")+"---\n"+
		enrollmentManifest(r.ns, "typo", "  userPoolID: us-east-1_typo\n  clientID: clienttypo\n  credentialsSecretRef: {name: typo-creds}"))
	waitReady(t, r.ns, "counted")
	waitReady(t, r.ns, "setup")
	waitCondition(t, r.ns, "typo", v1alpha1.ConditionStalled, "True", v1alpha1.ReasonInvalidCredentials)
	time.Sleep(500 * time.Millisecond)

	m := scrape(t, "http://"+addr+"/metrics")
	got := byLabel(m["cognito_mfa_cognito_requests_total"], "operation")
	for op, n := range r.fake.CallCounts() {
		if got[op] != float64(n) {
			t.Errorf("%s: metrics say %v requests, the fake saw %d", op, got[op], n)
		}
	}
	if outcomes := byLabel(m["cognito_mfa_cognito_requests_total"], "outcome"); outcomes["NotAuthorizedException"] < 1 || outcomes["success"] < 9 {
		t.Errorf("outcomes %v", outcomes)
	}
	states := byLabel(m["cognito_mfa_enrollments"], "state")
	if states["ready"] != 2 || states["stalled"] != 1 {
		t.Errorf("enrollments by state %v, want 2 ready and 1 stalled", states)
	}
	if n := m["cognito_mfa_enrollment_time_to_ready_seconds_count"][""]; n != 2 {
		t.Errorf("time-to-ready observations %v, want 2", n)
	}
	if n := byLabel(m["cognito_mfa_enrollment_failures_total"], "reason")[v1alpha1.ReasonInvalidCredentials]; n < 1 {
		t.Errorf("failures %v", m["cognito_mfa_enrollment_failures_total"])
	}
	if len(m["cognito_mfa_cognito_request_duration_seconds_count"]) == 0 {
		t.Error("no latency histogram")
	}
	t.Logf("scraped: requests by operation %v", fmt.Sprint(got))
}
