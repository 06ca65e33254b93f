package lifecycle

import (
	"fmt"
	"sort"
	"strings"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
)

// templateAnnotationMargin is room for the operator's own annotations.
const templateAnnotationMargin = 16 << 10

// TemplateProblems lists what the API server would refuse in a
// secretTemplate, or what would override the operator's own metadata:
// found before Cognito is asked, not after.
func TemplateProblems(t *v1alpha1.SecretTemplate) []string {
	if t == nil {
		return nil
	}
	var problems []string
	for _, k := range SortedKeys(t.Labels) {
		if IsOperatorKey(k) {
			problems = append(problems, fmt.Sprintf("label %q is the operator's own", k))
		}
		for _, e := range validation.IsQualifiedName(k) {
			problems = append(problems, fmt.Sprintf("label key %q: %s", k, e))
		}
		for _, e := range validation.IsValidLabelValue(t.Labels[k]) {
			problems = append(problems, fmt.Sprintf("label %q value: %s", k, e))
		}
	}
	// The annotations' total size counts too: past the API server's limit
	// the Secret write would fail only after Cognito was asked (the margin
	// leaves room for the operator's own annotations).
	if size := apivalidation.TotalAnnotationSizeLimitB - templateAnnotationMargin; annotationsSize(t.Annotations) > size {
		problems = append(problems, fmt.Sprintf("annotations total more than %d bytes", size))
	}
	for _, k := range SortedKeys(t.Annotations) {
		if IsOperatorKey(k) {
			problems = append(problems, fmt.Sprintf("annotation %q is the operator's own", k))
		}
		for _, e := range validation.IsQualifiedName(k) {
			problems = append(problems, fmt.Sprintf("annotation key %q: %s", k, e))
		}
	}
	return problems
}

func annotationsSize(m map[string]string) int {
	n := 0
	for k, v := range m {
		n += len(k) + len(v)
	}
	return n
}

// IsOperatorKey says a label or annotation key is the operator's own.
func IsOperatorKey(k string) bool {
	return strings.HasPrefix(k, v1alpha1.OperatorPrefix) || k == v1alpha1.LabelManagedBy
}

// SortedKeys are m's keys in order.
func SortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
