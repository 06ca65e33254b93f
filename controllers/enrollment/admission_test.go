package enrollment_test

import (
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// A name longer than a label value allows (63) still enrolls, once: the
// Secret's enrollment label carries a hash, and the status shows the name.
func TestLongNameEnrollsWithOneAssociation(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	name := "a-service-account-bot-whose-name-is-longer-than-any-label-value-may-be"
	before := fake.CallCounts()
	w.enrollment(name)
	ste := w.waitReady(name)
	if n := callsSince(before)["AssociateSoftwareToken"]; n != 1 {
		t.Fatalf("%d associations", n)
	}
	s := w.getSecret(v1alpha1.SecretNameOf(ste))
	if got := s.Labels[v1alpha1.LabelEnrollment]; got != v1alpha1.EnrollmentLabelValue(name) || len(got) > 63 {
		t.Fatalf("enrollment label %q", got)
	}
	if msg := conditionOf(ste, v1alpha1.ConditionReady).Message; !strings.Contains(msg, v1alpha1.SecretNameOf(ste)) {
		t.Fatalf("the Ready message hides the Secret's name: %s", msg)
	}
}

// A Secret the API server would refuse (here an admission policy demands a
// label the template does not give) is found out before Cognito is asked:
// no association, however often the enrollment is woken.
func TestRefusedSecretWriteMakesNoAssociation(t *testing.T) {
	w := newWorld(t, cognitofake.MFAOptional)
	w.credentials()
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: w.ns},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
					Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"secrets"}}}}}},
			Validations: []admissionregistrationv1.Validation{{
				Expression: "!has(object.metadata.labels) || !('app.kubernetes.io/managed-by' in object.metadata.labels) || 'team' in object.metadata.labels",
				Message:    "the operator's Secrets need a team label"}}}}
	must(t, k8s.Create(ctx(), policy))
	t.Cleanup(func() { _ = k8s.Delete(ctx(), policy) })
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: w.ns},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: w.ns,
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
			MatchResources: &admissionregistrationv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
				MatchLabels: map[string]string{"kubernetes.io/metadata.name": w.ns}}}}}
	must(t, k8s.Create(ctx(), binding))
	t.Cleanup(func() { _ = k8s.Delete(ctx(), binding) })
	time.Sleep(2 * time.Second) // the API server loads the policy
	before := fake.CallCounts()
	w.enrollment("bot")
	w.waitStalled("bot", v1alpha1.ReasonInvalidSpec)
	for i := range 10 {
		w.update("bot", func(ste *v1alpha1.SoftwareTokenEnrollment) {
			ste.Spec.FriendlyDeviceName = "bot-" + string(rune('a'+i)) // a new generation: new inputs, another attempt
		})
	}
	time.Sleep(time.Second)
	if n := callsSince(before)["AssociateSoftwareToken"]; n != 0 {
		t.Fatalf("a Secret the API server refuses cost %d associations", n)
	}
}
