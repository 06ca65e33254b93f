package property

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// A seed the store keeps as dormant (Disable turned TOTP off, and Cognito
// keeps the registration) is written back when its enrollment comes back in
// the same namespace; the enrollment is not Ready on the store's word: the
// user is asked for no code until the seed is proven and TOTP turned on.
// (The harness found this: Restore reported Ready=True with no Cognito call.)
func TestRestoredDormantSeedIsNotReadyUntilProven(t *testing.T) {
	var w *world
	for idx := 0; ; idx++ { // the first sequence of this seed with an optional-MFA pool and a password
		w = newWorld(t, t.Name(), fixedSeed, 1000+idx, clock.Now().Add(time.Hour).Truncate(30*time.Second), true,
			cognitofake.ReplaceOnVerify, newStats())
		if w.mfa == cognitofake.MFAOptional && !w.tokenFlow && !w.oneTime {
			break
		}
		w.cleanup()
	}
	defer w.cleanup()
	e := w.enrs[0]
	w.edit(e, func(ste *v1alpha1.SoftwareTokenEnrollment) {
		ste.Spec.DeletionPolicy = v1alpha1.DeletionPolicyDisable
		ste.Spec.Rotation = nil
	})
	for i := 0; !readyNow(w.get(e)) && i < 6; i++ {
		o := w.reconcile(e)
		w.step("reconcile %s: %s%s", e, o, w.brief(e))
		clock.Advance(o.res.RequeueAfter + time.Second)
	}
	if !readyNow(w.get(e)) {
		t.Fatalf("the enrollment never became Ready\n%s", w.report())
	}
	w.must(k8s.Delete(ctx(), w.get(e), client.PropagationPolicy(metav1.DeletePropagationBackground)))
	for i := 0; w.get(e) != nil && i < 5; i++ {
		w.step("deleting %s: %s", e, w.reconcile(e))
	}
	if w.get(e) != nil {
		t.Fatalf("the Disable deletion did not finish\n%s", w.report())
	}
	if u := fake.User(w.pool, w.user); u.TOTPEnabled {
		t.Fatalf("Disable left TOTP on\n%s", w.report())
	}
	again := w.reapply()
	w.step("reconcile %s: %s%s", again, w.reconcile(again), w.brief(again))
	w.check()
	if w.violation != "" {
		t.Fatalf("%s\n%s", w.violation, w.report())
	}
	w.heal()
	if w.violation != "" {
		t.Fatalf("%s\n%s", w.violation, w.report())
	}
}
