package enrollment_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// Whoever may edit an enrollment, but not read the namespace's Secrets,
// learns nothing of them through it: a key named by accessTokenSecretRef
// that holds no access token of the pool is refused before it is hashed or
// sent to Cognito, so the status does not change with its value; and the
// inputs fingerprint is keyed, so no guess can be tested against it.
func TestStatusIsNoOracleForSecrets(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	before := fake.CallCounts()
	w.enrollment("probe", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) {
		accessTokenSpec(w, s)
		s.AccessTokenSecretRef = &v1alpha1.SecretKeySelector{Name: "creds", Key: "password"}
	})
	ste := w.waitStalled("probe", v1alpha1.ReasonInvalidAccessTokenSecret)
	if calls := callsSince(before); len(calls) != 0 {
		t.Fatalf("a key that holds no access token was sent to Cognito: %v", calls)
	}
	first := ste.Status.InputsFingerprint
	creds := w.getSecret("creds")
	creds.Data["password"] = []byte("a-guess-of-the-password")
	must(t, k8s.Update(ctx(), creds))
	time.Sleep(time.Second)
	if got := w.get("probe").Status.InputsFingerprint; got != first {
		t.Fatal("the status changed with the value of a key that holds no access token: it tells the value apart")
	}
	// The unkeyed hash earlier releases showed: generation, rotate request,
	// then each key and value.
	sum := sha256.Sum256([]byte(fmt.Sprintf("%d\x00\x00creds/password=%s\x00", ste.Generation, w.password)))
	if first == hex.EncodeToString(sum[:8]) {
		t.Fatal("the inputs fingerprint is an unkeyed hash of what a reader knows and the value")
	}
}
