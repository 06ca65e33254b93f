package enrollment_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// Promise 4. Two enrollments for one user, created at the same moment in two
// namespaces of an MFA-required pool; the second names the pool with a
// different (wrong) id. The operator never sends the pool id to Cognito, and
// on the MFA_SETUP path never checks the pool of the tokens it gets, so the
// claims (keyed by pool id and username) differ and both proceed: both
// associate, both verify, both turn Ready; only the last seed verified works.
func TestAdversaryTwoEnrollmentsWithDifferentPoolIDStringsBothProceed(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOn)
	w.credentials()
	ns2 := strings.TrimRight(w.ns[:min(len(w.ns), 61)], "-") + "-b"
	must(t, k8s.Create(ctx(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns2}}))
	w2 := &world{t: t, ns: ns2, poolID: w.poolID + "x", clientID: w.clientID, username: w.username, password: w.password}
	w2.credentials()
	t.Cleanup(func() { _ = k8s.DeleteAllOf(ctx(), &v1alpha1.SoftwareTokenEnrollment{}, client.InNamespace(ns2)) })

	before := fake.CallCounts()
	go w2.enrollment("two")
	w.enrollment("one")
	// Watch for 10 s: never both Ready, and a Ready one always works.
	readyBoth, readyDead := false, false
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		one, two := isReady(w.get("one")), isReady(w2.get("two"))
		readyBoth = readyBoth || (one && two)
		secret := fake.User(w.poolID, w.username).TOTPSecret
		if one && string(w.getSecret("one-totp").Data[v1alpha1.KeySecret]) != secret {
			readyDead = true
		}
	}
	if readyDead {
		t.Errorf("an enrollment was Ready with a seed that is not the user's token")
	}
	seed := func(w *world, name string) string {
		sec := &corev1.Secret{}
		if err := k8s.Get(ctx(), keyOf(w.ns, name), sec); err != nil {
			return ""
		}
		return string(sec.Data[v1alpha1.KeySecret])
	}
	u := fake.User(w.poolID, w.username)
	t.Logf("associations %d; one ready=%v works=%v; two ready=%v works=%v", callsSince(before)["AssociateSoftwareToken"],
		isReady(w.get("one")), seed(w, "one-totp") == u.TOTPSecret, isReady(w2.get("two")), seed(w2, "two-totp") == u.TOTPSecret)
	if readyBoth {
		t.Errorf("both enrollments of one user turned Ready (one of them with a dead seed)")
	}
}
func TestAdversaryMetadataWriterDefeatsBackoff(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.rejectEveryCode()
	w.enrollment("busy")
	// Baseline: 5 s without a third-party writer.
	time.Sleep(time.Second)
	before := fake.CallCounts()
	time.Sleep(5 * time.Second)
	quiet := callsSince(before)["AssociateSoftwareToken"]
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			ste := &v1alpha1.SoftwareTokenEnrollment{}
			if k8s.Get(ctx(), keyOf(w.ns, "busy"), ste) != nil {
				continue
			}
			if ste.Labels == nil {
				ste.Labels = map[string]string{}
			}
			ste.Labels["touched"] = fmt.Sprint(i)
			_ = k8s.Update(ctx(), ste)
		}
	}()
	before = fake.CallCounts()
	time.Sleep(5 * time.Second)
	close(stop)
	<-done
	got := callsSince(before)
	ste := w.get("busy")
	t.Logf("associations in 5 s: %d without a writer, %d with one (calls %v); failedAttempts %d", quiet, got["AssociateSoftwareToken"], got, ste.Status.FailedAttempts)
	if got["AssociateSoftwareToken"] > 6 {
		t.Errorf("%d associations in 5 s with a 200 ms base delay and 2 s max (the suite's own bound without a metadata writer is 6; measured here without one: %d)",
			got["AssociateSoftwareToken"], quiet)
	}
}
