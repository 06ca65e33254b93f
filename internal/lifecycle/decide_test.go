package lifecycle

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/totp"
)

const (
	seedA = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	seedB = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"
	pool  = "us-east-1_Pool"
)

var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// enrolled is the observation of an enrollment whose Secret records seedA,
// proven for its current spec and user: the fast path.
func enrolled() *Observation {
	ste := &v1alpha1.SoftwareTokenEnrollment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "bot", UID: "uid-1", Generation: 3},
		Spec: v1alpha1.SoftwareTokenEnrollmentSpec{UserPoolID: pool, ClientID: "client",
			CredentialsSecretRef: &v1alpha1.LocalObjectReference{Name: "creds"}, MFAPreference: v1alpha1.MFAPreferencePreferred},
	}
	o := &Observation{Enrollment: ste, Now: t0, SecretName: "bot-totp", Ownership: OwnOwned, Active: fp(seedA),
		In: Inputs{Username: "bot", Hash: "h1"}, Claim: Claim{Kind: ClaimMine}}
	o.In.Pool = SettingsOf(ste, nil, "")
	enrolledAt := t0.Add(-time.Hour)
	o.Record = Record{SchemaVersion: SchemaVersion,
		Identity: Identity{Pool: pool, User: "bot", Sub: "sub-1", Client: "client", SignInName: "bot"},
		Seed:     Seed{Fingerprint: fp(seedA), EnrolledAt: &enrolledAt, Generation: 3, Spec: SpecHash(ste, o.In.Pool)}}
	return o
}

// fp is what the controller observes of a stored seed.
func fp(seed string) string { return totp.Fingerprint(seed) }

// noSecret is the observation of an enrollment whose Secret does not exist.
func noSecret(o *Observation) { o.Ownership, o.Active, o.Record = OwnNone, "", Record{} }

// viaPool turns the enrollment into one naming ClusterUserPool "ci", which
// has the inline form's pool and client, and lets change edit the pool.
func viaPool(change func(p *v1alpha1.ClusterUserPool)) func(o *Observation) {
	return func(o *Observation) {
		o.Enrollment.Spec.UserPoolRef = &v1alpha1.UserPoolReference{Name: "ci"}
		o.Enrollment.Spec.UserPoolID, o.Enrollment.Spec.ClientID = "", ""
		o.Pool = &v1alpha1.ClusterUserPool{ObjectMeta: metav1.ObjectMeta{Name: "ci"},
			Spec: v1alpha1.ClusterUserPoolSpec{UserPoolID: pool, ClientID: "client"}}
		if change != nil {
			change(o.Pool)
		}
	}
}

func allow(a *v1alpha1.AllowedNamespaces) func(p *v1alpha1.ClusterUserPool) {
	return func(p *v1alpha1.ClusterUserPool) { p.Spec.AllowedNamespaces = a }
}

func selectAllowed() *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{"allowed": "true"}}
}

func TestDecide(t *testing.T) {
	cases := []struct {
		name   string
		change func(o *Observation)
		want   Plan
		reason string
	}{
		{"fast path", func(*Observation) {}, PlanUpToDate, ""},
		{"a local spec edit needs no Cognito", func(o *Observation) {
			o.Enrollment.Generation++
			o.Enrollment.Spec.SecretTemplate = &v1alpha1.SecretTemplate{Labels: map[string]string{"team": "ci"}}
		}, PlanUpToDate, ""},
		{"a pruned credentials Secret does not unready a working enrollment", func(o *Observation) {
			o.In.Err = Wait(v1alpha1.ReasonCredentialsSecretNotFound, "waiting")
			o.In.Username = ""
		}, PlanUpToDate, ""},
		{"no Secret: enroll", func(o *Observation) {
			noSecret(o)
		}, PlanEnroll, ""},
		{"no Secret and no credentials: wait", func(o *Observation) {
			noSecret(o)
			o.In.Err = Wait(v1alpha1.ReasonCredentialsSecretNotFound, "waiting")
		}, PlanWait, v1alpha1.ReasonCredentialsSecretNotFound},
		{"someone else's Secret", func(o *Observation) {
			o.Ownership = OwnForeign
		}, PlanStall, v1alpha1.ReasonSecretConflict},
		{"a Secret retained by this name is adopted", func(o *Observation) {
			o.Ownership = OwnRetained
		}, PlanAdopt, ""},
		{"a staged seed is proven first", func(o *Observation) { o.Pending = fp(seedB) }, PlanResumePending, ""},
		{"pool changed: identity changed, no Cognito call", func(o *Observation) {
			o.Enrollment.Spec.UserPoolID = "us-east-1_Other"
		}, PlanStall, v1alpha1.ReasonIdentityChanged},
		{"username changed: ask Cognito who it is", func(o *Observation) { o.In.Username = "other" }, PlanRepair, ""},
		{"client changed: re-prove through it", func(o *Observation) { o.Enrollment.Spec.ClientID = "client2" }, PlanRepair, ""},
		{"preference changed", func(o *Observation) { o.Enrollment.Spec.MFAPreference = v1alpha1.MFAPreferenceEnabled }, PlanRepair, ""},
		{"secret edited by hand", func(o *Observation) { o.Active = fp(seedB) }, PlanRepair, ""},
		{"written by an earlier version: migrate", func(o *Observation) {
			o.Record.Identity.Pool = ""
		}, PlanRepair, ""},
		{"another enrollment claims the user", func(o *Observation) { o.Claim.Kind = ClaimOther }, PlanRepair, ""},
		{"a missing claim is re-proven, never taken on the record's word", func(o *Observation) { o.Claim.Kind = ClaimFree }, PlanRepair, ""},
		{"a DuplicateEnrollment is looked at again after RetryMax", func(o *Observation) {
			noSecret(o)
			o.Recheck = time.Minute
			o.Enrollment.Status = v1alpha1.SoftwareTokenEnrollmentStatus{ObservedGeneration: 3, InputsFingerprint: "h1",
				LastFailureTime: &metav1.Time{Time: t0.Add(-2 * time.Minute)},
				Conditions:      []metav1.Condition{{Type: v1alpha1.ConditionStalled, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonDuplicateEnrollment}}}
		}, PlanEnroll, ""},
		{"a DuplicateEnrollment is not looked at again before RetryMax", func(o *Observation) {
			noSecret(o)
			o.Recheck = time.Minute
			o.Enrollment.Status = v1alpha1.SoftwareTokenEnrollmentStatus{ObservedGeneration: 3, InputsFingerprint: "h1",
				LastFailureTime: &metav1.Time{Time: t0.Add(-30 * time.Second)},
				Conditions:      []metav1.Condition{{Type: v1alpha1.ConditionStalled, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonDuplicateEnrollment}}}
		}, PlanStall, v1alpha1.ReasonDuplicateEnrollment},
		{"rotate annotation", func(o *Observation) {
			o.Enrollment.Annotations = map[string]string{v1alpha1.AnnotationRotate: "r1"}
		}, PlanRotate, ""},
		{"rotate annotation already handled", func(o *Observation) {
			o.Enrollment.Annotations = map[string]string{v1alpha1.AnnotationRotate: "r1"}
			o.Record.Rotations.Add("r1")
		}, PlanUpToDate, ""},
		{"interval ran out", func(o *Observation) {
			o.Enrollment.Spec.Rotation = &v1alpha1.Rotation{Interval: &metav1.Duration{Duration: 30 * time.Minute}}
		}, PlanRotate, ""},
		{"a failed rotation's deferral holds", func(o *Observation) {
			o.Enrollment.Spec.Rotation = &v1alpha1.Rotation{Interval: &metav1.Duration{Duration: 30 * time.Minute}}
			o.Enrollment.Status.NextRotationTime = &metav1.Time{Time: t0.Add(time.Minute)}
			o.Enrollment.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionRotationFailed, Status: metav1.ConditionTrue}}
		}, PlanUpToDate, ""},
		{"backoff holds against any trigger", func(o *Observation) {
			o.Pending = fp(seedB)
			o.Enrollment.Status = v1alpha1.SoftwareTokenEnrollmentStatus{ObservedGeneration: 3, FailedAttempts: 2, InputsFingerprint: "h1",
				NextAttemptTime: &metav1.Time{Time: t0.Add(time.Minute)},
				Conditions:      []metav1.Condition{{Type: v1alpha1.ConditionReconciling, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonVerificationFailed}}}
		}, PlanBackoff, v1alpha1.ReasonVerificationFailed},
		{"new inputs cut the backoff short", func(o *Observation) {
			o.Pending = fp(seedB)
			o.Enrollment.Status = v1alpha1.SoftwareTokenEnrollmentStatus{ObservedGeneration: 3, FailedAttempts: 2, InputsFingerprint: "h0",
				NextAttemptTime: &metav1.Time{Time: t0.Add(time.Minute)}}
		}, PlanResumePending, ""},
		{"stalled on the same inputs makes no call", func(o *Observation) {
			o.Active = ""
			o.Enrollment.Status = v1alpha1.SoftwareTokenEnrollmentStatus{ObservedGeneration: 3, InputsFingerprint: "h1",
				Conditions: []metav1.Condition{{Type: v1alpha1.ConditionStalled, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonInvalidCredentials}}}
		}, PlanStall, v1alpha1.ReasonInvalidCredentials},
		{"template may not override the operator's annotations", func(o *Observation) {
			o.Enrollment.Spec.SecretTemplate = &v1alpha1.SecretTemplate{Annotations: map[string]string{v1alpha1.AnnotationRecord: "{}"}}
		}, PlanStall, v1alpha1.ReasonInvalidSpec},
		{"an inline pool is refused when userPoolRef is required", func(o *Observation) {
			o.RequireUserPoolRef = true
		}, PlanStall, v1alpha1.ReasonUserPoolRefRequired},
		{"a refused inline pool makes no call even without a seed", func(o *Observation) {
			o.RequireUserPoolRef = true
			noSecret(o)
		}, PlanStall, v1alpha1.ReasonUserPoolRefRequired},
		{"userPoolRef satisfies the requirement", func(o *Observation) {
			viaPool(nil)(o)
			o.RequireUserPoolRef = true
		}, PlanUpToDate, ""},
		{"moving to a ClusterUserPool of the same pool and client keeps the seed", viaPool(nil), PlanUpToDate, ""},
		{"the pool's client changed: re-prove through it", viaPool(func(p *v1alpha1.ClusterUserPool) {
			p.Spec.ClientID = "client2"
		}), PlanRepair, ""},
		{"the pool's client secret changed: re-prove", viaPool(func(p *v1alpha1.ClusterUserPool) {
			p.Spec.ClientSecretRef = &v1alpha1.ClusterSecretKeySelector{Name: "ci-client", Key: "secret"}
		}), PlanRepair, ""},
		{"the pool's id changed: identity changed, no Cognito call", viaPool(func(p *v1alpha1.ClusterUserPool) {
			p.Spec.UserPoolID = "us-east-1_Other"
		}), PlanStall, v1alpha1.ReasonIdentityChanged},
		{"a ClusterUserPool not created yet: wait, no Cognito call", func(o *Observation) {
			viaPool(nil)(o)
			o.Pool = nil
			noSecret(o)
			o.In.Err = Wait(v1alpha1.ReasonUserPoolNotFound, "waiting")
		}, PlanWait, v1alpha1.ReasonUserPoolNotFound},
		{"a ClusterUserPool gone under a stored seed: wait, the seed is not disowned", func(o *Observation) {
			viaPool(nil)(o)
			o.Pool = nil
			o.In.Err = Wait(v1alpha1.ReasonUserPoolNotFound, "waiting")
		}, PlanWait, v1alpha1.ReasonUserPoolNotFound},
		{"a ClusterUserPool not ready: wait", func(o *Observation) {
			viaPool(nil)(o)
			noSecret(o)
			o.In.Err = Wait(v1alpha1.ReasonUserPoolNotReady, "waiting")
		}, PlanWait, v1alpha1.ReasonUserPoolNotReady},
		{"allowedNamespaces absent: every namespace", viaPool(allow(nil)), PlanUpToDate, ""},
		{"allowedNamespaces names the namespace", viaPool(allow(&v1alpha1.AllowedNamespaces{Names: []string{"ns"}})),
			PlanUpToDate, ""},
		{"allowedNamespaces names others", viaPool(allow(&v1alpha1.AllowedNamespaces{Names: []string{"other"}})),
			PlanStall, v1alpha1.ReasonNamespaceNotAllowed},
		{"allowedNamespaces present but empty: none", viaPool(allow(&v1alpha1.AllowedNamespaces{})),
			PlanStall, v1alpha1.ReasonNamespaceNotAllowed},
		{"a namespace not allowed makes no call even without a seed", func(o *Observation) {
			viaPool(allow(&v1alpha1.AllowedNamespaces{}))(o)
			noSecret(o)
		}, PlanStall, v1alpha1.ReasonNamespaceNotAllowed},
		{"the selector matches the namespace's labels", func(o *Observation) {
			viaPool(allow(&v1alpha1.AllowedNamespaces{Names: []string{"other"}, Selector: selectAllowed()}))(o)
			o.NamespaceLabels = map[string]string{"allowed": "true"}
		}, PlanUpToDate, ""},
		{"the selector does not match", func(o *Observation) {
			viaPool(allow(&v1alpha1.AllowedNamespaces{Selector: selectAllowed()}))(o)
			o.NamespaceLabels = map[string]string{"allowed": "false"}
		}, PlanStall, v1alpha1.ReasonNamespaceNotAllowed},
		{"an invalid selector allows nothing", viaPool(allow(&v1alpha1.AllowedNamespaces{Selector: &metav1.LabelSelector{
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "allowed", Operator: "Sometimes"}}}})),
			PlanStall, v1alpha1.ReasonNamespaceNotAllowed},
		{"NamespaceNotAllowed lifts once allowed, with the same inputs", func(o *Observation) {
			viaPool(nil)(o)
			o.Enrollment.Status = v1alpha1.SoftwareTokenEnrollmentStatus{ObservedGeneration: 3, InputsFingerprint: "h1",
				Conditions: []metav1.Condition{{Type: v1alpha1.ConditionStalled, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonNamespaceNotAllowed}}}
		}, PlanUpToDate, ""},
		{"invalid label value is terminal before Cognito", func(o *Observation) {
			noSecret(o)
			o.Enrollment.Spec.SecretTemplate = &v1alpha1.SecretTemplate{Labels: map[string]string{"team": "not valid!"}}
		}, PlanStall, v1alpha1.ReasonInvalidSpec},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := enrolled()
			tc.change(o)
			o.In.Pool = SettingsOf(o.Enrollment, o.Pool, "cluster-ns") // as the controller resolves it
			if o.Enrollment.Spec.UserPoolRef != nil && o.Pool == nil {
				o.In.Pool = PoolSettings{}
			}
			p := Decide(o)
			if p.Plan != tc.want {
				t.Fatalf("plan %s (%s×%s: %s), want %s", p.Plan, p.Phase, p.Event, p.Why, tc.want)
			}
			if tc.reason != "" {
				if got := OutcomeOf(p.Err).Reason; got != tc.reason {
					t.Fatalf("reason %s, want %s", got, tc.reason)
				}
			}
		})
	}
}

// An inline spec hashes as earlier versions recorded it, so that an upgrade
// proves no seed again. Through a ClusterUserPool, the pool's id, client and
// client secret count, and its other fields do not.
func TestCognitoSpecHash(t *testing.T) {
	ste := enrolled().Enrollment
	if got := SpecHash(ste, SettingsOf(ste, nil, "")); got != "34d9f36d3a63" {
		t.Fatalf("inline hash %s changed", got)
	}
	ste.Spec.Region = "us-east-1"
	ste.Spec.ClientSecretRef = &v1alpha1.SecretKeySelector{Name: "client", Key: "secret"}
	if got := SpecHash(ste, SettingsOf(ste, nil, "")); got != "e42bf0dd6eb3" {
		t.Fatalf("inline hash with a client secret %s changed", got)
	}

	hash := func(change func(p *v1alpha1.ClusterUserPool), clusterNamespace string) string {
		o := enrolled()
		viaPool(func(p *v1alpha1.ClusterUserPool) {
			p.Spec.ClientSecretRef = &v1alpha1.ClusterSecretKeySelector{Name: "ci-client", Key: "secret"}
			change(p)
		})(o)
		return SpecHash(o.Enrollment, SettingsOf(o.Enrollment, o.Pool, clusterNamespace))
	}
	base := hash(func(*v1alpha1.ClusterUserPool) {}, "ns-a")
	for name, change := range map[string]func(p *v1alpha1.ClusterUserPool){
		"allowedNamespaces": func(p *v1alpha1.ClusterUserPool) { p.Spec.AllowedNamespaces = &v1alpha1.AllowedNamespaces{} },
		"labels":            func(p *v1alpha1.ClusterUserPool) { p.Labels = map[string]string{"team": "ci"} },
		"status":            func(p *v1alpha1.ClusterUserPool) { p.Status.Enrollments = 7 },
	} {
		if hash(change, "ns-a") != base {
			t.Errorf("%s changed the hash", name)
		}
	}
	for name, change := range map[string]func(p *v1alpha1.ClusterUserPool){
		"userPoolID":          func(p *v1alpha1.ClusterUserPool) { p.Spec.UserPoolID = "us-east-1_Other" },
		"clientID":            func(p *v1alpha1.ClusterUserPool) { p.Spec.ClientID = "client2" },
		"clientSecretRef key": func(p *v1alpha1.ClusterUserPool) { p.Spec.ClientSecretRef.Key = "other" },
		"clientSecretRef namespace": func(p *v1alpha1.ClusterUserPool) {
			p.Spec.ClientSecretRef.Namespace = "elsewhere"
		},
		"no clientSecretRef": func(p *v1alpha1.ClusterUserPool) { p.Spec.ClientSecretRef = nil },
	} {
		if hash(change, "ns-a") == base {
			t.Errorf("%s did not change the hash", name)
		}
	}
	if hash(func(*v1alpha1.ClusterUserPool) {}, "ns-b") == base {
		t.Error("the client secret's default namespace did not change the hash")
	}
}

func TestDecideAfterSignIn(t *testing.T) {
	me := Identity{Pool: pool, User: "bot", Sub: "sub-1"}
	cases := []struct {
		name   string
		plan   Plan
		change func(o *Observation)
		view   View
		want   Step
		reason string
	}{
		{"no factor: associate", PlanEnroll, nil, View{ID: me, Setup: true}, StepAssociate, ""},
		{"staged seed proven: promote it, never associate", PlanResumePending, func(o *Observation) { o.Pending = fp(seedB) },
			View{ID: me, HasToken: true, Proven: v1alpha1.KeyPendingSecret}, StepPromote, ""},
		{"stored secret proven: keep it", PlanRepair, nil, View{ID: me, HasToken: true, Proven: v1alpha1.KeySecret}, StepKeep, ""},
		{"rotation with the secret proven: associate", PlanRotate, nil,
			View{ID: me, HasToken: true, Proven: v1alpha1.KeySecret}, StepAssociate, ""},
		{"a token no seed proves is never replaced", PlanEnroll, func(o *Observation) { o.Active = "" },
			View{ID: me, HasToken: true}, "", v1alpha1.ReasonAlreadyEnrolled},
		{"stored seeds no longer answer", PlanRepair, nil, View{ID: me, HasToken: true}, "", v1alpha1.ReasonAlreadyEnrolled},
		{"another user", PlanRepair, nil, View{ID: Identity{Pool: pool, User: "other", Sub: "sub-2"}, HasToken: true},
			"", v1alpha1.ReasonIdentityChanged},
		{"an alias of the same user is the same identity", PlanRepair, nil,
			View{ID: Identity{Pool: pool, User: "bot", Sub: "sub-1"}, Proven: v1alpha1.KeySecret, HasToken: true}, StepKeep, ""},
		{"another enrollment holds the claim", PlanEnroll, func(o *Observation) { o.Active, o.Record = "", Record{} },
			View{ID: me, Setup: true, Claim: Claim{Kind: ClaimOther, Holder: Holder{Namespace: "ns", Name: "first"}}},
			"", v1alpha1.ReasonDuplicateEnrollment},
		{"MFA_SETUP through another client never overwrites a staged seed", PlanResumePending,
			func(o *Observation) {
				o.Active, o.Pending, o.Record.Pending = "", fp(seedB), Pending{Rotate: ""}
				o.In.Pool.ClientID = "other-client"
			},
			View{ID: me, Setup: true}, "", v1alpha1.ReasonIdentityChanged},
		{"a proven seed wins the claim", PlanRepair, nil,
			View{ID: me, HasToken: true, Proven: v1alpha1.KeySecret, Claim: Claim{Kind: ClaimOther}}, StepKeep, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := enrolled()
			if tc.change != nil {
				tc.change(o)
			}
			v := tc.view
			got := AfterSignIn(o, tc.plan, &v)
			if tc.reason != "" {
				if got.Err == nil || OutcomeOf(got.Err).Reason != tc.reason {
					t.Fatalf("got %s, %v; want reason %s", got.Step, got.Err, tc.reason)
				}
				return
			}
			if got.Err != nil || got.Step != tc.want {
				t.Fatalf("got %s, %v; want %s", got.Step, got.Err, tc.want)
			}
		})
	}
}

func TestDuplicateMessageNamesOnlySameNamespace(t *testing.T) {
	o := enrolled()
	o.Active, o.Record = "", Record{}
	v := View{ID: Identity{Pool: pool, User: "bot"}, Setup: true,
		Claim: Claim{Kind: ClaimOther, Holder: Holder{Namespace: "tenant-b", Name: "secret-project"}}}
	got := AfterSignIn(o, PlanEnroll, &v)
	if msg := OutcomeOf(got.Err).Message; strings.Contains(msg, "tenant-b") || strings.Contains(msg, "secret-project") {
		t.Fatalf("message leaks another tenant's enrollment: %s", msg)
	}
}

// The step-end gate and its pause both read Cognito's clock: a manager
// whose clock is off by any amount wakes after Cognito's step has turned,
// never in the same last seconds again (a pause on the manager's clock
// would land there step after step).
func TestStepEndPauseFollowsCognitosClock(t *testing.T) {
	for _, offset := range []time.Duration{-2900 * time.Millisecond, -100 * time.Millisecond, 27 * time.Second, 61 * time.Second, -5 * time.Minute} {
		o := enrolled()
		o.Enrollment.Annotations = map[string]string{v1alpha1.AnnotationRotate: "r1"}
		o.StepNow = t0.Add(28 * time.Second) // Cognito: 2 s left in its step
		o.Now = o.StepNow.Add(-offset)
		tr := Decide(o)
		if tr.Event != StepEndingSoon || tr.Plan != PlanBackoff {
			t.Fatalf("offset %v: %s / %s, want the step-end pause", offset, tr.Event, tr.Plan)
		}
		o.Now, o.StepNow = o.Now.Add(tr.RetryIn), o.StepNow.Add(tr.RetryIn)
		if again := Decide(o); again.Event == StepEndingSoon {
			t.Fatalf("offset %v: the pause of %v woke in Cognito's last seconds again", offset, tr.RetryIn)
		}
	}
}
