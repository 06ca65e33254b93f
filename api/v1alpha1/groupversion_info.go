// Package v1alpha1 holds the mfa.cognito-operator.dev/v1alpha1 API.
// +kubebuilder:object:generate=true
// +groupName=mfa.cognito-operator.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of this API.
	GroupVersion = schema.GroupVersion{Group: "mfa.cognito-operator.dev", Version: "v1alpha1"}

	// SchemeBuilder collects the API's types; each kind registers itself.
	SchemeBuilder = &schemeBuilder{}

	// AddToScheme adds the API's types to a scheme.
	AddToScheme = func(s *runtime.Scheme) error { return SchemeBuilder.AddToScheme(s) }
)

// schemeBuilder keeps the API package's dependencies to apimachinery
// (controller-runtime's scheme.Builder is deprecated for that reason).
type schemeBuilder struct{ objects []runtime.Object }

// Register adds kinds to the API.
func (b *schemeBuilder) Register(objects ...runtime.Object) {
	b.objects = append(b.objects, objects...)
}

// AddToScheme adds the registered kinds to a scheme.
func (b *schemeBuilder) AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, b.objects...)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
