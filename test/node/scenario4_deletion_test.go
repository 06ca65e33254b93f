package node

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	pqtotp "github.com/pquerna/otp/totp"
	corev1 "k8s.io/api/core/v1"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/kube"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/localenv"
)

// TestDeletion is scenario 4: every form of deletion against the real
// garbage collector and namespace controller (kube-controller-manager), as
// the README's Deletion section describes them: {background, foreground,
// orphan, namespace deletion} × {Retain, Disable with Cognito up, Disable
// with Cognito down}. Once an enrollment is gone, either a sign-in shows MFA
// off, or a Secret the README names (the enrollment's own, released, or the
// seed store's in the operator's namespace) holds a seed that answers the
// user's challenge; re-applying the enrollment where its namespace still
// exists adopts that seed with no association.
//
// The manager runs with --deletion-timeout=60s rather than 10 minutes, so
// that the cases with Cognito down end in a minute.
func TestDeletion(t *testing.T) {
	needNode(t)
	s := newScenario(t)
	const deletionTimeout = 60 * time.Second
	r := newRelease(t, releaseName)
	s.install(readmeCommand(t, "the plain helm install", plainInstall), r, []string{"--deletion-timeout=" + deletionTimeout.String()})

	const forms, nsUp, nsDown = "node-delete", "node-nsdel-up", "node-nsdel-down"
	for _, ns := range []string{forms, nsUp, nsDown} {
		s.namespace(ns)
	}
	type cell struct {
		e       enrollment
		cascade string // background, foreground, orphan
		down    bool   // Cognito down during the deletion
		policy  v1alpha1.DeletionPolicy
	}
	var cells []cell
	for _, cascade := range []string{"background", "foreground", "orphan"} {
		for _, c := range []struct {
			policy v1alpha1.DeletionPolicy
			down   bool
			tag    string
		}{{v1alpha1.DeletionPolicyRetain, false, "retain"}, {v1alpha1.DeletionPolicyDisable, false, "disable"},
			{v1alpha1.DeletionPolicyDisable, true, "disable-down"}} {
			name := fmt.Sprintf("del-%s-%s", cascade[:4], c.tag)
			cells = append(cells, cell{e: enroll(t, forms, name, c.policy), cascade: cascade, down: c.down, policy: c.policy})
		}
	}
	upRetain, upDisable := enroll(t, nsUp, "nsup-retain", v1alpha1.DeletionPolicyRetain), enroll(t, nsUp, "nsup-disable", v1alpha1.DeletionPolicyDisable)
	downRetain, downDisable := enroll(t, nsDown, "nsdown-retain", v1alpha1.DeletionPolicyRetain), enroll(t, nsDown, "nsdown-disable", v1alpha1.DeletionPolicyDisable)
	var all []enrollment
	for _, c := range cells {
		all = append(all, c.e)
	}
	waitReady(t, 3*time.Minute, all...)
	waitReady(t, time.Minute, upRetain, upDisable)
	waitReady(t, time.Minute, downRetain, downDisable)
	seedOf := map[string]string{}
	for _, e := range append(all, upRetain, upDisable, downRetain, downDisable) {
		seedOf[e.name] = e.seed(t)
	}

	// deleteAll deletes the cells at once, each with its cascade, and
	// waits for them to be gone.
	deleteAll := func(t *testing.T, cs []cell, timeout time.Duration) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make([]error, len(cs))
		for i, c := range cs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				defer cancel()
				_, errs[i] = cl.cp.Kubectl(ctx, "delete", "softwaretokenenrollment", "-n", forms, c.e.name,
					"--cascade="+c.cascade, fmt.Sprintf("--timeout=%ds", int(timeout.Seconds())))
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("deleting %s (--cascade=%s): %v", cs[i].e.name, cs[i].cascade, err)
			}
		}
	}
	var up, down []cell
	for _, c := range cells {
		if c.down {
			down = append(down, c)
		} else {
			up = append(up, c)
		}
	}

	t.Run("background, foreground and orphan deletion with Cognito up", func(t *testing.T) {
		needNode(t)
		deleteAll(t, up, time.Minute)
		for _, c := range up {
			expectSafe(t, c.e, seedOf[c.e.name])
			if c.policy == v1alpha1.DeletionPolicyDisable && c.e.mfaOn(t) {
				t.Errorf("%s (Disable, --cascade=%s): MFA still on", c.e.name, c.cascade)
			}
			if c.policy == v1alpha1.DeletionPolicyRetain && !c.e.mfaOn(t) {
				t.Errorf("%s (Retain, --cascade=%s): MFA off", c.e.name, c.cascade)
			}
		}
	})

	t.Run("background, foreground and orphan deletion with Cognito down", func(t *testing.T) {
		needNode(t)
		cognito.SetDown(true)
		start := time.Now()
		deleteAll(t, down, deletionTimeout+30*time.Second)
		cognito.SetDown(false)
		if took := time.Since(start); took < deletionTimeout {
			t.Errorf("the deletions ended in %s, before the deletion timeout: Disable did not wait for Cognito", took)
		}
		for _, c := range down {
			if !c.e.mfaOn(t) {
				t.Errorf("%s (--cascade=%s): MFA off, though Cognito was down", c.e.name, c.cascade)
			}
			expectSafe(t, c.e, seedOf[c.e.name])
		}
	})

	t.Run("re-applying each enrollment adopts its seed with no association", func(t *testing.T) {
		needNode(t)
		before := associations()
		for _, c := range cells {
			apply(t, localenv.CredentialsEnrollment(forms, c.e.name, c.e.password, "userPoolID: "+pool.id, "clientID: "+pool.client,
				"deletionPolicy: "+string(c.policy)))
		}
		waitReady(t, 2*time.Minute, all...)
		if n := associations() - before; n != 0 {
			t.Errorf("re-applying the enrollments made %d associations", n)
		}
		for _, c := range cells {
			if got := c.e.seed(t); got != seedOf[c.e.name] {
				t.Errorf("%s (--cascade=%s, %s): re-applied with another seed", c.e.name, c.cascade, c.policy)
			}
			c.e.proveMFA(t)
		}
	})

	t.Run("a namespace deleted with Cognito reachable", func(t *testing.T) {
		needNode(t)
		took, err := deleteNamespaces(deletionTimeout, nsUp)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("namespace %s gone in %s (deletion timeout %s)", nsUp, took.Round(10*time.Millisecond), deletionTimeout)
		if upDisable.mfaOn(t) {
			t.Errorf("%s (Disable): MFA still on", upDisable.name)
		}
		if !upRetain.mfaOn(t) {
			t.Errorf("%s (Retain): MFA off; the README says the user stays enrolled", upRetain.name)
		}
		for _, e := range []enrollment{upRetain, upDisable} {
			expectSafe(t, e, seedOf[e.name])
		}
		if got := storedState(t, upDisable); got != "Dormant" {
			t.Errorf("%s (Disable): the store keeps its seed as %q, want Dormant", upDisable.name, got)
		}
		if got := storedState(t, upRetain); got != "Retained" {
			t.Errorf("%s (Retain): the store keeps its seed as %q, want Retained", upRetain.name, got)
		}
	})

	t.Run("a namespace deleted with Cognito down", func(t *testing.T) {
		needNode(t)
		cognito.SetDown(true)
		t.Cleanup(func() { cognito.SetDown(false) })
		took, err := deleteNamespaces(deletionTimeout+45*time.Second, nsDown)
		if err != nil {
			t.Fatal(err)
		}
		cognito.SetDown(false)
		t.Logf("namespace %s gone in %s with Cognito down (deletion timeout %s)", nsDown, took.Round(10*time.Millisecond), deletionTimeout)
		if took < deletionTimeout {
			t.Errorf("the namespace went in %s, before the deletion timeout: Disable did not wait for Cognito", took)
		}
		for _, e := range []enrollment{downRetain, downDisable} {
			if !e.mfaOn(t) {
				t.Errorf("%s: MFA off, though Cognito was down", e.name)
			}
			expectSafe(t, e, seedOf[e.name])
			if got := storedState(t, e); got != "Retained" {
				t.Errorf("%s: the store keeps its seed as %q, want Retained", e.name, got)
			}
		}
	})
}

// operatorSecrets are the operator's Secrets in a namespace.
func operatorSecrets(t *testing.T, ns string) []corev1.Secret {
	t.Helper()
	var list corev1.SecretList
	out := kubectl(t, "get", "secrets", "-n", ns, "-l", v1alpha1.LabelManagedBy+"="+v1alpha1.ManagedByValue, "-o", "json")
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// keptSeed is the seed a Secret the README names keeps for the
// enrollment: its own (released), or the seed store's.
func keptSeed(t *testing.T, e enrollment) (where, seed string) {
	t.Helper()
	for _, s := range operatorSecrets(t, e.ns) {
		if s.Labels[v1alpha1.LabelEnrollment] == e.name && len(s.Data[v1alpha1.KeySecret]) > 0 {
			return s.Namespace + "/" + s.Name, string(s.Data[v1alpha1.KeySecret])
		}
	}
	for _, s := range operatorSecrets(t, releaseNS) {
		if o := kube.OriginOf(&s); o.Namespace == e.ns && o.Enrollment == e.name && len(s.Data[v1alpha1.KeySecret]) > 0 {
			return s.Namespace + "/" + s.Name, string(s.Data[v1alpha1.KeySecret])
		}
	}
	return "", ""
}

// storedState is the state of the seed store's copy of the enrollment's seed.
func storedState(t *testing.T, e enrollment) string {
	t.Helper()
	for _, s := range operatorSecrets(t, releaseNS) {
		if o := kube.OriginOf(&s); o.Namespace == e.ns && o.Enrollment == e.name {
			return s.Labels[v1alpha1.LabelSeedState]
		}
	}
	return ""
}

// expectSafe is the deletion invariant: MFA off, or a kept seed (the one
// the enrollment stored) answers the user's challenge.
func expectSafe(t *testing.T, e enrollment, want string) {
	t.Helper()
	if !e.mfaOn(t) {
		return
	}
	where, seed := keptSeed(t, e)
	if seed == "" {
		t.Errorf("%s: MFA on, and no Secret the README names keeps its seed (the user is locked out)", e.name)
		return
	}
	if seed != want {
		t.Errorf("%s: %s keeps another seed than the one the enrollment stored", e.name, where)
	}
	code, err := pqtotp.GenerateCode(seed, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	consumer := localenv.Consumer{API: cognito.API(), ClientID: pool.client, Username: e.name, Password: e.password}
	if _, err := consumer.SignInWithMFA(context.Background(), code); err != nil {
		t.Errorf("%s: the seed %s keeps does not answer: %v", e.name, where, err)
	}
}
