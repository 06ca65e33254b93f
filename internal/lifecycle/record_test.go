package lifecycle

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
)

// The record survives its annotation: what is written is what is read.
func TestRecordRoundTrips(t *testing.T) {
	at := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	until := at.Add(17 * time.Second)
	want := Record{SchemaVersion: SchemaVersion,
		Identity:  Identity{Pool: pool, User: "bot", Sub: "sub-1", Client: "client", SignInName: "bot@example.com"},
		Seed:      Seed{Fingerprint: fp(seedA), EnrolledAt: &at, Generation: 4, Spec: "34d9f36d3a63"},
		Pending:   Pending{Rotate: "r2", Verified: &Verified{Until: until, Fingerprint: fp(seedB), Inputs: "h1"}},
		Rotations: Rotations{Values: []string{"r1"}}, AssociatingSince: &at, RetainedFrom: "ns/bot"}
	got, err := ReadRecord(map[string]string{v1alpha1.AnnotationRecord: want.Encode()})
	if err != nil {
		t.Fatal(err)
	}
	if got.Encode() != want.Encode() {
		t.Fatalf("read back\n%s\nwant\n%s", got.Encode(), want.Encode())
	}
	if !strings.Contains(want.Encode(), `"schemaVersion":1`) {
		t.Fatalf("no schemaVersion in %s", want.Encode())
	}
}

// A record written by a newer release, or broken by an edit, is refused:
// the operator acts on nothing it would say.
func TestUnreadableRecordIsRefused(t *testing.T) {
	for name, v := range map[string]string{
		"newer schema": `{"schemaVersion":2,"identity":{"pool":"p","user":"u"}}`,
		"no schema":    `{"identity":{"pool":"p","user":"u"}}`,
		"not JSON":     `{"schemaVersion":1,`,
	} {
		_, err := ReadRecord(map[string]string{v1alpha1.AnnotationRecord: v})
		var unreadable *ErrUnreadable
		if !errors.As(err, &unreadable) {
			t.Errorf("%s: err %v, want ErrUnreadable", name, err)
		}
	}
}

// The annotations chart 0.2.0 wrote (one per field) become the same record.
func TestLegacyAnnotationsMigrate(t *testing.T) {
	p := v1alpha1.OperatorPrefix
	got, err := ReadRecord(map[string]string{
		p + "enrolled-generation": "4", p + "enrolled-spec": "34d9f36d3a63", p + "enrolled-at": "2026-11-28T12:00:00Z",
		p + "secret-fingerprint": fp(seedA), p + "rotate-handled": "r1", p + "user-pool": pool, p + "user": "bot",
		p + "user-sub": "sub-1", p + "sign-in-name": "bot@example.com", p + "client-id": "client",
		p + "pending-verified-until": "2026-11-28T12:00:17.5Z", p + "pending-fingerprint": fp(seedB),
		p + "pending-inputs": "h1", p + "pending-rotate": "r2", p + "associating": "2026-11-28T11:59:00Z",
		p + "retained-from": "ns/bot", "kubectl.kubernetes.io/last-applied-configuration": "{}",
	})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	assoc := at.Add(-time.Minute)
	want := Record{SchemaVersion: SchemaVersion,
		Identity: Identity{Pool: pool, User: "bot", Sub: "sub-1", Client: "client", SignInName: "bot@example.com"},
		Seed:     Seed{Fingerprint: fp(seedA), EnrolledAt: &at, Generation: 4, Spec: "34d9f36d3a63"},
		Pending: Pending{Rotate: "r2", Verified: &Verified{Until: at.Add(17500 * time.Millisecond), Fingerprint: fp(seedB),
			Inputs: "h1"}},
		Rotations: Rotations{Values: []string{"r1"}}, AssociatingSince: &assoc, RetainedFrom: "ns/bot"}
	if got.Encode() != want.Encode() {
		t.Fatalf("migrated\n%s\nwant\n%s", got.Encode(), want.Encode())
	}
}

// The first releases recorded no identity and no pending rotate request:
// the record then names no user, and the seed is proven before it vouches.
func TestLegacyAnnotationsWithoutIdentityMigrate(t *testing.T) {
	p := v1alpha1.OperatorPrefix
	got, err := ReadRecord(map[string]string{p + "enrolled-generation": "1", p + "enrolled-spec": "34d9f36d3a63",
		p + "enrolled-at": "2026-11-28T12:00:00Z", p + "secret-fingerprint": fp(seedA)})
	if err != nil {
		t.Fatal(err)
	}
	if got.HasIdentity() || got.Seed.Fingerprint != fp(seedA) || got.Seed.EnrolledAt == nil {
		t.Fatalf("migrated %s", got.Encode())
	}
	o := enrolled()
	o.Record = got
	if tr := Decide(o); tr.Phase != Unproven || tr.Plan != PlanRepair {
		t.Fatalf("a record without identity: %s × %s → %s, want Unproven → Repair", tr.Phase, tr.Event, tr.Plan)
	}
}

// A Secret without any record reads as an empty record.
func TestNoAnnotationsIsAnEmptyRecord(t *testing.T) {
	got, err := ReadRecord(nil)
	if err != nil || got.HasIdentity() || got.Seed.Fingerprint != "" {
		t.Fatalf("got %s, %v", got.Encode(), err)
	}
}

// After a rollback, an earlier release wrote its annotations over a Secret
// that has a record: they are the newer word, and win.
func TestLegacyAnnotationsWrittenAfterTheRecordWin(t *testing.T) {
	p := v1alpha1.OperatorPrefix
	stale := Record{Identity: Identity{Pool: pool, User: "bot"}, Seed: Seed{Fingerprint: fp(seedA)}}
	got, err := ReadRecord(map[string]string{v1alpha1.AnnotationRecord: stale.Encode(),
		p + "secret-fingerprint": fp(seedB), p + "user-pool": pool, p + "user": "bot"})
	if err != nil || got.Seed.Fingerprint != fp(seedB) {
		t.Fatalf("read %s, %v: the stale record won", got.Encode(), err)
	}
}
