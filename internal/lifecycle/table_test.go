package lifecycle

import (
	"math/rand/v2"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
)

// Every (phase, event) pair has exactly one rule: an action, or the reason
// the pair cannot happen.
func TestTableIsComplete(t *testing.T) {
	if len(overlaps) > 0 {
		t.Fatalf("pairs claimed by two rows: %v", overlaps)
	}
	for _, p := range Phases {
		for _, e := range Events {
			cell, ok := table[p][e]
			switch {
			case !ok:
				t.Errorf("%s × %s: no rule", p, e)
			case cell.do == nil && cell.impossible == "":
				t.Errorf("%s × %s: impossible without a reason", p, e)
			case cell.do != nil && cell.do.plan == "" && cell.do.step == "" && cell.do.out == nil:
				t.Errorf("%s × %s: an action that neither plans, steps nor stops", p, e)
			}
		}
	}
	if n := len(table); n != len(Phases) {
		t.Errorf("the table has %d phases, Phases lists %d", n, len(Phases))
	}
}

// A pair the table calls impossible is never acted on: it is a retryable
// failure, named, so that "impossible" cannot be used to skip work quietly.
func TestImpossiblePairIsAFailureNotAction(t *testing.T) {
	o := enrolled()
	got := Resolve(o, NoSeed, PoolChanged, nil)
	if got.Impossible == "" || got.Plan != PlanImpossible || got.Step != "" {
		t.Fatalf("got %+v", got)
	}
	if out := OutcomeOf(got.Err); out.Reason != v1alpha1.ReasonInvalidState || out.Class != Retryable {
		t.Fatalf("outcome %+v", out)
	}
}

// The table says no more than the observations can show: sampled widely,
// every pair it calls possible is reached, and no pair it calls impossible.
func TestEveryPossiblePairIsReachedAndNoImpossibleOne(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	seen := map[Phase]map[Event]bool{}
	note := func(tr Transition) {
		if tr.Impossible != "" {
			t.Fatalf("reached %s × %s, which the table calls impossible: %s", tr.Phase, tr.Event, tr.Impossible)
		}
		if seen[tr.Phase] == nil {
			seen[tr.Phase] = map[Event]bool{}
		}
		seen[tr.Phase][tr.Event] = true
	}
	for range 200000 {
		o := randomObservation(r)
		tr := Decide(o)
		note(tr)
		switch {
		case tr.Plan == PlanDisable:
			v := randomView(r, o)
			after := AfterDisableSignIn(o, v)
			note(after)
			if after.Step == StepTurnOff {
				note(Resolve(o, Releasing, pickOf(r, DisableRefused, StillChallenged, ConfirmedOff, OffUnconfirmed), v))
			}
		case tr.Plan.SignsIn():
			note(AfterSignIn(o, tr.Plan, randomView(r, o)))
		}
	}
	for _, p := range Phases {
		for _, e := range Events {
			if cell := table[p][e]; cell.do != nil && !seen[p][e] {
				t.Errorf("%s × %s is never reached; if it cannot happen, say why in the table", p, e)
			}
		}
	}
}

func pickOf[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

// randomObservation draws every field the decision reads from a few values
// each, including combinations no reconcile should produce.
func randomObservation(r *rand.Rand) *Observation {
	gen := int64(pickOf(r, 1, 2, 3))
	ste := &v1alpha1.SoftwareTokenEnrollment{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "bot", UID: "u1", Generation: gen}}
	s := &ste.Spec
	viaRef := r.IntN(3) == 0
	if viaRef {
		s.UserPoolRef = &v1alpha1.UserPoolReference{Name: "ci"}
	} else {
		s.UserPoolID, s.ClientID = pickOf(r, pool, "us-east-1_Other"), pickOf(r, "c1", "c2")
	}
	if r.IntN(4) == 0 {
		s.AccessTokenSecretRef = &v1alpha1.SecretKeySelector{Name: "tok", Key: "t"}
	} else {
		s.CredentialsSecretRef = &v1alpha1.LocalObjectReference{Name: "creds"}
	}
	s.MFAPreference = pickOf(r, v1alpha1.MFAPreferencePreferred, v1alpha1.MFAPreferenceEnabled)
	s.DeletionPolicy = pickOf(r, v1alpha1.DeletionPolicyRetain, v1alpha1.DeletionPolicyDisable)
	if r.IntN(6) == 0 {
		s.SecretTemplate = &v1alpha1.SecretTemplate{Labels: map[string]string{"team": "not valid!"}}
	}
	if r.IntN(3) == 0 {
		s.Rotation = &v1alpha1.Rotation{Interval: &metav1.Duration{Duration: 30 * time.Minute}}
	}
	if v := pickOf(r, "", "", "r1", "r2"); v != "" {
		ste.Annotations = map[string]string{v1alpha1.AnnotationRotate: v}
	}
	now := t0.Add(time.Duration(r.IntN(60000)) * time.Millisecond)
	if r.IntN(8) == 0 {
		ste.DeletionTimestamp = &metav1.Time{Time: now.Add(-time.Second)}
	}
	st := &ste.Status
	st.ObservedGeneration = pickOf(r, gen, gen-1)
	st.InputsFingerprint = pickOf(r, "h1", "h2")
	st.FailedAttempts = pickOf[int32](r, 0, 0, 2)
	st.LastRotateRequest = pickOf(r, "", "r1")
	if r.IntN(2) == 0 {
		st.NextAttemptTime = &metav1.Time{Time: now.Add(pickOf(r, -time.Minute, time.Minute))}
	}
	if r.IntN(3) == 0 {
		st.LastFailureTime = &metav1.Time{Time: now.Add(pickOf(r, -2*time.Minute, -10*time.Second))}
	}
	if r.IntN(3) == 0 {
		st.NextRotationTime = &metav1.Time{Time: now.Add(pickOf(r, -time.Minute, time.Minute))}
	}
	for _, c := range []string{v1alpha1.ConditionStalled, v1alpha1.ConditionReconciling, v1alpha1.ConditionRotationFailed, v1alpha1.ConditionReady} {
		if r.IntN(3) == 0 {
			st.Conditions = append(st.Conditions, metav1.Condition{Type: c, Status: pickOf(r, metav1.ConditionTrue, metav1.ConditionFalse),
				Reason: pickOf(r, v1alpha1.ReasonDuplicateEnrollment, v1alpha1.ReasonInvalidCredentials, v1alpha1.ReasonSecretConflict,
					v1alpha1.ReasonEnrolled, v1alpha1.ReasonVerificationFailed), Message: "m"})
		}
	}
	o := &Observation{Enrollment: ste, Now: now, SecretName: v1alpha1.SecretNameOf(ste), Ownership: Ownership(r.IntN(4)),
		Recheck: time.Minute, Active: pickOf(r, "", fp(seedA), fp(seedB)), Pending: pickOf(r, "", "", fp(seedA), fp(seedB)),
		RequireUserPoolRef: r.IntN(5) == 0, DeletionTimedOut: r.IntN(3) == 0, TokenSub: pickOf(r, "", "sub-1", "sub-2")}
	if viaRef && r.IntN(6) != 0 {
		o.Pool = &v1alpha1.ClusterUserPool{ObjectMeta: metav1.ObjectMeta{Name: "ci"},
			Spec: v1alpha1.ClusterUserPoolSpec{UserPoolID: pickOf(r, pool, "us-east-1_Other"), ClientID: "c1"}}
		switch r.IntN(4) {
		case 0:
			o.Pool.Spec.AllowedNamespaces = &v1alpha1.AllowedNamespaces{Names: []string{"other"}}
		case 1:
			o.Pool.Spec.AllowedNamespaces = &v1alpha1.AllowedNamespaces{Selector: selectAllowed()}
			o.NamespaceLabels = map[string]string{"allowed": pickOf(r, "true", "false")}
		}
	}
	anyFP := func() string { return pickOf(r, "", fp(seedA), fp(seedB)) }
	rec := &o.Record
	*rec = Record{SchemaVersion: SchemaVersion, Seed: Seed{Fingerprint: anyFP()},
		RetainedFrom: pickOf(r, "", "ns/bot"), Pending: Pending{Rotate: pickOf(r, "", "r1")},
		Identity: Identity{Pool: pickOf(r, "", pool, "us-east-1_Other"), User: pickOf(r, "", "bot"), Sub: pickOf(r, "", "sub-1"),
			SignInName: pickOf(r, "", "bot", "other"), Client: pickOf(r, "", "c1", "c2")}}
	rec.Rotations.Add(pickOf(r, "", "r1", "r2"))
	if r.IntN(4) == 0 {
		rec.AssociatingSince = &now
	}
	if r.IntN(2) == 0 {
		at := now.Add(-time.Duration(r.IntN(90)) * time.Minute)
		rec.Seed.EnrolledAt = &at
	}
	if r.IntN(2) == 0 {
		rec.Pending.Verified = &Verified{Until: now.Add(pickOf(r, -time.Second, time.Second)), Fingerprint: anyFP(), Inputs: pickOf(r, "h1", "h2")}
	}
	o.In = Inputs{Username: pickOf(r, "bot", "other"), Hash: pickOf(r, "h1", "h2"), AccessToken: s.AccessTokenSecretRef != nil}
	switch r.IntN(5) {
	case 0:
		o.In.Err = Wait(v1alpha1.ReasonCredentialsSecretNotFound, "waiting")
	case 1:
		o.In.Err = Stall(v1alpha1.ReasonInvalidCredentialsSecret, "no key")
	}
	if viaRef && o.Pool == nil {
		o.In.Err = Wait(v1alpha1.ReasonUserPoolNotFound, "waiting")
	} else {
		o.In.Pool = SettingsOf(ste, o.Pool, "cns")
	}
	if r.IntN(2) == 0 {
		rec.Seed.Spec = SpecHash(ste, o.In.Pool)
	}
	if r.IntN(2) == 0 {
		// Weighted towards records that vouch for the stored seed, as most do.
		rec.Seed.Fingerprint, rec.Identity.Pool, rec.Identity.User = o.Active, pool, "bot"
	}
	switch {
	case o.Ownership == OwnNone:
		o.Active, o.Pending, o.Record = "", "", Record{}
	case r.IntN(12) == 0:
		// An unreadable record counts as empty.
		o.Record, o.RecordErr = Record{}, &ErrUnreadable{Why: "unreadable"}
	}
	o.Claim = Claim{Kind: ClaimKind(r.IntN(3)), Holder: Holder{Namespace: pickOf(r, "ns", "other"), Name: "x"}}
	o.NamespaceDeleting = r.IntN(6) == 0
	o.SecretDeleting = o.Ownership != OwnNone && r.IntN(8) == 0
	if r.IntN(4) == 0 {
		o.Stored = &StoredSeed{Name: "stored", State: pickOf(r, SeedRetained, SeedDormant), Active: anyFP(), Pending: pickOf(r, "", fp(seedB)),
			Record: Record{Identity: Identity{Pool: pool, User: "bot", Client: "c1"}}}
	}
	return o
}

func randomView(r *rand.Rand, o *Observation) *View {
	v := &View{ID: Identity{Pool: pickOf(r, pool, "us-east-1_Other"), User: pickOf(r, "bot", "other"), Sub: pickOf(r, "", "sub-1", "sub-2")},
		Setup: r.IntN(3) == 0, HasToken: r.IntN(2) == 0, VerifyOnly: r.IntN(2) == 0,
		Proven: pickOf(r, "", "", v1alpha1.KeySecret, v1alpha1.KeyPendingSecret),
		Claim:  Claim{Kind: ClaimKind(r.IntN(3)), Holder: Holder{Namespace: pickOf(r, "ns", "o"), Name: "h"}}}
	if v.Proven == v1alpha1.KeySecret && o.Active == "" || v.Proven == v1alpha1.KeyPendingSecret && o.Pending == "" {
		v.Proven = "" // Cognito can accept only a stored seed
	}
	return v
}
