package property

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ktypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/lifecycle"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/totp"
)

// faultyClient is the reconciler's client. A test arms it before one
// reconcile to fail one write (before or after the API server applies it),
// or to crash the manager: after the n-th write of the reconcile, or right
// after Cognito served an operation, every later write fails and every later
// Cognito request is dropped unserved, as if the process had died there.
type faultyClient struct {
	client.Client

	mu sync.Mutex
	// writes counts the writes since the client was armed.
	writes int
	// crashAfterWrites crashes before write number n (0 = before the first); -1 never.
	crashAfterWrites int
	// crashAfterOp crashes once Cognito has served this operation for crashUser.
	crashAfterOp, crashUser string
	crashed                 bool
	// failWrite fails write number n once, after applying it when failAfterApply; -1 never.
	failWrite      int
	failAfterApply bool
}

// arm sets the faults of the next reconcile; disarm clears them.
func (c *faultyClient) arm(crashAfterWrites int, crashAfterOp, crashUser string, failWrite int, failAfterApply bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes, c.crashed = 0, false
	c.crashAfterWrites, c.crashAfterOp, c.crashUser = crashAfterWrites, crashAfterOp, crashUser
	c.failWrite, c.failAfterApply = failWrite, failAfterApply
}

func (c *faultyClient) disarm() { c.arm(-1, "", "", -1, false) }

// hasCrashed says the armed crash happened.
func (c *faultyClient) hasCrashed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.crashed
}

var errCrashed = apierrors.NewServiceUnavailable("property test: the manager crashed")

func (c *faultyClient) write(do func() error) error {
	c.mu.Lock()
	n := c.writes
	c.writes++
	if c.crashAfterWrites >= 0 && n >= c.crashAfterWrites {
		c.crashed = true
	}
	crashed, fail, after := c.crashed, c.failWrite == n, c.failAfterApply
	c.mu.Unlock()
	if crashed {
		return errCrashed
	}
	injected := apierrors.NewInternalError(errors.New("property test: injected API server fault"))
	if fail && !after {
		return injected
	}
	err := do()
	if fail && err == nil {
		return injected // applied, but the reply is lost
	}
	return err
}

func (c *faultyClient) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	return c.write(func() error { return c.Client.Create(ctx, obj, opts...) })
}

func (c *faultyClient) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	return c.write(func() error { return c.Client.Update(ctx, obj, opts...) })
}

func (c *faultyClient) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
	return c.write(func() error { return c.Client.Patch(ctx, obj, patch, opts...) })
}

func (c *faultyClient) Delete(ctx context.Context, obj client.Object, opts ...client.DeleteOption) error {
	return c.write(func() error { return c.Client.Delete(ctx, obj, opts...) })
}

func (c *faultyClient) Status() client.SubResourceWriter {
	return &faultyStatus{SubResourceWriter: c.Client.Status(), c: c}
}

func (c *faultyClient) SubResource(name string) client.SubResourceClient {
	return &faultySubResource{SubResourceClient: c.Client.SubResource(name), c: c}
}

type faultyStatus struct {
	client.SubResourceWriter
	c *faultyClient
}

func (s *faultyStatus) Create(ctx context.Context, obj, sub client.Object, opts ...client.SubResourceCreateOption) error {
	return s.c.write(func() error { return s.SubResourceWriter.Create(ctx, obj, sub, opts...) })
}

func (s *faultyStatus) Update(ctx context.Context, obj client.Object, opts ...client.SubResourceUpdateOption) error {
	return s.c.write(func() error { return s.SubResourceWriter.Update(ctx, obj, opts...) })
}

func (s *faultyStatus) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
	return s.c.write(func() error { return s.SubResourceWriter.Patch(ctx, obj, patch, opts...) })
}

type faultySubResource struct {
	client.SubResourceClient
	c *faultyClient
}

func (s *faultySubResource) Create(ctx context.Context, obj, sub client.Object, opts ...client.SubResourceCreateOption) error {
	return s.c.write(func() error { return s.SubResourceClient.Create(ctx, obj, sub, opts...) })
}

func (s *faultySubResource) Update(ctx context.Context, obj client.Object, opts ...client.SubResourceUpdateOption) error {
	return s.c.write(func() error { return s.SubResourceClient.Update(ctx, obj, opts...) })
}

func (s *faultySubResource) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
	return s.c.write(func() error { return s.SubResourceClient.Patch(ctx, obj, patch, opts...) })
}

// hook is the fake's request hook: it drops every request once the armed
// crash happened, crashes after the armed operation is served, and counts
// the requests that consume an injected fault.
func hook(op, user string, served bool) bool {
	c := crashy
	c.mu.Lock()
	defer c.mu.Unlock()
	if !served {
		if c.crashed {
			return true // dropped before the fake looks for a fault
		}
		faults.seen(op, user)
		return false
	}
	if c.crashAfterOp == op && c.crashUser == user {
		c.crashed = true
	}
	return false
}

// faultTracker counts the faults queued in the fake per user and operation:
// the fake takes a queued fault with the next request of that user to that
// operation, and has no way to clear its queue.
type faultTracker struct {
	mu      sync.Mutex
	pending map[string]int
}

func faultKey(user, op string) string { return user + "\x00" + op }

func (f *faultTracker) inject(op string, fault cognitofake.Fault) {
	f.mu.Lock()
	if f.pending == nil {
		f.pending = map[string]int{}
	}
	f.pending[faultKey(fault.User, op)]++
	f.mu.Unlock()
	fake.InjectFault(op, fault)
}

func (f *faultTracker) seen(op, user string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if k := faultKey(user, op); f.pending[k] > 0 {
		f.pending[k]--
	}
}

// queued is how many faults are queued for user, per operation.
func (f *faultTracker) queued(user string) map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for k, n := range f.pending {
		u, op, _ := strings.Cut(k, "\x00")
		if u == user && n > 0 {
			out[op] = n
		}
	}
	return out
}

// drain consumes every fault still queued for user with requests that
// change nothing: a wrong password, or an access token the fake never issued.
func (f *faultTracker) drain(user, clientID string) error {
	for op, n := range f.queued(user) {
		for range n {
			body := map[string]any{"AccessToken": "property-test-unknown-token", "UserCode": "000000",
				"ClientId": clientID, "ChallengeResponses": map[string]string{"USERNAME": user}}
			if op == "InitiateAuth" {
				body = map[string]any{"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": clientID,
					"AuthParameters": map[string]string{"USERNAME": user, "PASSWORD": "property-test-wrong-password"}}
			}
			if err := rawCall(op, body); err != nil {
				return err
			}
		}
	}
	if left := f.queued(user); len(left) > 0 {
		return fmt.Errorf("faults still queued after draining: %v", left)
	}
	return nil
}

// rawCall sends one request to the fake, bypassing the SDK.
func rawCall(op string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, fake.URL(), bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("X-Amz-Target", "AWSCognitoIdentityProviderService."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// transitionLog collects the transitions the reconciler reports.
type transitionLog struct {
	mu   sync.Mutex
	seen []lifecycle.Transition
}

var transitions = &transitionLog{}

func (l *transitionLog) add(t lifecycle.Transition) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen = append(l.seen, t)
}

// take returns the transitions reported since the last take.
func (l *transitionLog) take() []lifecycle.Transition {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.seen
	l.seen = nil
	return out
}

// logBuffer collects the reconciler's JSON log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// take returns the lines written since the last take.
func (b *logBuffer) take() []map[string]any {
	b.mu.Lock()
	data := append([]byte(nil), b.buf.Bytes()...)
	b.buf.Reset()
	b.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) == nil {
			out = append(out, line)
		}
	}
	return out
}

// enrollment is one SoftwareTokenEnrollment of a sequence.
type enrollment struct {
	ns, name string
	// touched: an input of the enrollment (its spec, its rotate annotation,
	// the contents of a Secret it reads) changed since a reconcile last
	// recorded its inputs in the status. Until then a backoff or a stall
	// must hold.
	touched bool
	// badTemplate: its secretTemplate has a label value the API server refuses.
	badTemplate bool
	// uid is the enrollment's UID; gone: it was deleted and has gone.
	uid  ktypes.UID
	gone bool
	// unseen: a Secret of its namespace was deleted, or let go, since its
	// last reconcile; its status cannot know yet.
	unseen bool
}

func (e *enrollment) String() string { return e.ns + "/" + e.name }

func (e *enrollment) key() ktypes.NamespacedName {
	return ktypes.NamespacedName{Namespace: e.ns, Name: e.name}
}

// world is one sequence: its namespaces, its Cognito pool, app client and
// user, its enrollments, and the log of the steps taken so far.
type world struct {
	t    *testing.T
	rng  *rand.Rand
	seed uint64
	idx  int
	// start is the fake clock when the sequence began.
	start time.Time
	test  string

	mfa       string
	tokenFlow bool
	replace   cognitofake.ReplaceMode
	oneTime   bool
	// disable is what the fake does when TOTP is turned off where MFA is
	// required: the documents are silent, so each sequence draws one.
	disable cognitofake.DisableMode
	// lockout: the fake locks the user out after five failed passwords or
	// codes; reused: what VerifySoftwareToken answers to a reused code.
	lockout bool
	reused  cognitofake.ReusedCodeMode

	pool, clientID, user, password, token string

	nss  []string
	enrs []*enrollment
	// missing: the namespaces whose credentials (or token) Secret is deleted.
	missing map[string]bool
	// badSecret: the credentials Secrets hold a wrong password (or token).
	badSecret bool
	// nsUID are the namespaces' UIDs; nsDeleting the ones whose deletion
	// began, nsGone the ones the namespace controller let go.
	nsUID              map[string]ktypes.UID
	nsDeleting, nsGone map[string]bool

	steps []string
	// violation is the first invariant broken, with the step that broke it.
	violation string
	stats     *stats
}

// credName is the Secret the enrollments sign in with.
func (w *world) credName() string {
	if w.tokenFlow {
		return "token"
	}
	return "creds"
}

var worldCount int

var reusedModes = map[cognitofake.ReusedCodeMode]string{cognitofake.ReusedCodeMismatch: "a mismatch",
	cognitofake.ReusedCodeExpired: "expired"}

var disableModes = map[cognitofake.DisableMode]string{cognitofake.DisableEmptiesList: "empties the list",
	cognitofake.DisableRefused: "refused", cognitofake.DisableIgnored: "ignored"}

// newWorld creates a sequence's namespace, pool, app client, user,
// credentials and first enrollment.
// The clock starts at start, plus a phase within the TOTP step drawn from
// the seed unless exact.
func newWorld(t *testing.T, test string, seed uint64, idx int, start time.Time, exact bool, replace cognitofake.ReplaceMode, st *stats) *world {
	t.Helper()
	worldCount++
	n := worldCount
	w := &world{t: t, rng: rand.New(rand.NewPCG(seed, uint64(idx))), seed: seed, idx: idx, start: start, test: test,
		replace: replace, missing: map[string]bool{}, stats: st,
		nsUID: map[string]ktypes.UID{}, nsDeleting: map[string]bool{}, nsGone: map[string]bool{},
		pool: fmt.Sprintf("us-east-1_Prop%d", n), clientID: fmt.Sprintf("propclient%d", n),
		user: fmt.Sprintf("prop-user-%d", n), password: fmt.Sprintf("Pw-%d-0-correct-horse", n)}
	w.mfa = cognitofake.MFAOptional
	if w.rng.IntN(2) == 0 {
		w.mfa = cognitofake.MFAOn
	}
	w.tokenFlow = w.rng.IntN(4) == 0
	w.oneTime = w.rng.IntN(4) == 0
	w.disable = cognitofake.DisableMode(w.rng.IntN(3))
	w.lockout = w.rng.IntN(2) == 0
	// Both answers VerifySoftwareToken may give a reused code (undocumented);
	// under ReusedCodeMismatch a consumer's use of the stored seed's code
	// reads as a wrong code, which the user's code ledger takes as evidence,
	// not proof (PROPERTY_SEED=6888316424894856757 PROPERTY_SEQUENCE=26
	// PROPERTY_START=2026-12-06T15:54:48Z stalled AlreadyEnrolled before it).
	w.reused = cognitofake.ReusedCodeMode(w.rng.IntN(2))
	if phase := time.Duration(w.rng.IntN(30)) * time.Second; !exact {
		w.start = start.Add(phase)
	}

	clock.Set(w.start)
	worldStart = w.start
	crashy.disarm()
	fake.SetReplaceMode(replace)
	fake.SetOneTimeCodes(w.oneTime)
	fake.SetDisableWhereRequired(w.disable)
	fake.SetLockout(w.lockout)
	fake.SetReusedVerifyCode(w.reused)
	st.modes[fmt.Sprintf("%s/%s/lockout=%v/reused=%s/oneTime=%v", w.mfa, disableModes[w.disable], w.lockout, reusedModes[w.reused], w.oneTime)]++
	fake.CreatePool(w.pool, w.mfa, true)
	fake.CreateClient(cognitofake.AppClient{ID: w.clientID, PoolID: w.pool})
	fake.CreateUser(w.pool, cognitofake.User{Username: w.user, Password: w.password})
	if w.tokenFlow {
		w.token = fake.IssueAccessToken(w.clientID, w.user)
	}
	ns := fmt.Sprintf("prop-%d", n)
	w.addNamespace(ns)
	w.createEnrollment(ns, "first")
	return w
}

func (w *world) addNamespace(ns string) {
	n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
	w.must(k8s.Create(ctx(), n))
	w.nss = append(w.nss, ns)
	w.nsUID[ns] = n.UID
	w.writeCredentials(ns)
}

func ctx() context.Context { return context.Background() }

func (w *world) must(err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatalf("%v\n%s", err, w.report())
	}
}

// credentialData is what the credentials Secret holds now.
func (w *world) credentialData() map[string]string {
	if w.tokenFlow {
		token := w.token
		if w.badSecret {
			token = "not-a-token-" + token[len(token)-8:]
		}
		return map[string]string{"token": token}
	}
	password := w.password
	if w.badSecret {
		password = "wrong-" + password
	}
	return map[string]string{"username": w.user, "password": password}
}

// writeCredentials creates or updates the credentials Secret of ns.
func (w *world) writeCredentials(ns string) {
	if w.nsDeleting[ns] { // the API server refuses new objects there
		w.missing[ns] = true
		return
	}
	s := &corev1.Secret{}
	err := k8s.Get(ctx(), ktypes.NamespacedName{Namespace: ns, Name: w.credName()}, s)
	if apierrors.IsNotFound(err) {
		s = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: w.credName()}, StringData: w.credentialData()}
		w.must(k8s.Create(ctx(), s))
	} else {
		w.must(err)
		s.Data, s.StringData = nil, w.credentialData()
		w.must(k8s.Update(ctx(), s))
	}
	delete(w.missing, ns)
	if !s.DeletionTimestamp.IsZero() {
		// Written, but going (a finalizer holds it): it must be created
		// again once it has gone.
		w.missing[ns] = true
	}
	w.touchNamespace(ns)
}

func (w *world) deleteCredentials(ns string) {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: w.credName()}}
	w.must(client.IgnoreNotFound(k8s.Delete(ctx(), s)))
	w.missing[ns] = true
	w.touchNamespace(ns)
}

// touchNamespace marks the enrollments that read ns's credentials as having new inputs.
func (w *world) touchNamespace(ns string) {
	for _, e := range w.enrs {
		if e.ns == ns {
			e.touched = true
		}
	}
}

// createEnrollment creates an enrollment of the world's user with a random spec.
func (w *world) createEnrollment(ns, name string) *enrollment {
	spec := v1alpha1.SoftwareTokenEnrollmentSpec{UserPoolID: w.pool, ClientID: w.clientID,
		MFAPreference: v1alpha1.MFAPreferencePreferred}
	if w.tokenFlow {
		spec.AccessTokenSecretRef = &v1alpha1.SecretKeySelector{Name: "token", Key: "token"}
	} else {
		spec.CredentialsSecretRef = &v1alpha1.LocalObjectReference{Name: "creds"}
	}
	if w.rng.IntN(2) == 0 {
		spec.MFAPreference = v1alpha1.MFAPreferenceEnabled
	}
	if w.rng.IntN(3) == 0 {
		spec.Rotation = &v1alpha1.Rotation{Interval: &metav1.Duration{Duration: rotationIntervals[w.rng.IntN(len(rotationIntervals))]}}
	}
	if w.rng.IntN(3) == 0 {
		spec.SecretTemplate = &v1alpha1.SecretTemplate{Labels: map[string]string{"team": "blue"}}
	}
	if w.rng.IntN(3) == 0 {
		spec.FriendlyDeviceName = "robot-1"
	}
	spec.DeletionPolicy = v1alpha1.DeletionPolicyRetain
	if w.rng.IntN(2) == 0 {
		spec.DeletionPolicy = v1alpha1.DeletionPolicyDisable
	}
	ste := &v1alpha1.SoftwareTokenEnrollment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spec}
	w.must(k8s.Create(ctx(), ste))
	e := &enrollment{ns: ns, name: name, touched: true, uid: ste.UID}
	w.enrs = append(w.enrs, e)
	return e
}

var rotationIntervals = []time.Duration{2 * time.Minute, 10 * time.Minute, 24 * time.Hour}

// get reads an enrollment; nil once it has gone (deleted, its finalizers lifted).
func (w *world) get(e *enrollment) *v1alpha1.SoftwareTokenEnrollment {
	w.t.Helper()
	if e.gone {
		return nil
	}
	ste := &v1alpha1.SoftwareTokenEnrollment{}
	err := k8s.Get(ctx(), e.key(), ste)
	if apierrors.IsNotFound(err) || (err == nil && ste.UID != e.uid) {
		e.gone = true
		return nil
	}
	w.must(err)
	return ste
}

// edit changes an enrollment (an edit of its inputs).
func (w *world) edit(e *enrollment, change func(*v1alpha1.SoftwareTokenEnrollment)) {
	w.t.Helper()
	w.must(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ste := w.get(e)
		if ste == nil {
			return nil
		}
		change(ste)
		return k8s.Update(ctx(), ste)
	}))
	e.touched = true
}

// secretOf reads an enrollment's Secret, or nil.
func (w *world) secretOf(ste *v1alpha1.SoftwareTokenEnrollment) *corev1.Secret {
	s := &corev1.Secret{}
	err := k8s.Get(ctx(), ktypes.NamespacedName{Namespace: ste.Namespace, Name: v1alpha1.SecretNameOf(ste)}, s)
	if apierrors.IsNotFound(err) {
		return nil
	}
	w.must(err)
	return s
}

// reconciled is what one Reconcile call did.
type reconciled struct {
	res   reconcile.Result
	err   error
	calls map[string]int
	plan  string
	// failure is the reason and class the reconcile reported, if it failed.
	failure string
	crashed bool
}

func (o reconciled) String() string {
	var b strings.Builder
	b.WriteString("plan=" + o.plan)
	if o.failure != "" {
		b.WriteString(" failed=" + o.failure)
	}
	if o.crashed {
		b.WriteString(" CRASHED")
	}
	if len(o.calls) > 0 {
		b.WriteString(" calls=" + formatCalls(o.calls))
	}
	if o.err != nil {
		b.WriteString(" err=" + o.err.Error())
	}
	if o.res.RequeueAfter > 0 {
		b.WriteString(" requeueAfter=" + o.res.RequeueAfter.Round(time.Second).String())
	} else if requeued(o.res) {
		b.WriteString(" requeue")
	}
	return b.String()
}

var opShort = map[string]string{"InitiateAuth": "Init", "RespondToAuthChallenge": "Respond", "AssociateSoftwareToken": "Assoc",
	"VerifySoftwareToken": "Verify", "SetUserMFAPreference": "Pref", "GetUser": "GetUser"}

func formatCalls(calls map[string]int) string {
	ops := make([]string, 0, len(calls))
	for op := range calls {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	parts := make([]string, 0, len(ops))
	for _, op := range ops {
		name := opShort[op]
		if name == "" {
			name = op
		}
		parts = append(parts, fmt.Sprintf("%s:%d", name, calls[op]))
	}
	return strings.Join(parts, ",")
}

// reconcile calls the reconciler once for e and checks what only a single
// reconcile can show: it associates at most one token, and it asks nothing
// of Cognito while a backoff or a stall holds on unchanged inputs.
func (w *world) reconcile(e *enrollment) reconciled {
	w.t.Helper()
	pre := w.get(e)
	if pre == nil {
		return reconciled{plan: "gone"}
	}
	now := clock.Now()
	quiet := ""
	deleting := !pre.DeletionTimestamp.IsZero()
	if st := &pre.Status; !e.touched && st.ObservedGeneration == pre.Generation {
		if st.FailedAttempts > 0 && st.NextAttemptTime != nil && now.Before(st.NextAttemptTime.Time) {
			quiet = fmt.Sprintf("it is backing off until %s (now %s) and no input changed",
				st.NextAttemptTime.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
		// A DuplicateEnrollment is looked at again (one sign-in) every
		// RetryMax, since the enrollment holding the user may be gone.
		recheck := st.LastFailureTime != nil && !now.Before(st.LastFailureTime.Add(r.RetryMax))
		// A deletion stalled by Cognito (DisableRejected) is tried again
		// after its backoff until the deletion timeout.
		if c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionStalled); !deleting && c != nil && c.Status == metav1.ConditionTrue &&
			c.Reason != v1alpha1.ReasonSecretConflict && c.Reason != v1alpha1.ReasonInvalidSpec &&
			(c.Reason != v1alpha1.ReasonDuplicateEnrollment || !recheck) {
			quiet = fmt.Sprintf("it is Stalled (%s) and no input changed", c.Reason)
		}
	}
	logs.take()
	transitions.take()
	before := fake.CallCounts()
	t0 := time.Now()
	res, err := r.Reconcile(ctx(), reconcile.Request{NamespacedName: e.key()})
	for _, tr := range transitions.take() {
		w.stats.pairs[string(tr.Phase)+"×"+string(tr.Event)]++
		if tr.Impossible != "" {
			w.violate(fmt.Sprintf("invariant 5 (the table holds): a reconcile of %s met %s × %s, which the transitions table calls impossible (%s)",
				e, tr.Phase, tr.Event, tr.Impossible))
		}
	}
	w.stats.inReconcile += time.Since(t0)
	o := reconciled{res: res, err: err, calls: map[string]int{}, crashed: crashy.hasCrashed()}
	for op, n := range fake.CallCounts() {
		if d := n - before[op]; d != 0 {
			o.calls[op] = d
		}
	}
	for _, line := range logs.take() {
		switch line["msg"] {
		case "decided":
			o.plan = fmt.Sprint(line["plan"])
		case "enrollment not complete":
			o.failure = fmt.Sprintf("%v/%v", line["reason"], line["class"])
		}
	}
	w.stats.reconciles++
	w.stats.plans[o.plan]++
	w.stats.associations += o.calls["AssociateSoftwareToken"]
	if n := o.calls["AssociateSoftwareToken"]; n > 1 {
		w.violate(fmt.Sprintf("invariant 4 (backoff holds): one reconcile of %s associated %d tokens (%s)", e, n, o))
	}
	if quiet != "" {
		w.stats.quietChecks++
	}
	if total := sumCalls(o.calls); quiet != "" && total > 0 {
		w.violate(fmt.Sprintf("invariant 4 (backoff holds): %s made %d Cognito calls (%s) although %s", e, total, o, quiet))
	}
	// A reconcile that only paused (a backoff, or the last seconds of a TOTP
	// step) has not acted on a change of inputs yet.
	if !o.crashed && err == nil && !requeued(res) && o.plan != "BackingOff" {
		e.touched = false
	}
	if !o.crashed {
		e.unseen = false
	}
	return o
}

func sumCalls(calls map[string]int) int {
	n := 0
	for _, c := range calls {
		n += c
	}
	return n
}

// snapshot is what the manager's watches would see change for e: its
// generation and annotations (the predicates let nothing else through) and
// the Secrets it names.
func (w *world) snapshot(e *enrollment) string {
	ste := w.get(e)
	if ste == nil {
		return "gone"
	}
	keys := make([]string, 0, len(ste.Annotations))
	for k := range ste.Annotations {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "gen=%d", ste.Generation)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%s", k, ste.Annotations[k])
	}
	for _, name := range []string{v1alpha1.SecretNameOf(ste), w.credName()} {
		s := &corev1.Secret{}
		err := k8s.Get(ctx(), ktypes.NamespacedName{Namespace: e.ns, Name: name}, s)
		switch {
		case apierrors.IsNotFound(err):
			fmt.Fprintf(&b, " %s=absent", name)
		case err != nil:
			w.must(err)
		default:
			fmt.Fprintf(&b, " %s=%s", name, s.ResourceVersion)
		}
	}
	return b.String()
}

// step records a step in the sequence's log.
func (w *world) step(format string, args ...any) {
	w.steps = append(w.steps, fmt.Sprintf("[%s] ", clock.Now().Sub(w.start).Round(time.Second))+fmt.Sprintf(format, args...))
}

// violate records the first invariant violation.
func (w *world) violate(msg string) {
	if w.violation == "" {
		w.violation = msg
	}
}

// report is everything needed to understand and reproduce a failure.
func (w *world) report() string {
	var b strings.Builder
	fmt.Fprintf(&b, "reproduce: PROPERTY_SEED=%d PROPERTY_SEQUENCE=%d PROPERTY_START=%s go test ./test/property/ -run '^%s$' -count=1 -v\n",
		w.seed, w.idx, w.start.UTC().Format(time.RFC3339Nano), w.test)
	flow := "credentials"
	if w.tokenFlow {
		flow = "access token"
	}
	mode := "ReplaceOnVerify"
	if w.replace == cognitofake.ReplaceImmediately {
		mode = "ReplaceImmediately"
	}
	fmt.Fprintf(&b, "world: pool %s MFA %s, %s flow, %s, one-time codes %v, turning TOTP off where required: %s, lockout %v, a reused code on VerifySoftwareToken: %s, user %s, namespaces %v\n",
		w.pool, w.mfa, flow, mode, w.oneTime, disableModes[w.disable], w.lockout, reusedModes[w.reused], w.user, w.nss)
	b.WriteString("steps:\n")
	for i, s := range w.steps {
		fmt.Fprintf(&b, "  %2d. %s\n", i+1, s)
	}
	b.WriteString(w.state())
	return b.String()
}

// state describes the enrollments, their Secrets and the Cognito user, by
// seed fingerprints.
func (w *world) state() string {
	var b strings.Builder
	fp := fingerprint
	u := fake.User(w.pool, w.user)
	fmt.Fprintf(&b, "cognito user: token %s, pending %s, enabled %v, preferred %v, device %q; queued faults %v\n",
		fp(u.TOTPSecret), fp(u.PendingSecret), u.TOTPEnabled, u.TOTPPreferred, u.DeviceName, faults.queued(w.user))
	for _, e := range w.enrs {
		ste := &v1alpha1.SoftwareTokenEnrollment{}
		if err := k8s.Get(ctx(), e.key(), ste); err != nil {
			fmt.Fprintf(&b, "%s: %v\n", e, err)
			continue
		}
		st := &ste.Status
		fmt.Fprintf(&b, "%s: generation %d, observed %d, failedAttempts %d, nextAttempt %v, nextRotation %v, lastRotateRequest %q, rotate %q, pref %s\n",
			e, ste.Generation, st.ObservedGeneration, st.FailedAttempts, timeOf(st.NextAttemptTime), timeOf(st.NextRotationTime),
			st.LastRotateRequest, ste.Annotations[v1alpha1.AnnotationRotate], ste.Spec.MFAPreference)
		for _, c := range st.Conditions {
			fmt.Fprintf(&b, "    %s=%s %s (gen %d): %s\n", c.Type, c.Status, c.Reason, c.ObservedGeneration, c.Message)
		}
		s := &corev1.Secret{}
		if err := k8s.Get(ctx(), ktypes.NamespacedName{Namespace: e.ns, Name: v1alpha1.SecretNameOf(ste)}, s); err == nil {
			fmt.Fprintf(&b, "    Secret %s: secret %s, pending-secret %s, record %s\n", s.Name,
				fp(string(s.Data[v1alpha1.KeySecret])), fp(string(s.Data[v1alpha1.KeyPendingSecret])),
				s.Annotations[v1alpha1.AnnotationRecord])
		} else {
			fmt.Fprintf(&b, "    Secret %s: %v\n", v1alpha1.SecretNameOf(ste), err)
		}
	}
	return b.String()
}

func timeOf(t *metav1.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// cleanup deletes a passed sequence's objects, so that the API server's
// store stays small however many sequences run.
func (w *world) cleanup() {
	for _, e := range w.enrs {
		ste := &v1alpha1.SoftwareTokenEnrollment{}
		if err := k8s.Get(ctx(), e.key(), ste); err != nil {
			continue
		}
		if len(ste.Finalizers) > 0 {
			patch := client.MergeFrom(ste.DeepCopy())
			ste.Finalizers = nil
			_ = k8s.Patch(ctx(), ste, patch)
		}
		_ = k8s.Delete(ctx(), ste)
	}
	for _, ns := range w.nss {
		_ = k8s.DeleteAllOf(ctx(), &corev1.Secret{}, client.InNamespace(ns))
	}
	for _, uid := range w.nsUID {
		_ = k8s.DeleteAllOf(ctx(), &corev1.Secret{}, client.InNamespace(claimNamespace),
			client.MatchingLabels{v1alpha1.LabelOriginNamespaceUID: string(uid)})
	}
	var leases coordinationv1.LeaseList
	if k8s.List(ctx(), &leases, client.InNamespace(claimNamespace)) == nil {
		for i := range leases.Items {
			if leases.Items[i].Annotations[v1alpha1.OperatorPrefix+"user-pool"] == w.pool {
				_ = k8s.Delete(ctx(), &leases.Items[i])
			}
		}
	}
}

// stats summarise what a test's sequences explored.
type stats struct {
	sequences, reconciles, associations int
	inReconcile                         time.Duration
	// quietChecks counts the reconciles that had to make no Cognito call.
	quietChecks int
	steps       map[string]int
	plans       map[string]int
	// pairs counts the (phase, event) pairs of the transitions table met.
	pairs map[string]int
	final map[string]int
	// modes counts the fake's mode combinations the sequences drew.
	modes map[string]int
}

func newStats() *stats {
	return &stats{steps: map[string]int{}, plans: map[string]int{}, pairs: map[string]int{}, final: map[string]int{}, modes: map[string]int{}}
}

func (s *stats) String() string {
	return fmt.Sprintf("%d sequences, %d reconciles (%s in Reconcile, %d during a backoff or stall), %d associations; steps %v; plans %v; %d table pairs met; final conditions %v; %d combinations of the fake's modes drawn",
		s.sequences, s.reconciles, s.inReconcile.Round(time.Millisecond), s.quietChecks, s.associations, s.steps, s.plans, len(s.pairs), s.final, len(s.modes))
}

// fingerprint names a seed without showing it.
func fingerprint(s string) string {
	if s == "" {
		return "-"
	}
	return totp.Fingerprint(s)
}

// requeued says the reconciler asked to be called again at once, as it does
// after a write conflict.
func requeued(res reconcile.Result) bool {
	return res.Requeue //nolint:staticcheck // SA1019: read what the reconciler still sets
}
