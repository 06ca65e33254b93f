package node

import (
	"fmt"
	"testing"
	"time"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/lifecycle"
)

// TestDeletion is scenario 4: the deletion policies against the real garbage
// collector and namespace controller (kube-controller-manager), as the
// README's Deletion section describes them.
//
// The manager runs with --deletion-timeout=60s rather than 10 minutes, so
// that the case with Cognito down ends in a minute. Not less: in a namespace
// deletion, Disable with Cognito reachable can take a TOTP step and two
// backoffs. The namespace controller's DELETE of the protected Secret can
// race the manager's removal of its finalizer (a conflict), and the retries
// sign in again with the code the first attempt spent, which Cognito refuses
// until the next step: with the default --retry-base-delay, the attempts
// come about 5, 16 and 40 s after the deletion, and the namespace controller
// looks again at most 8.5 s after the last finalizer goes, so the namespace
// may take about 50 s.
func TestDeletion(t *testing.T) {
	needNode(t)
	s := newScenario(t)
	const deletionTimeout = 60 * time.Second
	r := newRelease(t, releaseName)
	s.install(readmeCommand(t, "the plain helm install", plainInstall), r, []string{"--deletion-timeout=" + deletionTimeout.String()})

	// Every enrollment of the scenario, enrolled at once.
	const single, up, down = "node-delete", "node-nsdel-up", "node-nsdel-down"
	for _, ns := range []string{single, up, down} {
		s.namespace(ns)
	}
	mk := func(ns, prefix string, policy v1alpha1.DeletionPolicy, n int) []enrollment {
		var es []enrollment
		for i := range n {
			es = append(es, enroll(t, ns, fmt.Sprintf("%s-%d", prefix, i), policy))
		}
		return es
	}
	retain, disable := enroll(t, single, "delete-retain", v1alpha1.DeletionPolicyRetain), enroll(t, single, "delete-disable", v1alpha1.DeletionPolicyDisable)
	upRetain, upDisable := mk(up, "nsup-retain", v1alpha1.DeletionPolicyRetain, 2), mk(up, "nsup-disable", v1alpha1.DeletionPolicyDisable, 2)
	downRetain, downDisable := mk(down, "nsdown-retain", v1alpha1.DeletionPolicyRetain, 1), mk(down, "nsdown-disable", v1alpha1.DeletionPolicyDisable, 2)
	waitReady(t, 2*time.Minute, retain, disable)
	waitReady(t, time.Minute, append(upRetain, upDisable...)...)
	waitReady(t, time.Minute, append(downRetain, downDisable...)...)

	t.Run("Retain keeps the Secret, released; the garbage collector runs", func(t *testing.T) {
		needNode(t)
		// A witness the garbage collector must delete with the enrollment,
		// so that the Secret outliving it means something.
		uid := kubectl(t, "get", "softwaretokenenrollment", "-n", single, retain.name, "-o", "jsonpath={.metadata.uid}")
		apply(t, fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata:
  name: gc-witness
  namespace: %s
  ownerReferences: [{apiVersion: mfa.cognito-operator.dev/v1alpha1, kind: SoftwareTokenEnrollment, name: %s, uid: %s}]
`, single, retain.name, uid))
		seed := retain.seed(t)
		kubectl(t, "delete", "softwaretokenenrollment", "-n", single, retain.name, "--timeout=60s")
		eventually(t, time.Minute, "the garbage collector deleting the enrollment's dependent ConfigMap", func() bool {
			return !exists(t, "configmap", "-n", single, "gc-witness")
		})
		owners := kubectl(t, "get", "secret", "-n", single, retain.secretName(), "-o", `jsonpath={.metadata.ownerReferences}`)
		rec, err := lifecycle.ReadRecord(map[string]string{v1alpha1.AnnotationRecord: kubectl(t, "get", "secret", "-n", single,
			retain.secretName(), "-o", `jsonpath={.metadata.annotations.mfa\.cognito-operator\.dev/record}`)})
		if owners != "" || err != nil || rec.RetainedFrom != single+"/"+retain.name {
			t.Errorf("the retained Secret's ownerReferences %q and record %+v (%v), want none and retained from %s/%s",
				owners, rec, err, single, retain.name)
		}
		if retain.seed(t) != seed || !retain.mfaOn(t) {
			t.Error("Retain changed the seed or turned MFA off")
		}
		retain.proveMFA(t)
	})

	t.Run("Disable turns MFA off, then deletes the Secret", func(t *testing.T) {
		needNode(t)
		kubectl(t, "delete", "softwaretokenenrollment", "-n", single, disable.name, "--timeout=60s")
		if exists(t, "secret", "-n", single, disable.secretName()) {
			t.Error("the Secret outlived its Disable enrollment")
		}
		if disable.mfaOn(t) {
			t.Error("the user still has MFA on after its Disable enrollment was deleted")
		}
	})

	t.Run("a namespace deleted with Cognito reachable", func(t *testing.T) {
		needNode(t)
		took, err := deleteNamespaces(deletionTimeout, up)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("namespace %s gone in %s (deletion timeout %s)", up, took.Round(10*time.Millisecond), deletionTimeout)
		for _, e := range upDisable {
			if e.mfaOn(t) {
				t.Errorf("%s (Disable): MFA still on, its seed gone with the namespace", e.name)
			}
		}
		for _, e := range upRetain {
			if !e.mfaOn(t) {
				t.Errorf("%s (Retain): MFA off; the README says the user stays enrolled", e.name)
			}
		}
	})

	t.Run("a namespace deleted with Cognito down", func(t *testing.T) {
		needNode(t)
		cognito.SetDown(true)
		t.Cleanup(func() { cognito.SetDown(false) })
		start := time.Now()
		kubectl(t, "delete", "namespace", down, "--wait=false")
		time.Sleep(deletionTimeout / 2)
		// What turning MFA off needs is protected until the timeout.
		for _, e := range downDisable {
			if !exists(t, "secret", "-n", down, e.secretName()) || !exists(t, "secret", "-n", down, e.name+"-credentials") {
				t.Errorf("%s (Disable): its Secret or credentials went before the deletion timeout", e.name)
			}
		}
		// The namespace controller looks again at most finalizerEstimate/2+1
		// (8.5 s) after it last found finalizers.
		if _, err := deleteNamespaces(deletionTimeout+30*time.Second, down); err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		t.Logf("namespace %s gone in %s with Cognito down (deletion timeout %s)", down, took.Round(10*time.Millisecond), deletionTimeout)
		if took < deletionTimeout {
			t.Errorf("the namespace went in %s, before the deletion timeout: Disable did not wait for Cognito", took)
		}
		cognito.SetDown(false)
		// The README: the Secrets are released and go with the namespace,
		// and the users keep MFA on a seed nobody holds.
		for _, e := range append(downDisable, downRetain...) {
			if !e.mfaOn(t) {
				t.Errorf("%s: MFA off, though Cognito was down", e.name)
			}
		}
	})
}
