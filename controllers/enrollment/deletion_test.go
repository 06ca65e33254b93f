package enrollment_test

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

func (w *world) waitGone(name string) {
	w.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		err := k8s.Get(ctx(), client.ObjectKey{Namespace: w.ns, Name: name}, &v1alpha1.SoftwareTokenEnrollment{})
		if apierrors.IsNotFound(err) {
			return
		}
	}
	w.t.Fatalf("%s was never deleted", name)
}

func (w *world) deleteEnrollment(name string) {
	w.t.Helper()
	must(w.t, k8s.Delete(ctx(), w.get(name)))
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

// Retain (the default): the user stays enrolled and the Secret stays, no
// longer owned, so garbage collection cannot take it.
func TestDeletionRetainKeepsSecretAndEnrollment(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.enrollment("keep")
	ste := w.waitReady("keep")
	if !strings.Contains(strings.Join(ste.Finalizers, ","), v1alpha1.FinalizerEnrollment) {
		t.Fatalf("no finalizer: %v", ste.Finalizers)
	}
	secret := string(w.getSecret("keep-totp").Data[v1alpha1.KeySecret])
	w.deleteEnrollment("keep")
	w.waitGone("keep")
	s := w.getSecret("keep-totp")
	if metav1.IsControlledBy(s, ste) || len(s.OwnerReferences) != 0 {
		t.Fatalf("the retained Secret is still owned: %+v", s.OwnerReferences)
	}
	if recordOf(s).RetainedFrom != w.ns+"/keep" || string(s.Data[v1alpha1.KeySecret]) != secret {
		t.Fatalf("retained Secret: %v", s.Annotations)
	}
	if u := fake.User(w.poolID, w.username); u.TOTPSecret != secret || !u.TOTPEnabled {
		t.Fatalf("the user's MFA changed: %+v", u)
	}
	if err := w.signInWithMFA(secret, 0); err != nil {
		t.Fatalf("the retained secret no longer signs in: %v", err)
	}
	if !w.hasEvent("Retained") {
		t.Fatal("no Retained event")
	}
}

// Disable turns MFA off for the user, then deletes the Secret.
func TestDeletionDisableTurnsMFAOff(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.enrollment("off", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) { s.DeletionPolicy = v1alpha1.DeletionPolicyDisable })
	w.waitReady("off")
	w.deleteEnrollment("off")
	w.waitGone("off")
	if err := k8s.Get(ctx(), client.ObjectKey{Namespace: w.ns, Name: "off-totp"}, &corev1.Secret{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the Secret is still there: %v", err)
	}
	if u := fake.User(w.poolID, w.username); u.TOTPEnabled || u.TOTPPreferred {
		t.Fatalf("MFA still on: %+v", u)
	}
	if !w.hasEvent("Disabled") {
		t.Fatal("no Disabled event")
	}
}

// Where the pool requires MFA, Cognito refuses to turn it off: the deletion
// stalls with a reason saying so, and switching to Retain lets it finish.
func TestDeletionDisableRejectedWherePoolRequiresMFA(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOn)
	w.credentials()
	w.enrollment("required", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) { s.DeletionPolicy = v1alpha1.DeletionPolicyDisable })
	w.waitReady("required")
	w.deleteEnrollment("required")
	ste := w.waitStalled("required", v1alpha1.ReasonDisableRejected)
	if msg := conditionOf(ste, v1alpha1.ConditionStalled).Message; !strings.Contains(msg, "deletionPolicy: Retain") {
		t.Fatalf("message does not say the way out: %q", msg)
	}
	w.update("required", func(ste *v1alpha1.SoftwareTokenEnrollment) { ste.Spec.DeletionPolicy = v1alpha1.DeletionPolicyRetain })
	w.waitGone("required")
	if s := w.getSecret("required-totp"); len(s.Data[v1alpha1.KeySecret]) == 0 {
		t.Fatal("the Secret was not kept")
	}
}

// A deletion never hangs on an unreachable Cognito: after --deletion-timeout
// (3 s here) Disable falls back to Retain and keeps the Secret.
func TestDeletionDisableFallsBackToRetainWhenCognitoIsDown(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w.enrollment("down", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) { s.DeletionPolicy = v1alpha1.DeletionPolicyDisable })
	w.waitReady("down")
	outage := make([]cognitofake.Fault, 100)
	for i := range outage {
		outage[i] = cognitofake.Fault{User: w.username, Code: "InternalErrorException", Message: "down"}
	}
	fake.InjectFault("InitiateAuth", outage...)
	w.deleteEnrollment("down")
	deleted := w.get("down").DeletionTimestamp.Time // whole seconds
	w.waitCondition("down", v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.ReasonCognitoUnavailable)
	w.waitGone("down")
	if took := time.Since(deleted); took < 3*time.Second {
		t.Fatalf("gave up after %s, before the timeout", took)
	}
	if s := w.getSecret("down-totp"); len(s.Data[v1alpha1.KeySecret]) == 0 || len(s.OwnerReferences) != 0 {
		t.Fatal("the Secret was not kept and released")
	}
	if !w.hasEvent("DisableAbandoned") {
		t.Fatal("no DisableAbandoned event")
	}
}
