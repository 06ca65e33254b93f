package enrollment

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/lifecycle"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/totp"
)

const (
	seedA = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	pool  = "us-east-1_Pool"
)

var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// enrolled is the observation of an enrollment whose Secret, owned and
// as written, records seedA proven for its current spec and user.
func enrolled() *observation {
	ste := &v1alpha1.SoftwareTokenEnrollment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "bot", UID: "uid-1", Generation: 3},
		Spec: v1alpha1.SoftwareTokenEnrollmentSpec{UserPoolID: pool, ClientID: "client",
			CredentialsSecretRef: &v1alpha1.LocalObjectReference{Name: "creds"}, MFAPreference: v1alpha1.MFAPreferencePreferred},
	}
	o := &observation{Observation: lifecycle.Observation{Enrollment: ste, Now: t0, SecretName: "bot-totp",
		In: lifecycle.Inputs{Username: "bot", Hash: "h1"}, Claim: lifecycle.Claim{Kind: lifecycle.ClaimMine}}}
	o.In.Pool = lifecycle.SettingsOf(ste, nil, "")
	at := t0.Add(-time.Hour)
	rec := lifecycle.Record{Identity: lifecycle.Identity{Pool: pool, User: "bot", Sub: "sub-1", Client: "client", SignInName: "bot"},
		Seed: lifecycle.Seed{Fingerprint: totp.Fingerprint(seedA), EnrolledAt: &at, Generation: 3, Spec: lifecycle.SpecHash(ste, o.In.Pool)}}
	o.setTarget(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "bot-totp", Namespace: "ns",
		Annotations:     map[string]string{v1alpha1.AnnotationRecord: rec.Encode()},
		OwnerReferences: []metav1.OwnerReference{{UID: "uid-1", Controller: ptrTrue()}}},
		Data: map[string][]byte{v1alpha1.KeySecret: []byte(seedA)}})
	return o
}

func ptrTrue() *bool { b := true; return &b }

// dueAfter asks for the work that is due right after a successful
// reconcile, which no echo of its own writes will start any more.
func TestDueAfter(t *testing.T) {
	clock := func() time.Time { return t0.Add(10 * time.Second) } // mid-step: no pause
	cases := []struct {
		name   string
		done   lifecycle.Plan
		step   lifecycle.Step
		change func(o *observation)
		want   time.Duration
	}{
		{"enrolled: nothing more", lifecycle.PlanEnroll, lifecycle.StepAssociate, func(*observation) {}, 0},
		{"promoted with a rotation requested meanwhile: rotate now", lifecycle.PlanPromoteVerified, lifecycle.StepPromote, func(o *observation) {
			o.Enrollment.Annotations = map[string]string{v1alpha1.AnnotationRotate: "r2"}
		}, time.Millisecond},
		{"the same plan again is never asked for at once", lifecycle.PlanRotate, lifecycle.StepAssociate, func(o *observation) {
			o.Enrollment.Annotations = map[string]string{v1alpha1.AnnotationRotate: "r3"}
		}, 0},
		{"the claim taken by this reconcile counts as held", lifecycle.PlanEnroll, lifecycle.StepAssociate, func(o *observation) {
			o.Claim = lifecycle.Claim{Kind: lifecycle.ClaimFree}
		}, 0},
		{"a claim observed free on the promote path is repaired next", lifecycle.PlanPromoteVerified, lifecycle.StepPromote, func(o *observation) {
			o.Claim = lifecycle.Claim{Kind: lifecycle.ClaimFree}
		}, time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := enrolled()
			tc.change(o)
			x := &run{r: &Reconciler{Now: clock}, o: o, t: lifecycle.Transition{Plan: tc.done}, step: tc.step}
			if got := x.dueAfter(); got != tc.want {
				t.Fatalf("dueAfter() = %v, want %v (decided %q)", got, tc.want, lifecycle.Decide(&o.Observation).Plan)
			}
		})
	}
}
