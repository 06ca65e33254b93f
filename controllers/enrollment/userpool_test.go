package enrollment_test

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ktypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// userPool creates a ClusterUserPool, named for the world, for its pool and
// app client. It is deleted at the end; its finalizer holds it until the
// world's enrollments are gone.
func (w *world) userPool(mutate ...func(*v1alpha1.ClusterUserPoolSpec)) *v1alpha1.ClusterUserPool {
	w.t.Helper()
	p := &v1alpha1.ClusterUserPool{ObjectMeta: metav1.ObjectMeta{Name: w.ns},
		Spec: v1alpha1.ClusterUserPoolSpec{UserPoolID: w.poolID, ClientID: w.clientID}}
	for _, m := range mutate {
		m(&p.Spec)
	}
	must(w.t, k8s.Create(ctx(), p))
	w.t.Cleanup(func() { _ = k8s.Delete(ctx(), p) })
	return p
}

// refTo makes an enrollment name the ClusterUserPool instead of an inline pool.
func refTo(pool string) func(*v1alpha1.SoftwareTokenEnrollmentSpec) {
	return func(s *v1alpha1.SoftwareTokenEnrollmentSpec) {
		s.UserPoolRef = &v1alpha1.UserPoolReference{Name: pool}
		s.UserPoolID, s.ClientID = "", ""
	}
}

// waitPool waits until the ClusterUserPool satisfies ok, and returns it.
func (w *world) waitPool(name, what string, ok func(p *v1alpha1.ClusterUserPool) bool) *v1alpha1.ClusterUserPool {
	w.t.Helper()
	p := &v1alpha1.ClusterUserPool{}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if err := k8s.Get(ctx(), ktypes.NamespacedName{Name: name}, p); err == nil && ok(p) {
			return p
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.t.Fatalf("ClusterUserPool %s never %s: %+v %+v", name, what, p.ObjectMeta, p.Status)
	return nil
}

func poolReady(p *v1alpha1.ClusterUserPool, status metav1.ConditionStatus, reason string) bool {
	c := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionReady)
	return c != nil && c.Status == status && c.Reason == reason && p.Status.ObservedGeneration == p.Generation
}

// An enrollment through a ClusterUserPool enrolls like an inline one, and
// its Secret signs in. The pool counts it and is held while it is used.
func TestUserPoolRefEnrollsAndSignsIn(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	pool := w.userPool()
	w.enrollment("bot", refTo(pool.Name))
	s := w.expectEnrolled("bot", true)
	if recordOf(s).Identity.Pool != w.poolID {
		t.Fatalf("recorded pool %q, want %q", recordOf(s).Identity.Pool, w.poolID)
	}
	w.waitPool(pool.Name, "counted the enrollment", func(p *v1alpha1.ClusterUserPool) bool {
		return poolReady(p, metav1.ConditionTrue, v1alpha1.ReasonValid) && p.Status.Enrollments == 1 &&
			controllerutil.ContainsFinalizer(p, v1alpha1.FinalizerUserPoolInUse)
	})
	// A second enrollment of the namespace is counted too.
	w.enrollment("other", refTo(pool.Name), func(s *v1alpha1.SoftwareTokenEnrollmentSpec) {
		s.CredentialsSecretRef = &v1alpha1.LocalObjectReference{Name: "absent"}
	})
	w.waitPool(pool.Name, "counted two enrollments", func(p *v1alpha1.ClusterUserPool) bool { return p.Status.Enrollments == 2 })
}

// A ClusterUserPool that does not exist yet is waited for, without a
// Cognito call; creating it lets the enrollment proceed.
func TestUserPoolNotFoundIsWaitedFor(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	before := fake.TotalCalls()
	w.enrollment("early", refTo(w.ns))
	ste := w.waitCondition("early", v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.ReasonUserPoolNotFound)
	expectCondition(t, ste, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonUserPoolNotFound)
	expectAbsent(t, ste, v1alpha1.ConditionStalled)
	if ste.Status.FailedAttempts != 0 {
		t.Fatalf("a wait counted as a failure: %+v", ste.Status)
	}
	if fake.TotalCalls() != before {
		t.Fatal("Cognito was called without a pool")
	}
	w.userPool()
	w.expectEnrolled("early", true)
}

// A pool whose client secret is missing is not Ready, and its enrollments
// wait for it; the Secret, in the operator's namespace by default, appearing
// makes both Ready.
func TestUserPoolNotReadyIsWaitedFor(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	fake.CreateClient(cognitofake.AppClient{ID: w.clientID, PoolID: w.poolID, Secret: "s3cr3t-of-the-ci-client"})
	pool := w.userPool(func(s *v1alpha1.ClusterUserPoolSpec) {
		s.ClientSecretRef = &v1alpha1.ClusterSecretKeySelector{Name: w.ns, Key: "clientSecret"}
	})
	before := fake.TotalCalls()
	w.enrollment("bot", refTo(pool.Name))
	w.waitCondition("bot", v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.ReasonUserPoolNotReady)
	w.waitPool(pool.Name, "reported the missing client secret", func(p *v1alpha1.ClusterUserPool) bool {
		return poolReady(p, metav1.ConditionFalse, v1alpha1.ReasonClientSecretNotFound)
	})
	if fake.TotalCalls() != before {
		t.Fatal("Cognito was called through a pool that is not ready")
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: claimNamespace, Name: w.ns},
		StringData: map[string]string{"clientSecret": "s3cr3t-of-the-ci-client"}}
	must(t, k8s.Create(ctx(), secret))
	t.Cleanup(func() { _ = k8s.Delete(ctx(), secret) })
	w.waitReady("bot")
	w.waitPool(pool.Name, "turned Ready", func(p *v1alpha1.ClusterUserPool) bool {
		return poolReady(p, metav1.ConditionTrue, v1alpha1.ReasonValid)
	})
}

// allowedNamespaces: absent allows every namespace (see the test above),
// present allows a listed namespace or one its selector matches, and
// present but empty allows none. A namespace not allowed stalls with no
// Cognito call; labelling it lets the enrollment proceed.
func TestUserPoolAllowedNamespaces(t *testing.T) {
	const label = "mfa.cognito-operator.dev/allowed"
	for _, tc := range []struct {
		name    string
		allowed func(w *world) *v1alpha1.AllowedNamespaces
		ready   bool
	}{
		{"names include it", func(w *world) *v1alpha1.AllowedNamespaces {
			return &v1alpha1.AllowedNamespaces{Names: []string{"automation", w.ns}}
		}, true},
		{"names exclude it", func(*world) *v1alpha1.AllowedNamespaces {
			return &v1alpha1.AllowedNamespaces{Names: []string{"automation"}}
		}, false},
		{"present but empty", func(*world) *v1alpha1.AllowedNamespaces { return &v1alpha1.AllowedNamespaces{} }, false},
		{"selector, until labelled", func(*world) *v1alpha1.AllowedNamespaces {
			return &v1alpha1.AllowedNamespaces{Names: []string{"automation"},
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{label: "true"}}}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, cognitofake.MFAOptional)
			w.credentials()
			pool := w.userPool(func(s *v1alpha1.ClusterUserPoolSpec) { s.AllowedNamespaces = tc.allowed(w) })
			before := fake.TotalCalls()
			w.enrollment("bot", refTo(pool.Name))
			if tc.ready {
				w.expectEnrolled("bot", true)
				return
			}
			ste := w.waitStalled("bot", v1alpha1.ReasonNamespaceNotAllowed)
			if msg := conditionOf(ste, v1alpha1.ConditionStalled).Message; !strings.Contains(msg, w.ns) {
				t.Fatalf("message does not name the namespace: %q", msg)
			}
			quietFor(t, 500*time.Millisecond)
			if fake.TotalCalls() != before {
				t.Fatal("Cognito was called from a namespace the pool does not allow")
			}
			if tc.allowed(w).Selector == nil {
				return
			}
			must(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
				ns := &corev1.Namespace{}
				must(t, k8s.Get(ctx(), ktypes.NamespacedName{Name: w.ns}, ns))
				if ns.Labels == nil {
					ns.Labels = map[string]string{}
				}
				ns.Labels[label] = "true"
				return k8s.Update(ctx(), ns)
			}))
			w.expectEnrolled("bot", true)
		})
	}
}

// A ClusterUserPool cannot be deleted while an enrollment names it: the
// deletion waits, and completes once the enrollment is gone.
func TestUserPoolDeletionWaitsForEnrollments(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	pool := w.userPool()
	ste := w.enrollment("bot", refTo(pool.Name))
	w.waitReady("bot")
	w.waitPool(pool.Name, "held", func(p *v1alpha1.ClusterUserPool) bool {
		return controllerutil.ContainsFinalizer(p, v1alpha1.FinalizerUserPoolInUse)
	})
	must(t, k8s.Delete(ctx(), pool))
	w.waitPool(pool.Name, "said its deletion waits", func(p *v1alpha1.ClusterUserPool) bool {
		c := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionReady)
		return !p.DeletionTimestamp.IsZero() && c != nil && strings.Contains(c.Message, "deletion waits for the 1 enrollments")
	})
	// The pool still serves its enrollment meanwhile.
	w.update("bot", func(s *v1alpha1.SoftwareTokenEnrollment) { s.Spec.MFAPreference = v1alpha1.MFAPreferenceEnabled })
	w.waitReady("bot")
	must(t, k8s.Delete(ctx(), ste))
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := k8s.Get(ctx(), ktypes.NamespacedName{Name: pool.Name}, &v1alpha1.ClusterUserPool{})
		if apierrors.IsNotFound(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pool's deletion did not complete after its enrollment went: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The API server requires exactly one of the two forms, and no inline
// pool field beside userPoolRef.
func TestAPIServerRequiresOnePoolForm(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	for _, tc := range []struct {
		name string
		spec func(s *v1alpha1.SoftwareTokenEnrollmentSpec)
		want string // "" accepts
	}{
		{"both forms", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) {
			s.UserPoolRef = &v1alpha1.UserPoolReference{Name: "ci"}
		}, "exactly one of userPoolRef and userPoolID must be set"},
		{"neither form", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) {
			s.UserPoolID = ""
		}, "exactly one of userPoolRef and userPoolID must be set"},
		{"userPoolRef with clientID", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) {
			refTo("ci")(s)
			s.ClientID = "mine"
		}, "come from the ClusterUserPool"},
		{"userPoolRef with clientSecretRef", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) {
			refTo("ci")(s)
			s.ClientSecretRef = &v1alpha1.SecretKeySelector{Name: "c", Key: "k"}
		}, "come from the ClusterUserPool"},
		{"userPoolRef with region", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) {
			refTo("ci")(s)
			s.Region = "us-east-1"
		}, "come from the ClusterUserPool"},
		{"userPoolRef with credentials needs no clientID", refTo("ci"), ""},
		{"userPoolRef with an access token", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) {
			refTo("ci")(s)
			s.CredentialsSecretRef = nil
			s.AccessTokenSecretRef = &v1alpha1.SecretKeySelector{Name: "token", Key: "token"}
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ste := &v1alpha1.SoftwareTokenEnrollment{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, GenerateName: "form-"},
				Spec: v1alpha1.SoftwareTokenEnrollmentSpec{UserPoolID: w.poolID, ClientID: w.clientID,
					CredentialsSecretRef: &v1alpha1.LocalObjectReference{Name: "creds"}}}
			tc.spec(&ste.Spec)
			err := k8s.Create(ctx(), ste)
			if tc.want == "" {
				must(t, err)
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("create: %v; want an error saying %q", err, tc.want)
			}
		})
	}
}

// An enrollment from a namespace the pool does not allow can neither use
// the pool nor hold its deletion.
func TestRefusedNamespaceDoesNotHoldThePool(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	pool := w.userPool(func(s *v1alpha1.ClusterUserPoolSpec) {
		s.AllowedNamespaces = &v1alpha1.AllowedNamespaces{Names: []string{"somewhere-else"}}
	})
	w.enrollment("bot", refTo(pool.Name))
	w.waitStalled("bot", v1alpha1.ReasonNamespaceNotAllowed)
	w.waitPool(pool.Name, "counted no enrollment", func(p *v1alpha1.ClusterUserPool) bool { return p.Status.Enrollments == 0 })
	must(t, k8s.Delete(ctx(), pool))
	w.eventually("the pool to go", func() bool {
		return apierrors.IsNotFound(k8s.Get(ctx(), ktypes.NamespacedName{Name: pool.Name}, &v1alpha1.ClusterUserPool{}))
	})
}
