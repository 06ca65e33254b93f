package enrollment_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/lifecycle"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/totp"
)

// Threat model: a tenant may create Secrets in its own namespace, including
// one named for its enrollment's secretName with a controller
// ownerReference to it. A forged record (pool, user, fingerprint, spec
// hash, sign-in name, all computable without Cognito) makes the enrollment
// UpToDate, and repairMetadata then takes the claim on ANY user of the
// pool: no password, no Cognito call. The user's legitimate enrollment in
// another namespace is then Stalled/DuplicateEnrollment.
func TestAdversary2ForgedRecordSquatsClaimOnAnotherTenantsUser(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	ns2 := strings.TrimRight(w.ns[:min(len(w.ns), 60)], "-") + "-x"
	must(t, k8s.Create(ctx(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns2}}))
	t.Cleanup(func() { _ = k8s.DeleteAllOf(ctx(), &v1alpha1.SoftwareTokenEnrollment{}, client.InNamespace(ns2)) })
	attacker := &world{t: t, ns: ns2, poolID: w.poolID, clientID: w.clientID, username: w.username, password: "not-the-password"}
	before := fake.CallCounts()
	attacker.enrollment("squat") // credentials Secret missing: waits, no Cognito call
	attacker.waitCondition("squat", v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.ReasonCredentialsSecretNotFound)
	squat := attacker.get("squat")
	seed := "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	sp := &squat.Spec
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s",
		w.poolID, sp.Region, w.clientID, "creds", "", "", sp.MFAPreference)))
	yes := true
	now := time.Now().UTC().Truncate(time.Second)
	forged := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns2, Name: "squat-totp",
		Labels: map[string]string{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue},
		Annotations: map[string]string{v1alpha1.AnnotationRecord: lifecycle.Record{
			Identity: lifecycle.Identity{Pool: w.poolID, User: w.username, SignInName: w.username, Client: w.clientID},
			Seed:     lifecycle.Seed{Spec: hex.EncodeToString(sum[:6]), EnrolledAt: &now, Generation: 1, Fingerprint: totp.Fingerprint(seed)},
		}.Encode()},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: v1alpha1.GroupVersion.String(), Kind: "SoftwareTokenEnrollment",
			Name: "squat", UID: squat.UID, Controller: &yes}}},
		Data: map[string][]byte{v1alpha1.KeySecret: []byte(seed)}}
	must(t, k8s.Create(ctx(), forged))
	attacker.credentials()
	// A claim is taken only after Cognito proves the seed: the forged record
	// gets the squatter a sign-in with the wrong password, nothing more.
	attacker.waitStalled("squat", v1alpha1.ReasonInvalidCredentials)
	t.Logf("attacker's enrollment stalled after Cognito calls %v", callsSince(before))

	// The victim tenant now enrolls its own user, with the right password.
	w.credentials()
	w.enrollment("victim")
	w.waitReady("victim")
	v := w.get("victim")
	t.Logf("victim: %+v", v.Status.Conditions)
	if c := findCond(v, v1alpha1.ConditionStalled); c != nil && c.Reason == v1alpha1.ReasonDuplicateEnrollment {
		t.Errorf("a tenant with neither the user's password nor any Cognito call holds the claim on %s: the user's real enrollment is Stalled/DuplicateEnrollment", w.username)
	}
}
