package property

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/lifecycle"
)

// The invariants, checked after every step (and after every reconcile of a
// step that reconciles more than once):
//
//  1. Ready means works: an enrollment Ready=True for its current
//     generation stores, under "secret", the seed Cognito holds as the
//     user's verified token, and that token is asked for at sign-in (TOTP
//     enabled, or the pool's MFA ON).
//  2. No lost seed: a verified token of the user (one Cognito holds, enabled
//     or not: turning TOTP off keeps the registration) is stored, as
//     "secret" or "pending-secret", in some Secret of the sequence's
//     namespaces or in the seed store. The README's Deletion section names
//     the only losses it allows (an administrator deleting a stored seed or
//     the operator's namespace, a finalizer removed by hand, a dormant seed
//     expired by --dormant-seed-retention, AdminDeleteSoftwareToken); the
//     harness takes none of those actions, so it allows no loss at all,
//     whatever it deletes and however (deletion_test.go).
//  3. One token per user: at most one enrollment of a user is Ready.
//  4. Backoff holds: one reconcile associates at most one token, and makes
//     no Cognito call at all while the enrollment backs off or is stalled
//     on inputs that did not change.
//  5. The table holds: no reconcile meets a (phase, event) pair the
//     transitions table (internal/lifecycle) calls impossible.
//
// After the random steps, a heal phase removes every fault, repairs the
// inputs as a user would, restarts the "manager" (every enrollment is
// reconciled once) and then reconciles only when a manager would (a timer
// the reconciler asked for, or a watch event): each user must end with an
// enrollment Ready and working (liveness), without a hot loop.

// fixedSeed always runs, so that a regression reproduces without a seed.
const fixedSeed = 20251125

// TestPropertyNoSeedLostAndReadyMeansWorks explores Cognito as its API
// reference describes it today: a new software token replaces the verified
// one only once it is verified.
func TestPropertyNoSeedLostAndReadyMeansWorks(t *testing.T) {
	runProperty(t, cognitofake.ReplaceOnVerify)
}

// TestPropertyNoSeedLostWhenAssociationDropsTheOldToken explores the older
// documented behaviour: AssociateSoftwareToken with an access token drops
// the verified token at once, so a rotation that loses its reply leaves the
// user with no working token until the new one is proven.
func TestPropertyNoSeedLostWhenAssociationDropsTheOldToken(t *testing.T) {
	runProperty(t, cognitofake.ReplaceImmediately)
}

// maxFailingSequences stops a test early when a bug fails sequence after sequence.
const maxFailingSequences = 5

func runProperty(t *testing.T, replace cognitofake.ReplaceMode) {
	seeds := []uint64{fixedSeed, rand.Uint64()}
	if s := os.Getenv("PROPERTY_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("PROPERTY_SEED: %v", err)
		}
		seeds = []uint64{seed}
	}
	n := envInt(t, "PROPERTY_SEQUENCES", defaultSequences)
	first, last := 0, n-1
	if s := os.Getenv("PROPERTY_SEQUENCE"); s != "" {
		first = envInt(t, "PROPERTY_SEQUENCE", 0)
		last = first
	}
	var start time.Time
	if s := os.Getenv("PROPERTY_START"); s != "" {
		var err error
		if start, err = time.Parse(time.RFC3339Nano, s); err != nil {
			t.Fatalf("PROPERTY_START: %v", err)
		}
	}
	st := newStats()
	failing := 0
	began := time.Now()
	for _, seed := range seeds {
		t.Logf("seed %d (set PROPERTY_SEED=%d to repeat it), sequences %d..%d", seed, seed, first, last)
		for i := first; i <= last && failing < maxFailingSequences; i++ {
			// Well past anything the last sequence issued, at a TOTP step
			// boundary: the sequence's seed picks the phase within the step.
			at, exact := clock.Now().Add(time.Hour).Truncate(30*time.Second), false
			if !start.IsZero() {
				at, exact = start, true
			}
			if !t.Run(fmt.Sprintf("seed%d/seq%03d", seed, i), func(t *testing.T) {
				runSequence(t, newWorld(t, t.Name(), seed, i, at, exact, replace, st))
			}) {
				failing++
			}
		}
	}
	if failing >= maxFailingSequences {
		t.Logf("stopped after %d failing sequences", failing)
	}
	t.Logf("%s in %s", st, time.Since(began).Round(time.Millisecond))
}

// defaultSequences per seed keeps the package's run under two minutes on
// two shared cores; PROPERTY_SEQUENCES explores more.
const defaultSequences = 60

func envInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a non-negative integer", name, s)
	}
	return n
}

// runSequence takes 8 to 16 random steps, checking the invariants after
// each, then heals and checks liveness.
func runSequence(t *testing.T, w *world) {
	w.stats.sequences++
	steps := 8 + w.rng.IntN(9)
	for i := 0; i < steps && w.violation == ""; i++ {
		w.randomStep(i)
		w.check()
	}
	if w.violation == "" {
		w.heal()
	}
	if w.violation != "" {
		t.Fatalf("%s\n%s", w.violation, w.report())
	}
	for _, e := range w.enrs {
		ste := w.get(e)
		if ste == nil {
			w.stats.final[e.name+":gone"]++
			continue
		}
		ready := meta.FindStatusCondition(ste.Status.Conditions, v1alpha1.ConditionReady)
		final := "Ready=" + string(ready.Status) + "/" + ready.Reason
		if c := meta.FindStatusCondition(ste.Status.Conditions, v1alpha1.ConditionStalled); c != nil && c.Status == metav1.ConditionTrue {
			final = "Stalled/" + c.Reason
			t.Logf("%s ends Stalled: %s: %s", e, c.Reason, c.Message)
		}
		w.stats.final[e.name+":"+final]++
	}
	w.cleanup()
}

// A step kind and its weight.
type stepKind struct {
	name   string
	weight int
	run    func(w *world, i int)
}

var stepKinds = []stepKind{
	{"reconcile", 30, (*world).stepReconcile},
	{"settle", 8, (*world).stepSettle},
	{"crash", 16, (*world).stepCrash},
	{"terminal", 5, (*world).stepTerminal},
	{"spec", 8, (*world).stepSpec},
	{"credentials", 8, (*world).stepCredentials},
	{"rotate", 6, (*world).stepRotate},
	{"second", 4, (*world).stepSecond},
	{"clock", 10, (*world).stepClock},
	{"delete", 5, (*world).stepDelete},
	{"collect", 6, (*world).stepCollect},
	{"guard", 5, (*world).stepGuard},
}

func (w *world) randomStep(i int) {
	total := 0
	for _, k := range stepKinds {
		total += k.weight
	}
	n := w.rng.IntN(total)
	for _, k := range stepKinds {
		if n < k.weight {
			w.stats.steps[k.name]++
			k.run(w, i)
			return
		}
		n -= k.weight
	}
}

// pick is one of the enrollments that have not gone; once all have, a
// GitOps tool re-applies the first.
func (w *world) pick() *enrollment {
	var live []*enrollment
	for _, e := range w.enrs {
		if w.get(e) != nil {
			live = append(live, e)
		}
	}
	if len(live) == 0 {
		return w.reapply()
	}
	return live[w.rng.IntN(len(live))]
}

func (w *world) stepReconcile(int) {
	e := w.pick()
	o := w.reconcile(e)
	w.step("reconcile %s: %s%s", e, o, w.brief(e))
}

// stepSettle reconciles, then lets the requested requeue time pass (at most
// two minutes) and reconciles again, up to four times.
func (w *world) stepSettle(int) {
	e := w.pick()
	for range 4 {
		o := w.reconcile(e)
		w.step("settle %s: %s%s", e, o, w.brief(e))
		w.check()
		if w.violation != "" || (!requeued(o.res) && o.res.RequeueAfter <= 0) {
			return
		}
		if o.res.RequeueAfter > 0 {
			clock.Advance(min(o.res.RequeueAfter+time.Second, 2*time.Minute))
		}
	}
}

var cognitoOps = []string{"InitiateAuth", "RespondToAuthChallenge", "AssociateSoftwareToken", "VerifySoftwareToken",
	"SetUserMFAPreference", "GetUser"}

// stepCrash makes the next reconcile fail somewhere: a Cognito call that is
// refused, or served with its reply lost (the fault waits in the fake for
// that call if this reconcile does not make it); an API server write that
// fails, before or after it is applied; or the manager crashing after a
// Cognito call was served or after some writes.
func (w *world) stepCrash(int) {
	e := w.pick()
	op := cognitoOps[w.rng.IntN(len(cognitoOps))]
	var what string
	switch w.rng.IntN(6) {
	case 0, 1:
		after := w.rng.IntN(2) == 0
		faults.inject(op, cognitofake.Fault{User: w.user, Code: "InternalErrorException", Message: "property test: unavailable",
			AfterServing: after})
		what = "next " + op + " refused"
		if after {
			what = "next " + op + " served, reply lost"
		}
	case 2:
		crashy.arm(-1, op, w.user, -1, false)
		what = "manager crashes once " + op + " is served"
	case 3:
		n := w.rng.IntN(5)
		crashy.arm(n, "", "", -1, false)
		what = fmt.Sprintf("manager crashes before API write #%d", n+1)
	default:
		n, after := w.rng.IntN(4), w.rng.IntN(2) == 0
		crashy.arm(-1, "", "", n, after)
		what = fmt.Sprintf("API write #%d fails", n+1)
		if after {
			what = fmt.Sprintf("API write #%d applied, reply lost", n+1)
		}
	}
	o := w.reconcile(e)
	crashy.disarm()
	w.step("crash (%s), reconcile %s: %s%s", what, e, o, w.brief(e))
}

// stepTerminal makes the next reconcile meet a terminal error: a refused
// password or access token, or a Secret that holds a wrong one.
func (w *world) stepTerminal(int) {
	e := w.pick()
	var what string
	switch w.rng.IntN(3) {
	case 0:
		if w.tokenFlow {
			clock.Advance(61 * time.Minute)
			what = "the access token expires (clock +61m)"
		} else {
			faults.inject("InitiateAuth", cognitofake.Fault{User: w.user, Code: "NotAuthorizedException",
				Message: "Incorrect username or password."})
			what = "next InitiateAuth: Incorrect username or password"
		}
	case 1:
		op := []string{"GetUser", "AssociateSoftwareToken", "VerifySoftwareToken", "SetUserMFAPreference"}[w.rng.IntN(4)]
		faults.inject(op, cognitofake.Fault{User: w.user, Code: "NotAuthorizedException", Message: "Access Token has been revoked"})
		what = "next " + op + ": Access Token has been revoked"
	default:
		w.badSecret = true
		for _, ns := range w.nss {
			if w.credentialsHere(ns) {
				w.writeCredentials(ns)
			}
		}
		what = "the credentials Secrets get a wrong " + map[bool]string{true: "token", false: "password"}[w.tokenFlow]
	}
	o := w.reconcile(e)
	w.step("terminal (%s), reconcile %s: %s%s", what, e, o, w.brief(e))
}

// stepSpec edits one field of an enrollment's spec.
func (w *world) stepSpec(i int) {
	e := w.pick()
	var what string
	switch w.rng.IntN(4) {
	case 0:
		name := ""
		if w.rng.IntN(3) > 0 {
			name = fmt.Sprintf("robot-%d", i)
		}
		w.edit(e, func(ste *v1alpha1.SoftwareTokenEnrollment) { ste.Spec.FriendlyDeviceName = name })
		what = fmt.Sprintf("friendlyDeviceName=%q", name)
	case 1:
		pref := v1alpha1.MFAPreferencePreferred
		if w.rng.IntN(2) == 0 {
			pref = v1alpha1.MFAPreferenceEnabled
		}
		w.edit(e, func(ste *v1alpha1.SoftwareTokenEnrollment) { ste.Spec.MFAPreference = pref })
		what = "mfaPreference=" + string(pref)
	case 2:
		var labels map[string]string
		switch w.rng.IntN(4) {
		case 0:
		case 1:
			labels = map[string]string{"team": "bad value!"} // valid in the CRD, refused as a label
		default:
			labels = map[string]string{"team": []string{"blue", "green", "red"}[w.rng.IntN(3)]}
		}
		e.badTemplate = labels["team"] == "bad value!"
		w.edit(e, func(ste *v1alpha1.SoftwareTokenEnrollment) {
			ste.Spec.SecretTemplate = nil
			if labels != nil {
				ste.Spec.SecretTemplate = &v1alpha1.SecretTemplate{Labels: labels}
			}
		})
		what = fmt.Sprintf("secretTemplate.labels=%v", labels)
	default:
		var rot *v1alpha1.Rotation
		if w.rng.IntN(3) > 0 {
			rot = &v1alpha1.Rotation{Interval: &metav1.Duration{Duration: rotationIntervals[w.rng.IntN(len(rotationIntervals))]}}
		}
		w.edit(e, func(ste *v1alpha1.SoftwareTokenEnrollment) { ste.Spec.Rotation = rot })
		what = "rotation=nil"
		if rot != nil {
			what = "rotation.interval=" + rot.Interval.Duration.String()
		}
	}
	w.step("spec edit %s: %s", e, what)
}

// stepCredentials changes the password (in Cognito and in every Secret) or
// issues a new access token, deletes a credentials Secret, or re-creates one.
func (w *world) stepCredentials(i int) {
	var present, absent []string
	for _, ns := range w.nss {
		if w.missing[ns] {
			absent = append(absent, ns)
		} else {
			present = append(present, ns)
		}
	}
	switch n := w.rng.IntN(3); {
	case n == 1 && len(present) > 0:
		ns := present[w.rng.IntN(len(present))]
		w.deleteCredentials(ns)
		w.step("credentials: delete Secret %s/%s", ns, w.credName())
	case n == 2 && len(absent) > 0:
		ns := absent[w.rng.IntN(len(absent))]
		w.writeCredentials(ns)
		w.step("credentials: re-create Secret %s/%s", ns, w.credName())
	default:
		w.changeCredentials(i)
		w.step("credentials: %s changed in Cognito and in the Secrets of %v", map[bool]string{true: "access token", false: "password"}[w.tokenFlow], present)
	}
}

// changeCredentials makes a valid change: a new password in Cognito and in
// every present Secret, or a fresh access token.
func (w *world) changeCredentials(i int) {
	w.badSecret = false
	if w.tokenFlow {
		w.token = fake.IssueAccessToken(w.clientID, w.user)
	} else {
		w.password = fmt.Sprintf("Pw-%s-%d-%d-correct-horse", w.pool, w.idx, i)
		fake.UpdateUser(w.pool, w.user, func(u *cognitofake.User) { u.Password = w.password })
	}
	for _, ns := range w.nss {
		if w.credentialsHere(ns) {
			w.writeCredentials(ns)
		}
	}
}

func (w *world) stepRotate(i int) {
	e := w.pick()
	value := fmt.Sprintf("r%d-%d", i, w.rng.IntN(1000))
	w.edit(e, func(ste *v1alpha1.SoftwareTokenEnrollment) {
		if ste.Annotations == nil {
			ste.Annotations = map[string]string{}
		}
		ste.Annotations[v1alpha1.AnnotationRotate] = value
	})
	w.step("rotate %s: annotation %s=%s", e, v1alpha1.AnnotationRotate, value)
}

// stepSecond creates a second enrollment of the same user, in the same
// namespace or in another one with its own copy of the credentials.
func (w *world) stepSecond(i int) {
	if len(w.enrs) > 1 {
		w.stepReconcile(i)
		return
	}
	ns := w.nss[0]
	if w.rng.IntN(2) == 0 || w.nsDeleting[ns] {
		ns = w.nss[0] + "-b"
		w.addNamespace(ns)
	}
	e := w.createEnrollment(ns, "second")
	w.step("second enrollment %s of the same user", e)
}

func (w *world) stepClock(int) {
	d := time.Duration(w.rng.IntN(91)) * time.Second
	clock.Advance(d)
	w.step("clock +%s", d)
}

// brief is an enrollment's Ready and Stalled conditions, for the step log.
func (w *world) brief(e *enrollment) string {
	ste := w.get(e)
	if ste == nil {
		return " → gone"
	}
	s := ""
	if c := meta.FindStatusCondition(ste.Status.Conditions, v1alpha1.ConditionReady); c != nil {
		s = fmt.Sprintf(" → Ready=%s/%s", c.Status, c.Reason)
		if c.ObservedGeneration != ste.Generation {
			s += fmt.Sprintf("(gen %d of %d)", c.ObservedGeneration, ste.Generation)
		}
	}
	if c := meta.FindStatusCondition(ste.Status.Conditions, v1alpha1.ConditionStalled); c != nil && c.Status == metav1.ConditionTrue {
		s += " Stalled/" + c.Reason
	}
	return s
}

// readyNow says the enrollment is Ready=True for its current generation.
func readyNow(ste *v1alpha1.SoftwareTokenEnrollment) bool {
	if ste == nil {
		return false
	}
	c := meta.FindStatusCondition(ste.Status.Conditions, v1alpha1.ConditionReady)
	return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == ste.Generation &&
		ste.Status.ObservedGeneration == ste.Generation
}

// check checks invariants 1 to 3 (4 is checked by each reconcile).
func (w *world) check() {
	if w.violation != "" {
		return
	}
	u := fake.User(w.pool, w.user)
	// Where a seed may be: any Secret of the sequence's namespaces (its
	// enrollments', released ones, one being deleted), and the seed store.
	stored := map[string]string{}
	for _, s := range w.secrets() {
		for _, k := range []string{v1alpha1.KeySecret, v1alpha1.KeyPendingSecret} {
			if v := string(s.Data[k]); v != "" {
				stored[v] = s.Namespace + "/" + s.Name + "[" + k + "]"
			}
		}
	}
	w.storedSeeds(stored)
	var ready []string
	for _, e := range w.enrs {
		ste := w.get(e)
		if !readyNow(ste) {
			continue
		}
		secret := ""
		if s := w.secretOf(ste); s != nil {
			secret = string(s.Data[v1alpha1.KeySecret])
		}
		ready = append(ready, e.String())
		if u.TOTPSecret == "" && ste.Spec.MFAPreference == v1alpha1.MFAPreferenceNone {
			continue
		}
		if e.unseen {
			// Its Secret was deleted since its last reconcile: a status
			// tells what the controller last saw, and it has not seen this
			// yet (its watch brings it back).
			continue
		}
		switch {
		case secret == "" || secret != u.TOTPSecret:
			w.violate(fmt.Sprintf("invariant 1 (Ready means works): %s is Ready, but its Secret's seed %s is not the user's verified token %s",
				e, fingerprint(secret), fingerprint(u.TOTPSecret)))
			return
		case !u.TOTPEnabled && w.mfa != cognitofake.MFAOn:
			w.violate(fmt.Sprintf("invariant 1 (Ready means works): %s is Ready, but TOTP is not enabled for the user in a pool with MFA %s: sign-in asks for no code", e, w.mfa))
			return
		}
	}
	if len(ready) > 1 {
		w.violate(fmt.Sprintf("invariant 3 (one token per user): %d enrollments of one user are Ready: %v", len(ready), ready))
		return
	}
	if u.TOTPSecret != "" && stored[u.TOTPSecret] == "" {
		w.violate(fmt.Sprintf("invariant 2 (no lost seed): the user's verified token %s is stored in no Secret of the sequence's namespaces nor in the seed store",
			fingerprint(u.TOTPSecret)))
	}
}

// heal removes every fault, repairs the inputs as a user answering a
// Stalled condition would, restarts the manager, and reconciles only when a
// manager would: then the user must have a Ready enrollment whose seed works.
func (w *world) heal() {
	crashy.disarm()
	w.must(faults.drain(w.user, w.clientID))
	var fixed []string
	for _, e := range w.enrs {
		if e.badTemplate {
			w.edit(e, func(ste *v1alpha1.SoftwareTokenEnrollment) {
				ste.Spec.SecretTemplate = &v1alpha1.SecretTemplate{Labels: map[string]string{"team": "fixed"}}
			})
			e.badTemplate = false
			fixed = append(fixed, "secretTemplate of "+e.String())
		}
	}
	stalled := false
	for _, e := range w.enrs {
		ste := w.get(e)
		if ste == nil {
			continue
		}
		if c := meta.FindStatusCondition(ste.Status.Conditions, v1alpha1.ConditionStalled); c != nil &&
			c.Status == metav1.ConditionTrue && c.Reason != v1alpha1.ReasonDuplicateEnrollment {
			stalled = true
		}
	}
	for _, ns := range w.nss {
		if w.missing[ns] {
			w.writeCredentials(ns)
			fixed = append(fixed, "re-created "+ns+"/"+w.credName())
		}
	}
	// A fresh token in any case: the heal may outlast the one in place.
	if w.badSecret || stalled || w.tokenFlow {
		w.changeCredentials(len(w.steps))
		fixed = append(fixed, "new "+map[bool]string{true: "access token", false: "password"}[w.tokenFlow])
	}
	w.step("heal: faults drained; fixed %v; manager restarted", fixed)
	w.check()

	// The manager's queue: when each enrollment is next reconciled. A
	// restart queues every enrollment.
	due := map[*enrollment]time.Time{}
	for _, e := range w.enrs {
		if w.get(e) != nil {
			due[e] = clock.Now()
		}
	}
	// A hot loop is many reconciles with no timer between them; a slow one
	// never reaches Ready within the timers' horizon: the user's code
	// budget can hold an enrollment for up to lifecycle.CodeWindow while a
	// stalled neighbour is rechecked every minute, and a deletion waits up
	// to its 10-minute timeout.
	const budget = 60
	horizon := clock.Now().Add(2*lifecycle.CodeWindow + 10*time.Minute)
	hot := 0
	for n := 0; w.violation == ""; n++ {
		// The garbage collector, the namespace controller and the seed
		// guardian run beside the enrollment controller.
		w.runControllers(due)
		next, at := w.nextDue(due)
		if w.live() && (next == nil || at.After(clock.Now())) {
			return
		}
		if next == nil {
			w.violate("liveness: no enrollment of the user is Ready (or one is still being deleted), and none will be reconciled again (no timer, no watch event)")
			return
		}
		if hot == budget || n == 10*budget || at.After(horizon) {
			if w.live() {
				w.violate(fmt.Sprintf("liveness: after %d reconciles the enrollments still trigger reconciles now (a hot loop)", n))
			} else {
				w.violate(fmt.Sprintf("liveness: after %d reconciles (%d with no timer between) and %v of timers no enrollment of the user is Ready",
					n, hot, clock.Now().Sub(horizon.Add(-2*lifecycle.CodeWindow-10*time.Minute)).Round(time.Second)))
			}
			return
		}
		if at.After(clock.Now()) {
			clock.Set(at)
		} else {
			hot++
		}
		before := w.snapshot(next)
		o := w.reconcile(next)
		delete(due, next)
		switch {
		case requeued(o.res) || o.err != nil:
			due[next] = clock.Now()
		case o.res.RequeueAfter > 0:
			due[next] = clock.Now().Add(o.res.RequeueAfter)
		}
		if w.snapshot(next) != before {
			due[next] = clock.Now() // its own writes come back through the watches
		}
		w.step("heal: reconcile %s: %s%s", next, o, w.brief(next))
		w.check()
	}
}

// runControllers runs the garbage collector, the namespace controller and
// the seed guardian once, drops the enrollments that went from the queue,
// and re-applies the first enrollment once all have gone (a GitOps tool).
func (w *world) runControllers(due map[*enrollment]time.Time) {
	if did := w.collect(); did != "nothing to do" {
		w.step("heal: collect: %s", did)
	}
	if did := w.guardSeeds(); did != "no Secret being deleted holds a seed" {
		w.step("heal: guard: %s", did)
	}
	// A GitOps tool creates the credentials again once a deleted Secret
	// has gone.
	for _, ns := range w.nss {
		if w.missing[ns] && !w.nsDeleting[ns] && !w.credentialsPresent(ns) {
			w.writeCredentials(ns)
			w.step("heal: re-created %s/%s", ns, w.credName())
		}
	}
	left, holder := false, false
	where, _ := w.tokenAt()
	for _, e := range w.enrs {
		if w.get(e) == nil {
			delete(due, e)
			continue
		}
		left = true
		holder = holder || (e.ns == where.Namespace && e.name == where.Enrollment)
	}
	// Once all have gone, or the one whose seed the user's token is has gone
	// while that seed waits for it to come back (an enrollment of another
	// name cannot adopt it: AlreadyEnrolled), it is applied again.
	if !left || (where.Enrollment != "" && !holder) {
		due[w.reapply()] = clock.Now()
		return
	}
	if e := w.adoptInto(); e != nil {
		due[e] = clock.Now()
	}
}

func (w *world) nextDue(due map[*enrollment]time.Time) (*enrollment, time.Time) {
	var next *enrollment
	var at time.Time
	for _, e := range w.enrs { // in creation order, for determinism
		if t, ok := due[e]; ok && (next == nil || t.Before(at)) {
			next, at = e, t
		}
	}
	return next, at
}

// live says some enrollment of the user is Ready for its current
// generation, and no deletion is still under way.
func (w *world) live() bool {
	if w.deleting() {
		return false
	}
	for _, e := range w.enrs {
		if readyNow(w.get(e)) {
			return true
		}
	}
	return false
}
