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
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ktypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/lifecycle"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/localenv"
)

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
	must(w.t, k8s.Get(ctx(), ktypes.NamespacedName{Namespace: w.ns, Name: name}, ste))
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
	must(w.t, k8s.Get(ctx(), ktypes.NamespacedName{Namespace: w.ns, Name: name}, s))
	return s
}

// waitCondition waits until the enrollment's current generation has the
// condition with the status and reason, and returns the enrollment.
func (w *world) waitCondition(name, condType string, status metav1.ConditionStatus, reason string) *v1alpha1.SoftwareTokenEnrollment {
	w.t.Helper()
	var last *v1alpha1.SoftwareTokenEnrollment
	deadline := time.Now().Add(30 * time.Second)
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
	return w.waitCondition(name, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonEnrolled)
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
	consumer := localenv.Consumer{API: localenv.SDK(fake.URL()), ClientID: w.clientID, Username: w.username, Password: w.password}
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
