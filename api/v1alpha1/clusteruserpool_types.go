package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ClusterSecretKeySelector names one key of a Secret in a namespace chosen
// by the cluster's administrators.
type ClusterSecretKeySelector struct {
	// Namespace of the Secret. Defaults to the manager's
	// --cluster-resource-namespace (the operator's own namespace).
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespace string `json:"namespace,omitempty"`
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Key within the Secret's data.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Key string `json:"key"`
}

// AllowedNamespaces says which namespaces' enrollments may use a
// ClusterUserPool: a namespace listed in names, or one whose labels match
// selector. When it is set but both are empty, no namespace may.
type AllowedNamespaces struct {
	// Names of namespaces allowed.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=63
	Names []string `json:"names,omitempty"`
	// Selector matches the labels of namespaces allowed. An empty selector
	// matches every namespace, as label selectors do.
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
}

// ClusterUserPoolSpec is a Cognito user pool and the app client that
// enrollments referencing it sign in through, chosen by the cluster's
// administrators rather than by each enrollment.
type ClusterUserPoolSpec struct {
	// UserPoolID is the id of the Cognito user pool, e.g. us-east-1_AbCdEf123.
	// +kubebuilder:validation:Pattern=`^[\w-]+_[0-9a-zA-Z]+$`
	// +kubebuilder:validation:MaxLength=55
	UserPoolID string `json:"userPoolID"`

	// Region of the user pool. Defaults to the part of userPoolID before "_"
	// when that is a region name, else to the manager's configured region.
	// +optional
	// +kubebuilder:validation:Pattern=`^[a-z]{2}(-[a-z]+)+-\d+$`
	Region string `json:"region,omitempty"`

	// ClientID is the app client enrollments sign in through.
	// +kubebuilder:validation:Pattern=`^[\w+]+$`
	// +kubebuilder:validation:MaxLength=128
	ClientID string `json:"clientID"`

	// ClientSecretRef names the app client's secret. When set, SECRET_HASH is
	// sent with every sign-in request.
	// +optional
	ClientSecretRef *ClusterSecretKeySelector `json:"clientSecretRef,omitempty"`

	// AllowedNamespaces limits which namespaces' enrollments may use the
	// pool. Absent: every namespace.
	// +optional
	AllowedNamespaces *AllowedNamespaces `json:"allowedNamespaces,omitempty"`
}

// ClusterUserPoolStatus reports whether the pool can be used and by how many enrollments.
type ClusterUserPoolStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready, True when the spec is valid and the client secret,
	// if any, is readable. Cognito is not asked.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// Enrollments counts the enrollments whose spec.userPoolRef names this pool.
	// +optional
	Enrollments int32 `json:"enrollments"`
}

// ClusterUserPool is a Cognito user pool and app client that enrollments
// name with spec.userPoolRef, so that tenants need not, and with
// --require-user-pool-ref may not, choose the app client themselves.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=cup,categories=cognito
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Pool",type=string,JSONPath=`.spec.userPoolID`
// +kubebuilder:printcolumn:name="Client",type=string,JSONPath=`.spec.clientID`
// +kubebuilder:printcolumn:name="Enrollments",type=integer,JSONPath=`.status.enrollments`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterUserPool struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ClusterUserPoolSpec   `json:"spec,omitempty"`
	Status ClusterUserPoolStatus `json:"status,omitempty"`
}

// ClusterUserPoolList is a list of ClusterUserPools.
// +kubebuilder:object:root=true
type ClusterUserPoolList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterUserPool `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ClusterUserPool{}, &ClusterUserPoolList{})
}

// ClientSecretNamespace is the namespace of the pool's client secret, given
// the manager's --cluster-resource-namespace.
func (p *ClusterUserPool) ClientSecretNamespace(clusterResourceNamespace string) string {
	if ref := p.Spec.ClientSecretRef; ref != nil && ref.Namespace != "" {
		return ref.Namespace
	}
	return clusterResourceNamespace
}
