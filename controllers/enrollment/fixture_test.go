package enrollment_test

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	pqtotp "github.com/pquerna/otp/totp"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ktypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/lifecycle"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/localenv"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/totp"
)

// The one fixture of the envtest suite: a world per scenario, the waits and
// checks the scenarios share, and the monitors that check the safety
// invariants while a scenario runs.

// syncBuffer collects the manager's log for the leak checks.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var (
	// finalStatuses keeps each scenario's enrollments for the leak scan.
	finalStatuses []v1alpha1.SoftwareTokenEnrollment
	seq           int
	nsUnsafe      = regexp.MustCompile(`[^a-z0-9]+`)
)

// world is one scenario's namespace and Cognito objects, named uniquely.
type world struct {
	t        *testing.T
	ns       string
	poolID   string
	clientID string
	username string
	password string
	// clientSecret is the app client's secret, when it has one.
	clientSecret string
}

// newWorld makes a namespace, a pool with the given MFA mode and TOTP on,
// an app client and a confirmed user. Enrollments in the namespace are
// deleted at the end, so they stop calling the fake.
func newWorld(t *testing.T, mfa string) *world {
	t.Helper()
	seq++
	w := &world{t: t, ns: fmt.Sprintf("t%d-%s", seq, nsUnsafe.ReplaceAllString(strings.ToLower(t.Name()), "-")),
		poolID: fmt.Sprintf("us-east-1_Pool%d", seq), clientID: fmt.Sprintf("client%d", seq),
		username: fmt.Sprintf("bot-%d", seq), password: fmt.Sprintf("Pw-%d-correct-horse", seq)}
	if len(w.ns) > 63 {
		w.ns = strings.TrimRight(w.ns[:63], "-")
	}
	fake.CreatePool(w.poolID, mfa, true)
	fake.CreateClient(cognitofake.AppClient{ID: w.clientID, PoolID: w.poolID})
	fake.CreateUser(w.poolID, cognitofake.User{Username: w.username, Password: w.password})
	must(t, k8s.Create(ctx(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: w.ns}}))
	t.Cleanup(func() {
		var list v1alpha1.SoftwareTokenEnrollmentList
		if err := k8s.List(ctx(), &list, client.InNamespace(w.ns)); err == nil {
			finalStatuses = append(finalStatuses, list.Items...)
		}
		_ = k8s.DeleteAllOf(ctx(), &v1alpha1.SoftwareTokenEnrollment{}, client.InNamespace(w.ns))
	})
	return w
}

// neighbour makes a second namespace, named after w's with the suffix,
// whose enrollments are deleted at the end, and a world in it for the same
// pool, client and user (the caller changes what differs).
func (w *world) neighbour(suffix string) *world {
	w.t.Helper()
	ns := strings.TrimRight(w.ns[:min(len(w.ns), 63-len(suffix))], "-") + suffix
	must(w.t, k8s.Create(ctx(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	w.t.Cleanup(func() { _ = k8s.DeleteAllOf(ctx(), &v1alpha1.SoftwareTokenEnrollment{}, client.InNamespace(ns)) })
	n := *w
	n.ns = ns
	return &n
}

func ctx() context.Context { return context.Background() }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (w *world) secret(name string, data map[string]string) *corev1.Secret {
	w.t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: name}, StringData: data}
	must(w.t, k8s.Create(ctx(), s))
	return s
}

func (w *world) credentials() {
	w.secret("creds", map[string]string{"username": w.username, "password": w.password})
}

// enrollment creates an enrollment; spec defaults to the credentials flow.
func (w *world) enrollment(name string, mutate ...func(*v1alpha1.SoftwareTokenEnrollmentSpec)) *v1alpha1.SoftwareTokenEnrollment {
	w.t.Helper()
	ste := &v1alpha1.SoftwareTokenEnrollment{
		ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: name},
		Spec: v1alpha1.SoftwareTokenEnrollmentSpec{UserPoolID: w.poolID, ClientID: w.clientID,
			CredentialsSecretRef: &v1alpha1.LocalObjectReference{Name: "creds"}},
	}
	for _, m := range mutate {
		m(&ste.Spec)
	}
	must(w.t, k8s.Create(ctx(), ste))
	return ste
}

func (w *world) get(name string) *v1alpha1.SoftwareTokenEnrollment {
	w.t.Helper()
	ste := &v1alpha1.SoftwareTokenEnrollment{}
	must(w.t, k8s.Get(ctx(), keyOf(w.ns, name), ste))
	return ste
}

// update changes an enrollment, retrying when the controller wrote it meanwhile.
func (w *world) update(name string, change func(*v1alpha1.SoftwareTokenEnrollment)) *v1alpha1.SoftwareTokenEnrollment {
	w.t.Helper()
	var ste *v1alpha1.SoftwareTokenEnrollment
	must(w.t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ste = w.get(name)
		change(ste)
		return k8s.Update(ctx(), ste)
	}))
	return ste
}

func (w *world) getSecret(name string) *corev1.Secret {
	w.t.Helper()
	s := &corev1.Secret{}
	must(w.t, k8s.Get(ctx(), keyOf(w.ns, name), s))
	return s
}

// waitCondition waits until the enrollment's current generation has the
// condition with the status and reason, and returns the enrollment.
func (w *world) waitCondition(name, condType string, status metav1.ConditionStatus, reason string) *v1alpha1.SoftwareTokenEnrollment {
	w.t.Helper()
	return w.waitConditionWithin(name, condType, status, reason, 30*time.Second)
}

// readyWithin bounds the wait for Enrolled: a resumed proof may find its
// step's code spent (the code ledger) and wait for the next step, and the
// verified seed is handed out only once the step of its code has passed.
const readyWithin = 2*totp.Period + 15*time.Second

func (w *world) waitConditionWithin(name, condType string, status metav1.ConditionStatus, reason string, d time.Duration) *v1alpha1.SoftwareTokenEnrollment {
	w.t.Helper()
	var last *v1alpha1.SoftwareTokenEnrollment
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		last = w.get(name)
		c := meta.FindStatusCondition(last.Status.Conditions, condType)
		if c != nil && c.Status == status && c.Reason == reason && last.Status.ObservedGeneration == last.Generation {
			return last
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.t.Fatalf("%s never had %s=%s reason %s; conditions: %+v", name, condType, status, reason, last.Status.Conditions)
	return nil
}

func (w *world) waitReady(name string) *v1alpha1.SoftwareTokenEnrollment {
	w.t.Helper()
	return w.waitConditionWithin(name, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonEnrolled, readyWithin)
}

// waitReadyAtOnce polls every 2 ms, so that the caller acts the instant the
// enrollment turns Ready (waitReady polls every 50 ms).
func (w *world) waitReadyAtOnce(name string, timeout time.Duration) *v1alpha1.SoftwareTokenEnrollment {
	w.t.Helper()
	var ste *v1alpha1.SoftwareTokenEnrollment
	for deadline := time.Now().Add(timeout); ; time.Sleep(2 * time.Millisecond) {
		if ste = w.get(name); isReady(ste) {
			return ste
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("never Ready: %+v", ste.Status.Conditions)
		}
	}
}

// waitStalled waits for Stalled=True with the reason and checks the other
// conditions agree with it.
func (w *world) waitStalled(name, reason string) *v1alpha1.SoftwareTokenEnrollment {
	w.t.Helper()
	ste := w.waitCondition(name, v1alpha1.ConditionStalled, metav1.ConditionTrue, reason)
	expectCondition(w.t, ste, v1alpha1.ConditionReady, metav1.ConditionFalse, reason)
	expectAbsent(w.t, ste, v1alpha1.ConditionReconciling)
	return ste
}

func expectCondition(t *testing.T, ste *v1alpha1.SoftwareTokenEnrollment, condType string, status metav1.ConditionStatus, reason string) {
	t.Helper()
	c := meta.FindStatusCondition(ste.Status.Conditions, condType)
	if c == nil || c.Status != status || c.Reason != reason {
		t.Fatalf("%s: want %s=%s reason %s, got %+v", ste.Name, condType, status, reason, c)
	}
}

// expectAbsent asserts a condition is not set: Reconciling and Stalled are
// present only while True.
func expectAbsent(t *testing.T, ste *v1alpha1.SoftwareTokenEnrollment, condType string) {
	t.Helper()
	if c := meta.FindStatusCondition(ste.Status.Conditions, condType); c != nil {
		t.Fatalf("%s: want no %s condition, got %+v", ste.Name, condType, c)
	}
}

// quietFor asserts the fake receives no call at all for d.
func quietFor(t *testing.T, d time.Duration) {
	t.Helper()
	if before, after, quiet := localenv.Quiet(d, fake.CallCounts); !quiet {
		t.Fatalf("Cognito was called while nothing changed: before %v, after %v", before, after)
	}
}

// callsSince is the per-operation difference between two snapshots.
func callsSince(before map[string]int) map[string]int {
	out := map[string]int{}
	for op, n := range fake.CallCounts() {
		if d := n - before[op]; d != 0 {
			out[op] = d
		}
	}
	return out
}

func expectCalls(t *testing.T, got, want map[string]int) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Cognito calls: got %v, want %v", got, want)
	}
}

// signInWithMFA signs in the way a consumer of the Secret would, with the SDK
// and pquerna/otp directly: nothing of the operator's code is used.
func (w *world) signInWithMFA(secret string, offset time.Duration) error {
	code, err := pqtotp.GenerateCode(secret, time.Now().Add(offset))
	if err != nil {
		return err
	}
	consumer := localenv.Consumer{API: localenv.SDK(fake.URL()), ClientID: w.clientID, ClientSecret: w.clientSecret,
		Username: w.username, Password: w.password}
	_, err = consumer.SignInWithMFA(ctx(), code)
	return err
}

// recordOf is the record on an enrollment's Secret.
func recordOf(s *corev1.Secret) lifecycle.Record {
	rec, err := lifecycle.ReadRecord(s.Annotations)
	if err != nil {
		panic(err)
	}
	return rec
}

// setRecord replaces the record on a Secret (the caller writes it).
func setRecord(s *corev1.Secret, rec lifecycle.Record) {
	s.Annotations[v1alpha1.AnnotationRecord] = rec.Encode()
}

func keyOf(ns, name string) ktypes.NamespacedName {
	return ktypes.NamespacedName{Namespace: ns, Name: name}
}

// isReady says Ready is True for the enrollment's current generation.
func isReady(ste *v1alpha1.SoftwareTokenEnrollment) bool {
	c := findCond(ste, v1alpha1.ConditionReady)
	return c != nil && c.Status == metav1.ConditionTrue && ste.Status.ObservedGeneration == ste.Generation
}

func findCond(ste *v1alpha1.SoftwareTokenEnrollment, t string) *metav1.Condition {
	return meta.FindStatusCondition(ste.Status.Conditions, t)
}

// conditionOf is the condition, or a zero one when it is not set.
func conditionOf(ste *v1alpha1.SoftwareTokenEnrollment, t string) metav1.Condition {
	if c := findCond(ste, t); c != nil {
		return *c
	}
	return metav1.Condition{}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func waitGeneration(w *world, name string, gen int64) {
	w.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if w.get(name).Status.ObservedGeneration >= gen {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.t.Fatalf("generation %d never observed", gen)
}

// expectEnrolled checks the Secret, the status and the fake's view of the
// user after an enrollment, and proves the secret with an independent sign-in.
func (w *world) expectEnrolled(name string, wantUsername bool) *corev1.Secret {
	t := w.t
	t.Helper()
	ste := w.waitReady(name)
	expectAbsent(t, ste, v1alpha1.ConditionReconciling)
	expectAbsent(t, ste, v1alpha1.ConditionStalled)
	s := w.getSecret(ste.Status.SecretName)
	secret := string(s.Data[v1alpha1.KeySecret])
	if err := totp.CheckSecret(secret); err != nil {
		t.Fatalf("stored secret: %v", err)
	}
	if _, ok := s.Data[v1alpha1.KeyPendingSecret]; ok {
		t.Fatal("a pending secret is left in the Secret")
	}
	if got := fake.User(w.poolID, w.username); got.TOTPSecret != secret || got.PendingSecret != "" {
		t.Fatal("Cognito's verified token is not the stored secret")
	}
	if ste.Status.SecretFingerprint != totp.Fingerprint(secret) || ste.Status.VerificationStatus != "SUCCESS" ||
		ste.Status.EnrolledTime == nil {
		t.Fatalf("status: %+v", ste.Status)
	}
	if s.Labels["app.kubernetes.io/managed-by"] != "cognito-mfa-operator" || s.Labels["mfa.cognito-operator.dev/enrollment"] != name {
		t.Fatalf("labels: %v", s.Labels)
	}
	// Owned by the UID label, never by an ownerReference, which the
	// garbage collector would follow.
	if s.Labels[v1alpha1.LabelEnrollmentUID] != string(ste.UID) || len(s.OwnerReferences) != 0 || s.Type != corev1.SecretTypeOpaque ||
		!contains(s.Finalizers, v1alpha1.FinalizerSeed) {
		t.Fatalf("Secret is not an Opaque Secret owned by the enrollment, with its seed protected: %+v", s.ObjectMeta)
	}
	if (string(s.Data["username"]) == w.username) != wantUsername {
		t.Fatalf("username key = %q", s.Data["username"])
	}
	url := string(s.Data[v1alpha1.KeyOTPAuthURL])
	if !strings.HasPrefix(url, "otpauth://totp/") || !strings.Contains(url, "secret="+secret) ||
		!strings.Contains(url, "algorithm=SHA1&digits=6&period=30") {
		t.Fatalf("otpauth-url = %q", url)
	}
	if err := w.signInWithMFA(secret, 0); err != nil {
		t.Fatalf("signing in with the stored secret: %v", err)
	}
	if err := w.signInWithMFA(secret, -5*time.Minute); err == nil || !strings.Contains(err.Error(), "CodeMismatch") {
		t.Fatalf("a stale code was not rejected: %v", err)
	}
	return s
}

// The user's verified seed at Cognito is stored in the enrollment's Secret.
func (w *world) expectSeedStored(secretName string) {
	w.t.Helper()
	u := fake.User(w.poolID, w.username)
	if u.TOTPSecret == "" {
		return
	}
	s := w.getSecret(secretName)
	if storedNowhere(u.TOTPSecret, string(s.Data[v1alpha1.KeySecret]), string(s.Data[v1alpha1.KeyPendingSecret])) {
		w.t.Fatal("the seed Cognito holds for the user is stored nowhere")
	}
}

// expectSeedKeptOrMFAOff fails when the Secret is gone while Cognito still
// holds the deleted seed as the user's enabled token.
func (w *world) expectSeedKeptOrMFAOff(secretName, seed string) {
	w.t.Helper()
	err := k8s.Get(ctx(), keyOf(w.ns, secretName), &corev1.Secret{})
	u := fake.User(w.poolID, w.username)
	w.t.Logf("secret exists: %v; cognito: token is the stored seed %v, enabled %v; events Disabled=%v DisableAbandoned=%v",
		err == nil, u.TOTPSecret == seed, u.TOTPEnabled, w.hasEvent("Disabled"), w.hasEvent("DisableAbandoned"))
	if apierrors.IsNotFound(err) && u.TOTPSecret == seed && u.TOTPEnabled {
		w.t.Errorf("Secret %q was deleted although Cognito still holds its seed as the user's enabled token (the user is locked out)", secretName)
	}
}

// warnings counts the Warning Events with a reason for an enrollment.
func (w *world) warnings(name, reason string) int {
	var list corev1.EventList
	must(w.t, k8s.List(ctx(), &list, client.InNamespace(w.ns)))
	n := 0
	for _, e := range list.Items {
		if e.InvolvedObject.Name == name && e.Type == corev1.EventTypeWarning && e.Reason == reason {
			n++
		}
	}
	return n
}

func (w *world) hasEvent(reason string) bool {
	var list eventsv1.EventList
	must(w.t, k8s.List(ctx(), &list, client.InNamespace(w.ns)))
	for _, e := range list.Items {
		if e.Reason == reason {
			return true
		}
	}
	return false
}

// rejectEveryCode makes VerifySoftwareToken refuse the user's codes for the
// rest of the test, as a manager whose clock is wrong would see.
func (w *world) rejectEveryCode() {
	faults := make([]cognitofake.Fault, 1000)
	for i := range faults {
		faults[i] = cognitofake.Fault{User: w.username, Code: "EnableSoftwareTokenMFAException", Message: "Code mismatch"}
	}
	fake.InjectFault("VerifySoftwareToken", faults...)
	w.t.Cleanup(func() { fake.ResetFaults(w.username) })
}

func accessTokenSpec(w *world, s *v1alpha1.SoftwareTokenEnrollmentSpec) {
	s.ClientID, s.CredentialsSecretRef = "", nil
	s.AccessTokenSecretRef = &v1alpha1.SecretKeySelector{Name: "token", Key: "token"}
}

// enrollElsewhere gives the user a verified token whose seed nobody stored here.
func (w *world) enrollElsewhere() {
	fake.SetVerifiedToken(w.poolID, w.username, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
}

func (w *world) requestRotation(name, value string) {
	w.update(name, func(ste *v1alpha1.SoftwareTokenEnrollment) {
		if ste.Annotations == nil {
			ste.Annotations = map[string]string{}
		}
		ste.Annotations[v1alpha1.AnnotationRotate] = value
	})
}

// waitRotateHandled allows for TOTP steps: a rotation whose proofs find
// a step's codes spent (the user's code ledger) waits for a later one.
func (w *world) waitRotateHandled(name, value string) *v1alpha1.SoftwareTokenEnrollment {
	w.t.Helper()
	for deadline := time.Now().Add(100 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if ste := w.get(name); ste.Status.LastRotateRequest == value {
			return ste
		}
	}
	w.t.Fatalf("rotate request %q never handled", value)
	return nil
}

func (w *world) deleteEnrollment(name string) {
	w.t.Helper()
	must(w.t, k8s.Delete(ctx(), w.get(name)))
}

func (w *world) waitGone(name string) {
	w.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		err := k8s.Get(ctx(), keyOf(w.ns, name), &v1alpha1.SoftwareTokenEnrollment{})
		if apierrors.IsNotFound(err) {
			return
		}
	}
	w.t.Fatalf("%s was never deleted", name)
}

// waitHeld waits up to d for a verified seed held under pending-secret (the
// one-time-code hold) and returns it with the hold's end. It returns ""
// when none was held within d or, if rotate is given, once that rotate
// request was handled without a hold.
func (w *world) waitHeld(secretName string, d time.Duration, rotate string) (string, time.Time) {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		s := &corev1.Secret{}
		if err := k8s.Get(ctx(), keyOf(w.ns, secretName), s); err != nil {
			continue
		}
		rec := recordOf(s)
		if rec.Pending.Verified != nil {
			return string(s.Data[v1alpha1.KeyPendingSecret]), rec.Pending.Verified.Until
		}
		if rotate != "" && rec.Rotations.Handled(rotate) {
			return "", time.Time{}
		}
	}
	return "", time.Time{}
}

// waitLateInStep waits until the TOTP step has between lo and hi left.
func waitLateInStep(lo, hi time.Duration) {
	for r := totp.Remaining(time.Now()); r > hi || r < lo; r = totp.Remaining(time.Now()) {
		time.Sleep(10 * time.Millisecond)
	}
}

// watchStable calls sample every 20 ms until the returned stop is called;
// stop returns each key that stayed in the samples for at least 150 ms, so
// that a sample taken across a write in flight is not reported.
func watchStable(sample func() []string) (stop func() []string) {
	stopped, done := make(chan struct{}), make(chan struct{})
	var found []string
	go func() {
		defer close(done)
		since := map[string]time.Time{}
		for {
			select {
			case <-stopped:
				return
			case <-time.After(20 * time.Millisecond):
			}
			now := map[string]time.Time{}
			for _, key := range sample() {
				first, ok := since[key]
				if !ok {
					first = time.Now()
				}
				now[key] = first
				if time.Since(first) >= 150*time.Millisecond && !contains(found, key) {
					found = append(found, key)
				}
			}
			since = now
		}
	}()
	return func() []string { close(stopped); <-done; return found }
}

// invariantTarget is an enrollment whose safety invariants are polled while
// a scenario runs, not only at its end.
type invariantTarget struct {
	ns, name, secretName string
	pool, user           string
	// storedCheck also checks that the seed Cognito holds for the user is
	// stored (secret or pending-secret) in this target's Secret.
	storedCheck bool
}

func (w *world) target(name string) invariantTarget {
	return invariantTarget{ns: w.ns, name: name, secretName: name + "-totp", pool: w.poolID, user: w.username, storedCheck: true}
}

// watchInvariants polls the targets' invariants until the returned stop is
// called, which returns the violations seen (see watchStable).
func watchInvariants(targets ...invariantTarget) (stop func() []string) {
	return watchStable(func() []string {
		var out []string
		for _, t := range targets {
			out = append(out, sampleInvariants(t)...)
		}
		return out
	})
}

// sampleInvariants returns a key per invariant broken in this sample.
func sampleInvariants(t invariantTarget) []string {
	u := fake.User(t.pool, t.user)
	ste := &v1alpha1.SoftwareTokenEnrollment{}
	if err := k8s.Get(ctx(), keyOf(t.ns, t.name), ste); err != nil {
		return nil
	}
	s := &corev1.Secret{}
	err := k8s.Get(ctx(), keyOf(t.ns, t.secretName), s)
	if err != nil && !apierrors.IsNotFound(err) {
		return nil
	}
	if apierrors.IsNotFound(err) {
		s = nil
	}
	var out []string
	secret, pending, srv := "", "", "none"
	if s != nil {
		secret, pending, srv = string(s.Data[v1alpha1.KeySecret]), string(s.Data[v1alpha1.KeyPendingSecret]), s.ResourceVersion
	}
	if isReady(ste) && secret != u.TOTPSecret {
		out = append(out, fmt.Sprintf("READY-BUT-BROKEN %s/%s rv=%s secretRV=%s storedMatchesCognito=false cognitoHasToken=%v",
			t.ns, t.name, ste.ResourceVersion, srv, u.TOTPSecret != ""))
	}
	if t.storedCheck && storedNowhere(u.TOTPSecret, secret, pending) {
		out = append(out, fmt.Sprintf("SEED-STORED-NOWHERE %s/%s secretRV=%s", t.ns, t.name, srv))
	}
	return out
}

// storedNowhere says Cognito holds a seed for the user that is neither the
// Secret's secret nor its pending-secret.
func storedNowhere(cognitoSeed, secret, pending string) bool {
	return cognitoSeed != "" && secret != cognitoSeed && pending != cognitoSeed
}

// badShapes returns a description of every enrollment in ns whose conditions
// are not one of the kstatus shapes the README promises.
func badShapes(ns string) []string {
	var list v1alpha1.SoftwareTokenEnrollmentList
	if err := k8s.List(ctx(), &list, client.InNamespace(ns)); err != nil {
		return nil
	}
	var out []string
	for _, ste := range list.Items {
		if ste.Status.ObservedGeneration == 0 {
			continue
		}
		r := meta.FindStatusCondition(ste.Status.Conditions, v1alpha1.ConditionReady)
		rec := meta.FindStatusCondition(ste.Status.Conditions, v1alpha1.ConditionReconciling)
		st := meta.FindStatusCondition(ste.Status.Conditions, v1alpha1.ConditionStalled)
		bad := ""
		switch {
		case r == nil:
			bad = "no Ready"
		case rec != nil && st != nil:
			bad = "Reconciling and Stalled both"
		case rec != nil && rec.Status != metav1.ConditionTrue, st != nil && st.Status != metav1.ConditionTrue:
			bad = "Reconciling/Stalled present but not True"
		case r.Status == metav1.ConditionFalse && rec == nil && st == nil && ste.DeletionTimestamp.IsZero():
			bad = "Ready=False with neither Reconciling nor Stalled"
		}
		if bad != "" {
			out = append(out, fmt.Sprintf("%s/%s: %s: %+v", ste.Namespace, ste.Name, bad, ste.Status.Conditions))
		}
	}
	return out
}

// watchShapes polls the shapes of the namespaces' enrollments until the
// returned stop is called, which returns the bad shapes seen (see
// watchStable).
func watchShapes(namespaces ...string) (stop func() []string) {
	return watchStable(func() []string {
		var out []string
		for _, ns := range namespaces {
			out = append(out, badShapes(ns)...)
		}
		return out
	})
}

// cognitoDown makes every sign-in of the user fail as an unreachable
// Cognito would (InternalErrorException), until the faults are reset (at
// the end of the test at the latest).
func (w *world) cognitoDown() {
	outage := make([]cognitofake.Fault, 100)
	for i := range outage {
		outage[i] = cognitofake.Fault{User: w.username, Code: "InternalErrorException", Message: "down"}
	}
	fake.InjectFault("InitiateAuth", outage...)
	w.t.Cleanup(func() { fake.ResetFaults(w.username) })
}
