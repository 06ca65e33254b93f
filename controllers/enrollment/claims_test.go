package enrollment_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/lifecycle"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/totp"
)

// One enrollment per user: the claim Leases (pool + user, client + user)
// make a second enrollment of the same user DuplicateEnrollment, only an
// enrollment that Cognito let enroll ever holds them, and a person's own
// authenticator is never replaced.

// claimsHeldBy counts the claim Leases an enrollment holds.
func (w *world) claimsHeldBy(name string) int {
	var leases coordinationv1.LeaseList
	must(w.t, k8s.List(ctx(), &leases, client.InNamespace(claimNamespace)))
	n := 0
	for _, l := range leases.Items {
		if l.Annotations[v1alpha1.OperatorPrefix+"enrollment"] == w.ns+"/"+name {
			n++
		}
	}
	return n
}

// A fresh enrollment claims its user while GetUser runs, in one round trip
// per part; when the reconcile does not go on to enroll (here GetUser keeps
// failing), the claim it created is released, so that only an enrollment
// that associates ever holds one. Once GetUser answers, it enrolls and
// holds both parts.
func TestClaimCreatedWhileSigningInIsReleasedWhenNotEnrolling(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	faults := make([]cognitofake.Fault, 200)
	for i := range faults {
		faults[i] = cognitofake.Fault{User: w.username, Code: "InternalErrorException", Message: "GetUser is down"}
	}
	fake.InjectFault("GetUser", faults...)
	defer fake.ResetFaults(w.username)
	w.enrollment("early")
	for deadline := time.Now().Add(20 * time.Second); w.get("early").Status.FailedAttempts < 2; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("GetUser's failure was never recorded")
		}
	}
	if n := w.claimsHeldBy("early"); n != 0 {
		t.Fatalf("an enrollment that did not enroll holds %d claim Leases", n)
	}
	var none corev1.Secret
	if err := k8s.Get(ctx(), keyOf(w.ns, "early-totp"), &none); !apierrors.IsNotFound(err) {
		t.Fatalf("the enrollment's Secret exists (or the read failed: %v): it associated while GetUser failed", err)
	}
	fake.ResetFaults(w.username)
	w.expectEnrolled("early", true)
	if n := w.claimsHeldBy("early"); n != 2 {
		t.Fatalf("the enrolled enrollment holds %d claim Leases, want 2 (pool+user, client+user)", n)
	}
}

// Access-token mode checks for an existing token before associating: a
// person's authenticator is never silently replaced.
func TestAccessTokenModeNeverReplacesAnExistingToken(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.enrollElsewhere()
	w.secret("token", map[string]string{"token": fake.IssueAccessToken(w.clientID, w.username)})
	before := fake.CallCounts()
	w.enrollment("human", func(s *v1alpha1.SoftwareTokenEnrollmentSpec) { accessTokenSpec(w, s) })
	w.waitStalled("human", v1alpha1.ReasonAlreadyEnrolled)
	if got := callsSince(before)["AssociateSoftwareToken"]; got != 0 {
		t.Fatalf("%d associations over a person's token", got)
	}
	if u := fake.User(w.poolID, w.username); u.TOTPSecret != "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" {
		t.Fatal("the person's token was replaced")
	}
}

// Two enrollments for one user, applied together in a pool that requires
// MFA: exactly one proceeds; the other is DuplicateEnrollment and names the
// first (same namespace).
func TestTwoEnrollmentsForOneUserExactlyOneProceeds(t *testing.T) {
	for _, mode := range []string{"credentials", "access-token"} {
		t.Run(mode, func(t *testing.T) {
			mfa := cognitofake.MFAOn
			if mode == "access-token" {
				mfa = cognitofake.MFAOptional
			}
			w := newWorld(t, mfa)
			w.credentials()
			w.secret("token", map[string]string{"token": fake.IssueAccessToken(w.clientID, w.username)})
			spec := func(s *v1alpha1.SoftwareTokenEnrollmentSpec) {
				if mode == "access-token" {
					accessTokenSpec(w, s)
				}
			}
			w.enrollment("one", spec)
			w.enrollment("two", spec)
			var ready, dup string
			deadline := time.Now().Add(20 * time.Second)
			for time.Now().Before(deadline) && (ready == "" || dup == "") {
				ready, dup = "", ""
				for _, n := range []string{"one", "two"} {
					ste := w.get(n)
					if isReady(ste) {
						ready = n
					}
					if c := findCond(ste, v1alpha1.ConditionStalled); c != nil && c.Reason == v1alpha1.ReasonDuplicateEnrollment {
						dup = n
					}
				}
				time.Sleep(50 * time.Millisecond)
			}
			if ready == "" || dup == "" || ready == dup {
				t.Fatalf("want one Ready and one DuplicateEnrollment, got ready=%q duplicate=%q", ready, dup)
			}
			if msg := findCond(w.get(dup), v1alpha1.ConditionStalled).Message; !strings.Contains(msg, `"`+ready+`"`) {
				t.Fatalf("the message does not name the winner in the same namespace: %s", msg)
			}
			if got := string(w.getSecret(ready + "-totp").Data[v1alpha1.KeySecret]); got != fake.User(w.poolID, w.username).TOTPSecret {
				t.Fatal("the Ready enrollment's secret is not the user's token")
			}
		})
	}
}

// Two enrollments for one user, created at the same moment in two
// namespaces of an MFA-required pool, the second naming the pool with a
// different (wrong) id: never both Ready, and a Ready one always works. The
// pool id is never sent to Cognito, so the pool + user claim alone would
// differ; the client + user claim is what makes them collide.
func TestTwoPoolIDStringsForOneUserNeverBothReady(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOn)
	w.credentials()
	w2 := w.neighbour("-b")
	w2.poolID = w.poolID + "x"
	w2.credentials()

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

// Two enrollments for one user in two namespaces, through two
// ClusterUserPools naming different app clients of the same pool: the pool
// + user claim collides, and once the first is deleted with Disable (the
// user has no MFA any more) the DuplicateEnrollment one proceeds.
func TestDuplicateEnrollmentProceedsOnceTheHolderIsDeleted(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	w2 := w.neighbour("-b2")
	fake.CreateClient(cognitofake.AppClient{ID: w.clientID + "b", PoolID: w.poolID})
	w2.clientID = w.clientID + "b"
	w2.credentials()
	w.userPool()
	w2.userPool()
	stopShape := watchShapes(w.ns, w2.ns)
	stopInvariants := watchInvariants(w.target("one"))
	w.enrollment("one", refTo(w.ns), func(s *v1alpha1.SoftwareTokenEnrollmentSpec) { s.DeletionPolicy = v1alpha1.DeletionPolicyDisable })
	w.waitReady("one")
	before := fake.CallCounts()
	w2.enrollment("two", refTo(w2.ns))
	w2.waitStalled("two", v1alpha1.ReasonDuplicateEnrollment)
	if n := callsSince(before)["AssociateSoftwareToken"]; n != 0 {
		t.Errorf("the second enrollment associated %d times", n)
	}
	for _, v := range stopInvariants() {
		t.Errorf("invariant: %s", v)
	}
	must(t, k8s.Delete(ctx(), w.get("one")))
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err := k8s.Get(ctx(), keyOf(w.ns, "one"), &v1alpha1.SoftwareTokenEnrollment{}); err != nil {
			break
		}
	}
	u := fake.User(w.poolID, w.username)
	t.Logf("after deleting one (Disable): user TOTP enabled %v secret set %v", u.TOTPEnabled, u.TOTPSecret != "")
	proceeded := false
	for deadline := time.Now().Add(8 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if isReady(w2.get("two")) {
			proceeded = true
			break
		}
	}
	two := w2.get("two")
	t.Logf("two: %+v", two.Status.Conditions)
	if !proceeded {
		t.Errorf("after the claim holder was deleted (and MFA turned off), the DuplicateEnrollment one never proceeded within 8 s: %+v",
			findCond(two, v1alpha1.ConditionStalled))
	}
	for _, v := range stopShape() {
		t.Errorf("shape: %s", v)
	}
}

// Threat model: a tenant may create Secrets in its own namespace, including
// one named for its enrollment's secretName with a controller
// ownerReference to it, and a record in it (pool, user, fingerprint, spec
// hash, sign-in name) is computable without Cognito. A claim is taken only
// once Cognito proves the seed, so such a forged record never claims a user
// of the pool, and the user's legitimate enrollment in another namespace
// proceeds.
func TestForgedRecordNeverClaimsAnotherTenantsUser(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	attacker := w.neighbour("-x")
	attacker.password = "not-the-password"
	before := fake.CallCounts()
	attacker.enrollment("squat") // credentials Secret missing: waits, no Cognito call
	attacker.waitCondition("squat", v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.ReasonCredentialsSecretNotFound)
	squat := attacker.get("squat")
	seed := "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	sp := &squat.Spec
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s",
		w.poolID, sp.Region, w.clientID, "creds", "", "", sp.MFAPreference)))
	yes := true
	now := time.Now().UTC().Truncate(time.Second)
	forged := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: attacker.ns, Name: "squat-totp",
		Labels: map[string]string{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue},
		Annotations: map[string]string{v1alpha1.AnnotationRecord: lifecycle.Record{
			Identity: lifecycle.Identity{Pool: w.poolID, User: w.username, SignInName: w.username, Client: w.clientID},
			Seed:     lifecycle.Seed{Spec: hex.EncodeToString(sum[:6]), EnrolledAt: &now, Generation: 1, Fingerprint: totp.Fingerprint(seed)},
		}.Encode()},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: v1alpha1.GroupVersion.String(), Kind: "SoftwareTokenEnrollment",
			Name: "squat", UID: squat.UID, Controller: &yes}}},
		Data: map[string][]byte{v1alpha1.KeySecret: []byte(seed)}}
	must(t, k8s.Create(ctx(), forged))
	attacker.credentials()
	// A claim is taken only after Cognito proves the seed: the forged record
	// gets the squatter a sign-in with the wrong password, nothing more.
	attacker.waitStalled("squat", v1alpha1.ReasonInvalidCredentials)
	t.Logf("attacker's enrollment stalled after Cognito calls %v", callsSince(before))

	// The victim tenant now enrolls its own user, with the right password.
	w.credentials()
	w.enrollment("victim")
	w.waitReady("victim")
	v := w.get("victim")
	t.Logf("victim: %+v", v.Status.Conditions)
	if c := findCond(v, v1alpha1.ConditionStalled); c != nil && c.Reason == v1alpha1.ReasonDuplicateEnrollment {
		t.Errorf("a tenant with neither the user's password nor any Cognito call holds the claim on %s: the user's real enrollment is Stalled/DuplicateEnrollment", w.username)
	}
}

// Two app clients of one pool that requires MFA, and one enrollment with a
// mistyped pool id: an MFA_SETUP challenge names no pool, so their claims
// (pool string + user, client + user) are disjoint. The setup lock, keyed
// by region and username, lets only one of them associate.
func TestTwoClientsAndAMistypedPoolNeverBothAssociate(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOn)
	w.credentials()
	w2 := w.neighbour("-b")
	fake.CreateClient(cognitofake.AppClient{ID: w.clientID + "b", PoolID: w.poolID})
	w2.clientID, w2.poolID = w.clientID+"b", w.poolID+"x"
	w2.credentials()
	before := fake.CallCounts()
	w2.enrollment("two")
	w.enrollment("one")
	w.eventually("one of them to associate and the other to stop", func() bool {
		one, two := &v1alpha1.SoftwareTokenEnrollment{}, &v1alpha1.SoftwareTokenEnrollment{}
		if k8s.Get(ctx(), keyOf(w.ns, "one"), one) != nil || k8s.Get(ctx(), keyOf(w2.ns, "two"), two) != nil {
			return false
		}
		return (isReady(one) || isStalled(one)) && isStalled(two) || (isReady(two) || isStalled(two)) && isStalled(one)
	})
	time.Sleep(2 * time.Second) // time for a second association, were one to come
	if n := callsSince(before)["AssociateSoftwareToken"]; n != 1 {
		t.Fatalf("%d associations for one user: the setup lock should let exactly one enrollment associate", n)
	}
	u := fake.User(w.poolID, w.username)
	if isReady(w.get("one")) && string(w.getSecret("one-totp").Data[v1alpha1.KeySecret]) != u.TOTPSecret {
		t.Fatal("the Ready enrollment's seed is not the user's token")
	}
	if n := w.setupLocks(); n != 0 {
		t.Fatalf("%d setup locks left once MFA_SETUP was answered", n)
	}
}

// A tenant that points an inline enrollment at another tenant's pool id,
// through an app client of a pool it controls with a user of the same
// name, holds nothing of the other tenant's once the tokens show the pool:
// the other tenant's own enrollment of that name enrolls.
func TestAnotherTenantsPoolIDHoldsNothingOfTheirs(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOn)
	squatter := w.neighbour("-sq")
	squatter.clientID, squatter.password = w.clientID+"sq", w.password+"-sq"
	fake.CreatePool(w.poolID+"sq", cognitofake.MFAOn, true)
	fake.CreateClient(cognitofake.AppClient{ID: squatter.clientID, PoolID: w.poolID + "sq"})
	fake.CreateUser(w.poolID+"sq", cognitofake.User{Username: w.username, Password: squatter.password})
	squatter.credentials()
	squatter.enrollment("squat")
	squatter.waitStalled("squat", v1alpha1.ReasonUserPoolMismatch)
	if n := squatter.claimsHeldBy("squat"); n != 0 {
		t.Fatalf("the enrollment whose tokens name another pool still holds %d claim Leases", n)
	}
	w.credentials()
	w.enrollment("bot")
	w.waitReady("bot")
	must(t, w.signInWithMFA(string(w.getSecret("bot-totp").Data[v1alpha1.KeySecret]), 0))
}

// setupLocks counts the setup locks in the operator's namespace held for
// this world's enrollments.
func (w *world) setupLocks() int {
	var leases coordinationv1.LeaseList
	must(w.t, k8s.List(ctx(), &leases, client.InNamespace(claimNamespace)))
	n := 0
	for _, l := range leases.Items {
		if strings.HasPrefix(l.Name, "ste-setup-") && l.Annotations[v1alpha1.OperatorPrefix+"user"] == w.username {
			n++
		}
	}
	return n
}

func isStalled(ste *v1alpha1.SoftwareTokenEnrollment) bool {
	c := findCond(ste, v1alpha1.ConditionStalled)
	return c != nil && c.Status == metav1.ConditionTrue
}
