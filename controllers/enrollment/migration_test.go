package enrollment_test

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/lifecycle"
)

// legacyAnnotations are the annotations releases up to chart 0.2.0 wrote
// for a record, one per field (the record annotation replaced them).
func legacyAnnotations(rec lifecycle.Record) map[string]string {
	p := v1alpha1.OperatorPrefix
	a := map[string]string{p + "enrolled-generation": "1", p + "enrolled-spec": rec.Seed.Spec,
		p + "secret-fingerprint": rec.Seed.Fingerprint, p + "user-pool": rec.Identity.Pool, p + "user": rec.Identity.User,
		p + "user-sub": rec.Identity.Sub, p + "sign-in-name": rec.Identity.SignInName, p + "client-id": rec.Identity.Client}
	if t := rec.Seed.EnrolledAt; t != nil {
		a[p+"enrolled-at"] = t.UTC().Format(time.RFC3339)
	}
	if n := len(rec.Rotations.Values); n > 0 {
		a[p+"rotate-handled"] = rec.Rotations.Values[n-1] // one value: the last handled
	} else if t := rec.Rotations.Latest; t != nil {
		a[p+"rotate-handled"] = t.UTC().Format(time.RFC3339Nano)
	}
	return a
}

// rewriteAsLegacy replaces the Secret's record with the annotations an
// earlier release wrote; drop names keys that release did not write yet.
func (w *world) rewriteAsLegacy(name string, drop ...string) {
	s := w.getSecret(name)
	a := legacyAnnotations(recordOf(s))
	for _, k := range drop {
		delete(a, v1alpha1.OperatorPrefix+k)
	}
	delete(s.Annotations, v1alpha1.AnnotationRecord)
	for k, v := range a {
		s.Annotations[k] = v
	}
	must(w.t, k8s.Update(ctx(), s))
}

// waitMigrated waits until the Secret carries the record and none of the
// annotations it replaced.
func (w *world) waitMigrated(name string) *corev1.Secret {
	w.t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		s := w.getSecret(name)
		_, legacy := s.Annotations[v1alpha1.OperatorPrefix+"secret-fingerprint"]
		if s.Annotations[v1alpha1.AnnotationRecord] != "" && !legacy && recordOf(s).Identity.Sub != "" {
			return s
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("the Secret was never migrated to the record: %v", s.Annotations)
		}
	}
}

// A Secret written by chart 0.2.0's release (one annotation per field) is
// migrated to the record on first sight, with no Cognito call: the record
// says the same, and the enrollment stays Ready.
func TestSecretFromThePreviousReleaseMigratesWithoutCognito(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOn)
	w.credentials()
	w.enrollment("prev")
	w.waitReady("prev")
	want := recordOf(w.getSecret("prev-totp"))
	seed := string(w.getSecret("prev-totp").Data[v1alpha1.KeySecret])
	before := fake.CallCounts()
	w.rewriteAsLegacy("prev-totp")
	s := w.waitMigrated("prev-totp")
	got := recordOf(s)
	got.Seed.Generation, want.Seed.Generation = 0, 0 // the generation is re-recorded as it changes
	if got.Encode() != want.Encode() || string(s.Data[v1alpha1.KeySecret]) != seed {
		t.Fatalf("migrated record\n%s\nwant\n%s", got.Encode(), want.Encode())
	}
	if calls := callsSince(before); len(calls) != 0 {
		t.Fatalf("the migration called Cognito: %v", calls)
	}
	if !isReady(w.get("prev")) {
		t.Fatal("not Ready after the migration")
	}
}

// A Secret from the release before that (no identity recorded) is migrated
// too: its seed is proven by signing in and the identity recorded, with no
// new association.
func TestSecretFromAnEarlierReleaseIsMigratedWithoutAssociation(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOn)
	w.credentials()
	w.enrollment("old")
	w.waitReady("old")
	seed := string(w.getSecret("old-totp").Data[v1alpha1.KeySecret])
	before := fake.CallCounts()
	w.rewriteAsLegacy("old-totp", "user-pool", "user", "user-sub", "sign-in-name", "enrolled-spec", "client-id")
	s := w.waitMigrated("old-totp")
	if rec := recordOf(s); string(s.Data[v1alpha1.KeySecret]) != seed || rec.Identity.User != w.username ||
		rec.Identity.Sub != fake.User(w.poolID, w.username).Sub {
		t.Fatalf("migrated record: %s", rec.Encode())
	}
	if got := callsSince(before)["AssociateSoftwareToken"]; got != 0 {
		t.Fatalf("%d associations to migrate a Secret", got)
	}
	if !isReady(w.get("old")) {
		t.Fatal("not Ready after the migration")
	}
}
