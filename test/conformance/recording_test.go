package conformance

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/smithy-go"
)

// A real-account run writes what Cognito answered to testdata/, so that
// whoever runs the suite with an account once turns the fake's remaining
// guesses into facts, and a later change of AWS's behaviour shows up as a
// diff: TestConformanceRealPathOnFake replays the newest aws recording
// against the fake.

// recordingTargetAWS marks a recording made against a real account.
const recordingTargetAWS = "aws"

// observation is one answer, under its behaviour's name and a label
// ("SecretHash/InitiateAuthMissing"). An exception is its Code and Message;
// anything else is a Value ("success", "Status SUCCESS", "challenge …").
type observation struct {
	Behaviour string `json:"behaviour"`
	Code      string `json:"code,omitempty"`
	Message   string `json:"message,omitempty"`
	Value     string `json:"value,omitempty"`
}

func (o observation) answer() string {
	if o.Code != "" {
		return o.Code + ": " + o.Message
	}
	return o.Value
}

// recording is a run's observations.
type recording struct {
	Target string `json:"target"` // "aws" for a real account
	Date   string `json:"date"`   // RFC 3339, UTC
	Region string `json:"region"`
	// Ran are the behaviours that ran, so that a replay of a partial run
	// does not count what never ran as missing.
	Ran          []string      `json:"ran"`
	Observations []observation `json:"observations"`
}

// recorder collects a target's observations. It scrubs the names the run
// created (pool ids, client ids, usernames) from messages: they differ in
// every run.
type recorder struct {
	mu   sync.Mutex
	ids  map[string]string // value → placeholder
	obs  map[string]observation
	runs map[string]bool
}

func newRecorder() *recorder {
	return &recorder{ids: map[string]string{}, obs: map[string]observation{}, runs: map[string]bool{}}
}

// identify makes the recorder replace value by placeholder in messages.
func (r *recorder) identify(value, placeholder string) {
	if value == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids[value] = placeholder
}

func (r *recorder) scrub(msg string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	// Longest first: a username may contain a shorter id.
	vals := make([]string, 0, len(r.ids))
	for v := range r.ids {
		vals = append(vals, v)
	}
	sort.Slice(vals, func(i, j int) bool { return len(vals[i]) > len(vals[j]) })
	for _, v := range vals {
		msg = strings.ReplaceAll(msg, v, r.ids[v])
	}
	return msg
}

// behaviourName is the test's name below its target: TestConformance/fake/
// SecretHash → SecretHash.
func behaviourName(t *testing.T, tg *target) string {
	_, rest, ok := strings.Cut(t.Name(), "/"+tg.name+"/")
	if !ok {
		return t.Name()
	}
	return rest
}

// observe records err (nil: success) as the answer labelled label.
func (tg *target) observe(t *testing.T, label string, err error) {
	t.Helper()
	o := observation{Behaviour: behaviourName(t, tg) + "/" + label}
	var ae smithy.APIError
	switch {
	case err == nil:
		o.Value = "success"
	case errors.As(err, &ae):
		o.Code, o.Message = ae.ErrorCode(), tg.rec.scrub(ae.ErrorMessage())
	default:
		o.Value = "error: " + tg.rec.scrub(err.Error())
	}
	tg.rec.add(o)
}

// observeValue records a value that is not an error (a challenge name, a list).
func (tg *target) observeValue(t *testing.T, label, value string) {
	t.Helper()
	tg.rec.add(observation{Behaviour: behaviourName(t, tg) + "/" + label, Value: tg.rec.scrub(value)})
}

func (r *recorder) add(o observation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.obs[o.Behaviour] = o
}

func (r *recorder) ran(behaviour string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runs[behaviour] = true
}

// recording is what the recorder holds, sorted for stable files.
func (r *recorder) recording(target, region string, at time.Time) recording {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := recording{Target: target, Date: at.UTC().Format(time.RFC3339), Region: region}
	for b := range r.runs {
		rec.Ran = append(rec.Ran, b)
	}
	for _, o := range r.obs {
		rec.Observations = append(rec.Observations, o)
	}
	slices.Sort(rec.Ran)
	sort.Slice(rec.Observations, func(i, j int) bool { return rec.Observations[i].Behaviour < rec.Observations[j].Behaviour })
	return rec
}

// writeRecording writes rec to dir as <target>-<date>-<region>.json.
func writeRecording(dir string, rec recording) (string, error) {
	at, err := time.Parse(time.RFC3339, rec.Date)
	if err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-%s-%s.json", rec.Target, at.Format("20060102T150405Z"), rec.Region))
	return path, os.WriteFile(path, append(b, '\n'), 0o644)
}

// newestRecording is the most recent recording of target in dir (ok=false
// when there is none).
func newestRecording(dir, target string) (rec recording, path string, ok bool, err error) {
	files, err := filepath.Glob(filepath.Join(dir, target+"-*.json"))
	if err != nil {
		return recording{}, "", false, err
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return recording{}, "", false, err
		}
		var r recording
		if err := json.Unmarshal(b, &r); err != nil {
			return recording{}, "", false, fmt.Errorf("%s: %w", f, err)
		}
		if r.Target == target && (!ok || r.Date > rec.Date) { // RFC 3339 UTC sorts as text
			rec, path, ok = r, f, true
		}
	}
	return rec, path, ok, nil
}

// compareRecordings lists, one line per behaviour, where got answered
// otherwise than want. A behaviour want observed that got never ran is not
// compared; one got ran without observing it is a difference.
func compareRecordings(want, got recording) []string {
	answers := map[string]observation{}
	for _, o := range got.Observations {
		answers[o.Behaviour] = o
	}
	var diffs []string
	for _, w := range want.Observations {
		g, seen := answers[w.Behaviour]
		top, _, _ := strings.Cut(w.Behaviour, "/")
		switch {
		case !seen && slices.Contains(got.Ran, top):
			diffs = append(diffs, fmt.Sprintf("%s: %s answered %q, %s did not answer it", w.Behaviour, want.Target, w.answer(), got.Target))
		case seen && g != w:
			diffs = append(diffs, fmt.Sprintf("%s: %s answered %q, %s %q", w.Behaviour, want.Target, w.answer(), got.Target, g.answer()))
		}
	}
	return diffs
}

// The comparison names each behaviour that differs, and only those.
func TestCompareRecordings(t *testing.T) {
	aws := recording{Target: "aws", Ran: []string{"A", "B", "C"}, Observations: []observation{
		{Behaviour: "A/x", Code: "NotAuthorizedException", Message: "m"},
		{Behaviour: "B/y", Value: "challenge SOFTWARE_TOKEN_MFA"},
		{Behaviour: "C/z", Value: "success"},
	}}
	fake := func(change func(*recording)) recording {
		r := recording{Target: "fake", Ran: slices.Clone(aws.Ran), Observations: slices.Clone(aws.Observations)}
		change(&r)
		return r
	}
	for _, tc := range []struct {
		name string
		got  recording
		want []string // behaviours named
	}{
		{"same answers", fake(func(*recording) {}), nil},
		{"another message", fake(func(r *recording) { r.Observations[0].Message = "n" }), []string{"A/x"}},
		{"another value", fake(func(r *recording) { r.Observations[1].Value = "challenge MFA_SETUP" }), []string{"B/y"}},
		{"ran but did not answer", fake(func(r *recording) { r.Observations = r.Observations[:2] }), []string{"C/z"}},
		{"never ran", fake(func(r *recording) { r.Observations, r.Ran = r.Observations[:2], r.Ran[:2] }), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			diffs := compareRecordings(aws, tc.got)
			if len(diffs) != len(tc.want) {
				t.Fatalf("diffs %q, want %d naming %v", diffs, len(tc.want), tc.want)
			}
			for i, b := range tc.want {
				if !strings.HasPrefix(diffs[i], b+": ") {
					t.Errorf("diff %q does not name %s", diffs[i], b)
				}
			}
		})
	}
}

// replayAgainstFake is the replay of TestConformanceRealPathOnFake: the
// newest aws recording in testdata against what the fake answered on the
// same code path (got); then a fixture made from got with one answer
// changed, which must fail naming that behaviour alone.
func replayAgainstFake(t *testing.T, got recording) {
	t.Run("ReplayAWSRecording", func(t *testing.T) {
		rec, path, ok, err := newestRecording("testdata", recordingTargetAWS)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			t.Skip("no recording of a real-account run in test/conformance/testdata yet: `make e2e-aws` with COGNITO_CONFORMANCE_REGION and AWS credentials writes one")
		}
		t.Logf("replaying %s (%s, %s)", path, rec.Region, rec.Date)
		for _, d := range compareRecordings(rec, got) {
			t.Errorf("the fake differs from AWS: %s", d)
		}
	})
	t.Run("ReplayFailsOnAChangedAnswer", func(t *testing.T) {
		if len(got.Observations) == 0 {
			t.Fatal("the fake's run recorded nothing")
		}
		dir := t.TempDir()
		fixture := got
		fixture.Target = recordingTargetAWS
		fixture.Observations = slices.Clone(got.Observations)
		changed := &fixture.Observations[len(fixture.Observations)/2]
		changed.Code, changed.Message, changed.Value = "", "", "an answer the fake never gave"
		older := fixture
		older.Date = "2000-01-01T00:00:00Z"
		older.Observations = got.Observations // unchanged, and older: never the one replayed
		for _, r := range []recording{older, fixture} {
			if _, err := writeRecording(dir, r); err != nil {
				t.Fatal(err)
			}
		}
		rec, _, ok, err := newestRecording(dir, recordingTargetAWS)
		if err != nil || !ok || rec.Date != fixture.Date {
			t.Fatalf("newest recording %+v, %v: want the fixture", rec.Date, err)
		}
		diffs := compareRecordings(rec, got)
		if len(diffs) != 1 || !strings.HasPrefix(diffs[0], changed.Behaviour+": ") {
			t.Fatalf("replaying a fixture with %s changed: diffs %q, want one naming it", changed.Behaviour, diffs)
		}
		t.Logf("the replay fails as it should: %s", diffs[0])
	})
}
