package controllers

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
)

const (
	seedA = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	seedB = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"
	pool  = "us-east-1_Pool"
)

var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// enrolled is the observation of an enrollment whose Secret records seedA,
// proven for its current spec and user: the fast path.
func enrolled() *observation {
	ste := &v1alpha1.SoftwareTokenEnrollment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "bot", UID: types.UID("uid-1"), Generation: 3},
		Spec: v1alpha1.SoftwareTokenEnrollmentSpec{UserPoolID: pool, ClientID: "client",
			CredentialsSecretRef: &v1alpha1.LocalObjectReference{Name: "creds"}, MFAPreference: v1alpha1.MFAPreferencePreferred},
	}
	o := &observation{ste: ste, now: t0, ownership: ownOwned, secret: seedA,
		in: inputs{username: "bot", password: "pw", hash: "h1"}, claim: claimState{state: claimMine}}
	o.in.pool = settingsOf(ste, nil, "")
	o.target = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "bot-totp",
		Annotations: recordAnnotations(ste, o.in.pool, identity{pool: pool, user: "bot", sub: "sub-1"}, "bot", seedA, t0.Add(-time.Hour), "")}}
	o.rec = readRecord(o.target)
	return o
}

// viaPool turns the enrollment into one naming ClusterUserPool "ci", which
// has the inline form's pool and client, and lets change edit the pool.
func viaPool(change func(p *v1alpha1.ClusterUserPool)) func(o *observation) {
	return func(o *observation) {
		o.ste.Spec.UserPoolRef = &v1alpha1.UserPoolReference{Name: "ci"}
		o.ste.Spec.UserPoolID, o.ste.Spec.ClientID = "", ""
		o.pool = &v1alpha1.ClusterUserPool{ObjectMeta: metav1.ObjectMeta{Name: "ci"},
			Spec: v1alpha1.ClusterUserPoolSpec{UserPoolID: pool, ClientID: "client"}}
		if change != nil {
			change(o.pool)
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
		change func(o *observation)
		want   planName
		reason string
	}{
		{"fast path", func(*observation) {}, planUpToDate, ""},
		{"a local spec edit needs no Cognito", func(o *observation) {
			o.ste.Generation++
			o.ste.Spec.SecretTemplate = &v1alpha1.SecretTemplate{Labels: map[string]string{"team": "ci"}}
		}, planUpToDate, ""},
		{"a pruned credentials Secret does not unready a working enrollment", func(o *observation) {
			o.in.err = wait(v1alpha1.ReasonCredentialsSecretNotFound, "waiting")
			o.in.username = ""
		}, planUpToDate, ""},
		{"no Secret: enroll", func(o *observation) {
			o.target, o.ownership, o.secret, o.rec = nil, ownNone, "", record{}
		}, planEnroll, ""},
		{"no Secret and no credentials: wait", func(o *observation) {
			o.target, o.ownership, o.secret, o.rec = nil, ownNone, "", record{}
			o.in.err = wait(v1alpha1.ReasonCredentialsSecretNotFound, "waiting")
		}, planWait, v1alpha1.ReasonCredentialsSecretNotFound},
		{"someone else's Secret", func(o *observation) {
			o.ownership = ownForeign
		}, planStall, v1alpha1.ReasonSecretConflict},
		{"a Secret retained by this name is adopted", func(o *observation) {
			o.ownership = ownRetained
		}, planAdopt, ""},
		{"a staged seed is proven first", func(o *observation) { o.pending = seedB }, planResumePending, ""},
		{"pool changed: identity changed, no Cognito call", func(o *observation) {
			o.ste.Spec.UserPoolID = "us-east-1_Other"
		}, planStall, v1alpha1.ReasonIdentityChanged},
		{"username changed: ask Cognito who it is", func(o *observation) { o.in.username = "other" }, planRepair, ""},
		{"client changed: re-prove through it", func(o *observation) { o.ste.Spec.ClientID = "client2" }, planRepair, ""},
		{"preference changed", func(o *observation) { o.ste.Spec.MFAPreference = v1alpha1.MFAPreferenceEnabled }, planRepair, ""},
		{"secret edited by hand", func(o *observation) { o.secret = seedB }, planRepair, ""},
		{"written by an earlier version: migrate", func(o *observation) {
			delete(o.target.Annotations, v1alpha1.AnnotationUserPool)
			o.rec = readRecord(o.target)
		}, planRepair, ""},
		{"another enrollment claims the user", func(o *observation) { o.claim.state = claimOther }, planRepair, ""},
		{"a missing claim is re-proven, never taken on the record's word", func(o *observation) { o.claim.state = claimFree }, planRepair, ""},
		{"a DuplicateEnrollment is looked at again after RetryMax", func(o *observation) {
			o.secret, o.target, o.rec, o.ownership = "", nil, record{}, ownNone
			o.recheckDuplicate = time.Minute
			o.ste.Status = v1alpha1.SoftwareTokenEnrollmentStatus{ObservedGeneration: 3, InputsFingerprint: "h1",
				LastFailureTime: &metav1.Time{Time: t0.Add(-2 * time.Minute)},
				Conditions:      []metav1.Condition{{Type: v1alpha1.ConditionStalled, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonDuplicateEnrollment}}}
		}, planEnroll, ""},
		{"a DuplicateEnrollment is not looked at again before RetryMax", func(o *observation) {
			o.secret, o.target, o.rec, o.ownership = "", nil, record{}, ownNone
			o.recheckDuplicate = time.Minute
			o.ste.Status = v1alpha1.SoftwareTokenEnrollmentStatus{ObservedGeneration: 3, InputsFingerprint: "h1",
				LastFailureTime: &metav1.Time{Time: t0.Add(-30 * time.Second)},
				Conditions:      []metav1.Condition{{Type: v1alpha1.ConditionStalled, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonDuplicateEnrollment}}}
		}, planStall, v1alpha1.ReasonDuplicateEnrollment},
		{"rotate annotation", func(o *observation) {
			o.ste.Annotations = map[string]string{v1alpha1.AnnotationRotate: "r1"}
		}, planRotate, ""},
		{"rotate annotation already handled", func(o *observation) {
			o.ste.Annotations = map[string]string{v1alpha1.AnnotationRotate: "r1"}
			o.target.Annotations[v1alpha1.AnnotationRotateHandled] = "r1"
			o.rec = readRecord(o.target)
		}, planUpToDate, ""},
		{"interval ran out", func(o *observation) {
			o.ste.Spec.Rotation = &v1alpha1.Rotation{Interval: &metav1.Duration{Duration: 30 * time.Minute}}
		}, planRotate, ""},
		{"a failed rotation's deferral holds", func(o *observation) {
			o.ste.Spec.Rotation = &v1alpha1.Rotation{Interval: &metav1.Duration{Duration: 30 * time.Minute}}
			o.ste.Status.NextRotationTime = &metav1.Time{Time: t0.Add(time.Minute)}
			o.ste.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionRotationFailed, Status: metav1.ConditionTrue}}
		}, planUpToDate, ""},
		{"backoff holds against any trigger", func(o *observation) {
			o.pending = seedB
			o.ste.Status = v1alpha1.SoftwareTokenEnrollmentStatus{ObservedGeneration: 3, FailedAttempts: 2, InputsFingerprint: "h1",
				NextAttemptTime: &metav1.Time{Time: t0.Add(time.Minute)},
				Conditions:      []metav1.Condition{{Type: v1alpha1.ConditionReconciling, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonVerificationFailed}}}
		}, planBackoff, v1alpha1.ReasonVerificationFailed},
		{"new inputs cut the backoff short", func(o *observation) {
			o.pending = seedB
			o.ste.Status = v1alpha1.SoftwareTokenEnrollmentStatus{ObservedGeneration: 3, FailedAttempts: 2, InputsFingerprint: "h0",
				NextAttemptTime: &metav1.Time{Time: t0.Add(time.Minute)}}
		}, planResumePending, ""},
		{"stalled on the same inputs makes no call", func(o *observation) {
			o.secret, o.target.Data = "", nil
			o.ste.Status = v1alpha1.SoftwareTokenEnrollmentStatus{ObservedGeneration: 3, InputsFingerprint: "h1",
				Conditions: []metav1.Condition{{Type: v1alpha1.ConditionStalled, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonInvalidCredentials}}}
		}, planStall, v1alpha1.ReasonInvalidCredentials},
		{"template may not override the operator's annotations", func(o *observation) {
			o.ste.Spec.SecretTemplate = &v1alpha1.SecretTemplate{Annotations: map[string]string{v1alpha1.AnnotationEnrolledAt: "2000-01-01T00:00:00Z"}}
		}, planStall, v1alpha1.ReasonInvalidSpec},
		{"an inline pool is refused when userPoolRef is required", func(o *observation) {
			o.requireUserPoolRef = true
		}, planStall, v1alpha1.ReasonUserPoolRefRequired},
		{"a refused inline pool makes no call even without a seed", func(o *observation) {
			o.requireUserPoolRef = true
			o.target, o.ownership, o.secret, o.rec = nil, ownNone, "", record{}
		}, planStall, v1alpha1.ReasonUserPoolRefRequired},
		{"userPoolRef satisfies the requirement", func(o *observation) {
			viaPool(nil)(o)
			o.requireUserPoolRef = true
		}, planUpToDate, ""},
		{"moving to a ClusterUserPool of the same pool and client keeps the seed", viaPool(nil), planUpToDate, ""},
		{"the pool's client changed: re-prove through it", viaPool(func(p *v1alpha1.ClusterUserPool) {
			p.Spec.ClientID = "client2"
		}), planRepair, ""},
		{"the pool's client secret changed: re-prove", viaPool(func(p *v1alpha1.ClusterUserPool) {
			p.Spec.ClientSecretRef = &v1alpha1.ClusterSecretKeySelector{Name: "ci-client", Key: "secret"}
		}), planRepair, ""},
		{"the pool's id changed: identity changed, no Cognito call", viaPool(func(p *v1alpha1.ClusterUserPool) {
			p.Spec.UserPoolID = "us-east-1_Other"
		}), planStall, v1alpha1.ReasonIdentityChanged},
		{"a ClusterUserPool not created yet: wait, no Cognito call", func(o *observation) {
			viaPool(nil)(o)
			o.pool = nil
			o.target, o.ownership, o.secret, o.rec = nil, ownNone, "", record{}
			o.in.err = wait(v1alpha1.ReasonUserPoolNotFound, "waiting")
		}, planWait, v1alpha1.ReasonUserPoolNotFound},
		{"a ClusterUserPool gone under a stored seed: wait, the seed is not disowned", func(o *observation) {
			viaPool(nil)(o)
			o.pool = nil
			o.in.err = wait(v1alpha1.ReasonUserPoolNotFound, "waiting")
		}, planWait, v1alpha1.ReasonUserPoolNotFound},
		{"a ClusterUserPool not ready: wait", func(o *observation) {
			viaPool(nil)(o)
			o.target, o.ownership, o.secret, o.rec = nil, ownNone, "", record{}
			o.in.err = wait(v1alpha1.ReasonUserPoolNotReady, "waiting")
		}, planWait, v1alpha1.ReasonUserPoolNotReady},
		{"allowedNamespaces absent: every namespace", viaPool(allow(nil)), planUpToDate, ""},
		{"allowedNamespaces names the namespace", viaPool(allow(&v1alpha1.AllowedNamespaces{Names: []string{"ns"}})),
			planUpToDate, ""},
		{"allowedNamespaces names others", viaPool(allow(&v1alpha1.AllowedNamespaces{Names: []string{"other"}})),
			planStall, v1alpha1.ReasonNamespaceNotAllowed},
		{"allowedNamespaces present but empty: none", viaPool(allow(&v1alpha1.AllowedNamespaces{})),
			planStall, v1alpha1.ReasonNamespaceNotAllowed},
		{"a namespace not allowed makes no call even without a seed", func(o *observation) {
			viaPool(allow(&v1alpha1.AllowedNamespaces{}))(o)
			o.target, o.ownership, o.secret, o.rec = nil, ownNone, "", record{}
		}, planStall, v1alpha1.ReasonNamespaceNotAllowed},
		{"the selector matches the namespace's labels", func(o *observation) {
			viaPool(allow(&v1alpha1.AllowedNamespaces{Names: []string{"other"}, Selector: selectAllowed()}))(o)
			o.nsLabels = map[string]string{"allowed": "true"}
		}, planUpToDate, ""},
		{"the selector does not match", func(o *observation) {
			viaPool(allow(&v1alpha1.AllowedNamespaces{Selector: selectAllowed()}))(o)
			o.nsLabels = map[string]string{"allowed": "false"}
		}, planStall, v1alpha1.ReasonNamespaceNotAllowed},
		{"an invalid selector allows nothing", viaPool(allow(&v1alpha1.AllowedNamespaces{Selector: &metav1.LabelSelector{
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "allowed", Operator: "Sometimes"}}}})),
			planStall, v1alpha1.ReasonNamespaceNotAllowed},
		{"NamespaceNotAllowed lifts once allowed, with the same inputs", func(o *observation) {
			viaPool(nil)(o)
			o.ste.Status = v1alpha1.SoftwareTokenEnrollmentStatus{ObservedGeneration: 3, InputsFingerprint: "h1",
				Conditions: []metav1.Condition{{Type: v1alpha1.ConditionStalled, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonNamespaceNotAllowed}}}
		}, planUpToDate, ""},
		{"invalid label value is terminal before Cognito", func(o *observation) {
			o.secret, o.rec, o.target = "", record{}, nil
			o.ownership = ownNone
			o.ste.Spec.SecretTemplate = &v1alpha1.SecretTemplate{Labels: map[string]string{"team": "not valid!"}}
		}, planStall, v1alpha1.ReasonInvalidSpec},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := enrolled()
			tc.change(o)
			o.in.pool = settingsOf(o.ste, o.pool, "cluster-ns") // as readInputs resolves it
			if o.ste.Spec.UserPoolRef != nil && o.pool == nil {
				o.in.pool = poolSettings{}
			}
			p := decide(o)
			if p.name != tc.want {
				t.Fatalf("plan %s (%s), want %s", p.name, p.why, tc.want)
			}
			if tc.reason != "" {
				if got := asOutcome(p.err).reason; got != tc.reason {
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
	ste := enrolled().ste
	if got := cognitoSpecHash(ste, settingsOf(ste, nil, "")); got != "34d9f36d3a63" {
		t.Fatalf("inline hash %s changed", got)
	}
	ste.Spec.Region = "us-east-1"
	ste.Spec.ClientSecretRef = &v1alpha1.SecretKeySelector{Name: "client", Key: "secret"}
	if got := cognitoSpecHash(ste, settingsOf(ste, nil, "")); got != "e42bf0dd6eb3" {
		t.Fatalf("inline hash with a client secret %s changed", got)
	}

	hash := func(change func(p *v1alpha1.ClusterUserPool), clusterNamespace string) string {
		o := enrolled()
		viaPool(func(p *v1alpha1.ClusterUserPool) {
			p.Spec.ClientSecretRef = &v1alpha1.ClusterSecretKeySelector{Name: "ci-client", Key: "secret"}
			change(p)
		})(o)
		return cognitoSpecHash(o.ste, settingsOf(o.ste, o.pool, clusterNamespace))
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
	me := identity{pool: pool, user: "bot", sub: "sub-1"}
	cases := []struct {
		name   string
		plan   planName
		change func(o *observation)
		view   cognitoView
		want   step
		reason string
	}{
		{"no factor: associate", planEnroll, nil, cognitoView{id: me, setup: true}, stepAssociate, ""},
		{"staged seed proven: promote it, never associate", planResumePending, func(o *observation) { o.pending = seedB },
			cognitoView{id: me, hasToken: true, proven: v1alpha1.KeyPendingSecret}, stepPromote, ""},
		{"stored secret proven: keep it", planRepair, nil, cognitoView{id: me, hasToken: true, proven: v1alpha1.KeySecret}, stepKeep, ""},
		{"rotation with the secret proven: associate", planRotate, nil,
			cognitoView{id: me, hasToken: true, proven: v1alpha1.KeySecret}, stepAssociate, ""},
		{"a token no seed proves is never replaced", planEnroll, func(o *observation) { o.secret = "" },
			cognitoView{id: me, hasToken: true}, "", v1alpha1.ReasonAlreadyEnrolled},
		{"stored seeds no longer answer", planRepair, nil, cognitoView{id: me, hasToken: true}, "", v1alpha1.ReasonAlreadyEnrolled},
		{"another user", planRepair, nil, cognitoView{id: identity{pool: pool, user: "other", sub: "sub-2"}, hasToken: true},
			"", v1alpha1.ReasonIdentityChanged},
		{"an alias of the same user is the same identity", planRepair, nil,
			cognitoView{id: identity{pool: pool, user: "bot", sub: "sub-1"}, proven: v1alpha1.KeySecret, hasToken: true}, stepKeep, ""},
		{"another enrollment holds the claim", planEnroll, func(o *observation) { o.secret, o.rec = "", record{} },
			cognitoView{id: me, setup: true, claim: claimState{state: claimOther, holder: types.NamespacedName{Namespace: "ns", Name: "first"}}},
			"", v1alpha1.ReasonDuplicateEnrollment},
		{"a proven seed wins the claim", planRepair, nil,
			cognitoView{id: me, hasToken: true, proven: v1alpha1.KeySecret, claim: claimState{state: claimOther}}, stepKeep, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := enrolled()
			if tc.change != nil {
				tc.change(o)
			}
			v := tc.view
			st, err := decideAfterSignIn(o, plan{name: tc.plan}, &v)
			if tc.reason != "" {
				if err == nil || asOutcome(err).reason != tc.reason {
					t.Fatalf("got %s, %v; want reason %s", st, err, tc.reason)
				}
				return
			}
			if err != nil || st != tc.want {
				t.Fatalf("got %s, %v; want %s", st, err, tc.want)
			}
		})
	}
}

func TestDuplicateMessageNamesOnlySameNamespace(t *testing.T) {
	o := enrolled()
	o.secret, o.rec = "", record{}
	v := cognitoView{id: identity{pool: pool, user: "bot"}, setup: true,
		claim: claimState{state: claimOther, holder: types.NamespacedName{Namespace: "tenant-b", Name: "secret-project"}}}
	_, err := decideAfterSignIn(o, plan{name: planEnroll}, &v)
	if msg := asOutcome(err).message; strings.Contains(msg, "tenant-b") || strings.Contains(msg, "secret-project") {
		t.Fatalf("message leaks another tenant's enrollment: %s", msg)
	}
}
