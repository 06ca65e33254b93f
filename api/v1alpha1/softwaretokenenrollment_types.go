package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MFAPreference says what the controller does with the user's MFA preference
// once the software token is verified.
// +kubebuilder:validation:Enum=Preferred;Enabled;None
type MFAPreference string

const (
	// MFAPreferencePreferred enables software-token MFA and makes it the preferred factor.
	MFAPreferencePreferred MFAPreference = "Preferred"
	// MFAPreferenceEnabled enables software-token MFA without making it preferred.
	MFAPreferenceEnabled MFAPreference = "Enabled"
	// MFAPreferenceNone leaves the user's MFA preference alone.
	MFAPreferenceNone MFAPreference = "None"
)

// DeletionPolicy says what deleting an enrollment does to the user and the Secret.
// +kubebuilder:validation:Enum=Retain;Disable
type DeletionPolicy string

const (
	// DeletionPolicyRetain leaves MFA enrolled and keeps the Secret (no longer owned).
	DeletionPolicyRetain DeletionPolicy = "Retain"
	// DeletionPolicyDisable turns software-token MFA off for the user, then deletes the Secret.
	DeletionPolicyDisable DeletionPolicy = "Disable"
)

// LocalObjectReference names an object in the enrollment's own namespace.
type LocalObjectReference struct {
	// Name of the Secret, in the enrollment's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// UserPoolReference names a ClusterUserPool.
type UserPoolReference struct {
	// Name of the ClusterUserPool.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// SecretKeySelector names one key of a Secret in the enrollment's own namespace.
type SecretKeySelector struct {
	// Name of the Secret, in the enrollment's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Key within the Secret's data.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Key string `json:"key"`
}

// SecretTemplate holds metadata copied onto the Secret that stores the TOTP
// secret. It may not set the operator's own labels and annotations: they
// record what was enrolled, and a template that overrode them could make the
// operator rotate in a loop or forget a seed. Label keys and values the API
// server would refuse are refused by the controller (Stalled/InvalidSpec)
// before any Cognito call: a CEL rule for them costs more than the API
// server's budget allows.
// +kubebuilder:validation:XValidation:rule="!has(self.labels) || self.labels.all(k, !k.startsWith('mfa.cognito-operator.dev/') && k != 'app.kubernetes.io/managed-by')",message="secretTemplate.labels may not set the operator's own labels (mfa.cognito-operator.dev/*, app.kubernetes.io/managed-by)"
// +kubebuilder:validation:XValidation:rule="!has(self.annotations) || self.annotations.all(k, !k.startsWith('mfa.cognito-operator.dev/'))",message="secretTemplate.annotations may not set the operator's own annotations (mfa.cognito-operator.dev/*)"
type SecretTemplate struct {
	// Labels to add to the Secret.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	Labels map[string]string `json:"labels,omitempty"`
	// Annotations to add to the Secret.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	Annotations map[string]string `json:"annotations,omitempty"`
}

// SoftwareTokenEnrollmentSpec describes the Cognito user to enroll in software-token (TOTP) MFA.
// +kubebuilder:validation:XValidation:rule="has(self.userPoolRef) != has(self.userPoolID)",message="exactly one of userPoolRef and userPoolID must be set"
// +kubebuilder:validation:XValidation:rule="!has(self.userPoolRef) || !(has(self.region) || has(self.clientID) || has(self.clientSecretRef))",message="region, clientID and clientSecretRef come from the ClusterUserPool when userPoolRef is set"
// +kubebuilder:validation:XValidation:rule="has(self.credentialsSecretRef) != has(self.accessTokenSecretRef)",message="exactly one of credentialsSecretRef and accessTokenSecretRef must be set"
// +kubebuilder:validation:XValidation:rule="!has(self.credentialsSecretRef) || has(self.clientID) || has(self.userPoolRef)",message="clientID is required with credentialsSecretRef and userPoolID"
// +kubebuilder:validation:XValidation:rule="!has(self.clientSecretRef) || has(self.credentialsSecretRef)",message="clientSecretRef is only used with credentialsSecretRef"
// +kubebuilder:validation:XValidation:rule="has(self.secretName) == has(oldSelf.secretName) && (!has(self.secretName) || self.secretName == oldSelf.secretName)",message="secretName is immutable"
type SoftwareTokenEnrollmentSpec struct {
	// UserPoolRef names the ClusterUserPool to sign in to, instead of
	// userPoolID, region, clientID and clientSecretRef.
	// +optional
	UserPoolRef *UserPoolReference `json:"userPoolRef,omitempty"`

	// UserPoolID is the id of the Cognito user pool, e.g. us-east-1_AbCdEf123.
	// Exactly one of userPoolID and userPoolRef is set.
	// +optional
	// +kubebuilder:validation:Pattern=`^[\w-]+_[0-9a-zA-Z]+$`
	// +kubebuilder:validation:MaxLength=55
	UserPoolID string `json:"userPoolID,omitempty"`

	// Region of the user pool. Defaults to the part of userPoolID before "_"
	// when that is a region name, else to the manager's configured region.
	// +optional
	// +kubebuilder:validation:Pattern=`^[a-z]{2}(-[a-z]+)+-\d+$`
	Region string `json:"region,omitempty"`

	// ClientID is the app client to sign in through. Required with
	// credentialsSecretRef and userPoolID.
	// +optional
	// +kubebuilder:validation:Pattern=`^[\w+]+$`
	// +kubebuilder:validation:MaxLength=128
	ClientID string `json:"clientID,omitempty"`

	// ClientSecretRef names the app client's secret. When set, SECRET_HASH is sent
	// with every sign-in request.
	// +optional
	ClientSecretRef *SecretKeySelector `json:"clientSecretRef,omitempty"`

	// CredentialsSecretRef names a Secret with the keys "username" and "password".
	// The controller signs in with USER_PASSWORD_AUTH.
	// +optional
	CredentialsSecretRef *LocalObjectReference `json:"credentialsSecretRef,omitempty"`

	// AccessTokenSecretRef names a key holding an access token obtained elsewhere.
	// It must carry the scope aws.cognito.signin.user.admin.
	// +optional
	AccessTokenSecretRef *SecretKeySelector `json:"accessTokenSecretRef,omitempty"`

	// FriendlyDeviceName is the name Cognito records for the token.
	// Defaults to "<namespace>/<name>", trimmed to 128 characters.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	FriendlyDeviceName string `json:"friendlyDeviceName,omitempty"`

	// SecretName is the Secret that receives the TOTP secret. Defaults to
	// "<metadata.name>-totp". Immutable once set.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	SecretName string `json:"secretName,omitempty"`

	// SecretTemplate holds labels and annotations copied onto the Secret.
	// +optional
	SecretTemplate *SecretTemplate `json:"secretTemplate,omitempty"`

	// Issuer is shown by authenticator apps for the otpauth URI. Defaults to the user pool id.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Issuer string `json:"issuer,omitempty"`

	// MFAPreference is what to do with the user's MFA preference once the token is verified.
	// +optional
	// +kubebuilder:default=Preferred
	MFAPreference MFAPreference `json:"mfaPreference,omitempty"`

	// DeletionPolicy: Retain (default) keeps MFA enrolled and the Secret, so
	// nothing that depends on it is locked out; Disable turns software-token
	// MFA off for the user and deletes the Secret.
	// +optional
	// +kubebuilder:default=Retain
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`

	// Rotation re-enrolls the user on a schedule. On demand, set the annotation
	// mfa.cognito-operator.dev/rotate to a new value (kubectl mfa rotate).
	// +optional
	Rotation *Rotation `json:"rotation,omitempty"`
}

// Rotation schedules re-enrollment with a new secret.
// +kubebuilder:validation:XValidation:rule="!has(self.interval) || duration(self.interval) >= duration('1m')",message="rotation.interval must be at least 1m"
type Rotation struct {
	// Interval between rotations, e.g. 720h. At least 1m.
	// +optional
	// +kubebuilder:validation:Format=duration
	Interval *metav1.Duration `json:"interval,omitempty"`
}

// VerificationStatus is the Status VerifySoftwareToken last returned.
// +kubebuilder:validation:Enum=SUCCESS;ERROR
type VerificationStatus string

// SoftwareTokenEnrollmentStatus reports the enrollment's progress.
type SoftwareTokenEnrollmentStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready, Reconciling and Stalled (kstatus semantics).
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// VerificationStatus is the Status VerifySoftwareToken last returned.
	// +optional
	VerificationStatus VerificationStatus `json:"verificationStatus,omitempty"`

	// SecretName is the Secret that holds the TOTP secret.
	// +optional
	SecretName string `json:"secretName,omitempty"`

	// FriendlyDeviceName is the device name sent to Cognito.
	// +optional
	FriendlyDeviceName string `json:"friendlyDeviceName,omitempty"`

	// EnrolledTime is when the stored secret was verified.
	// +optional
	EnrolledTime *metav1.Time `json:"enrolledTime,omitempty"`

	// SecretFingerprint is a short SHA-256 prefix of the stored secret, never the secret.
	// +optional
	SecretFingerprint string `json:"secretFingerprint,omitempty"`

	// InputsFingerprint identifies (an HMAC under a key of the operator's,
	// so that it tells nothing of them) the spec generation and the contents of
	// the referenced Secrets last acted on, so that a terminal failure is not
	// retried, and a backoff not cut short, until one of them changes.
	// +optional
	InputsFingerprint string `json:"inputsFingerprint,omitempty"`

	// FailedAttempts counts consecutive failed attempts; retries back off
	// exponentially with it. Reset by success or a change of inputs.
	// +optional
	FailedAttempts int32 `json:"failedAttempts,omitempty"`

	// LastFailureTime is when the last attempt failed.
	// +optional
	LastFailureTime *metav1.Time `json:"lastFailureTime,omitempty"`

	// NextAttemptTime is when a failed attempt is retried. Until then the
	// operator makes no Cognito call for these inputs, whatever triggers a
	// reconcile; a change of the spec or a referenced Secret skips the wait.
	// +optional
	NextAttemptTime *metav1.Time `json:"nextAttemptTime,omitempty"`

	// User is the canonical username of the enrolled user, as Cognito names it.
	// +optional
	User string `json:"user,omitempty"`

	// NextRotationTime is when spec.rotation.interval next rotates the secret.
	// +optional
	NextRotationTime *metav1.Time `json:"nextRotationTime,omitempty"`

	// LastRotateRequest is the last value of the rotate annotation handled.
	// +optional
	LastRotateRequest string `json:"lastRotateRequest,omitempty"`
}

// SoftwareTokenEnrollment enrolls a Cognito user in software-token (TOTP) MFA
// and keeps the verified secret in a Secret.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ste;stes,categories=cognito
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Secret",type=string,JSONPath=`.status.secretName`
// +kubebuilder:printcolumn:name="Message",type=string,priority=1,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type SoftwareTokenEnrollment struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   SoftwareTokenEnrollmentSpec   `json:"spec,omitempty"`
	Status SoftwareTokenEnrollmentStatus `json:"status,omitempty"`
}

// SoftwareTokenEnrollmentList is a list of SoftwareTokenEnrollments.
// +kubebuilder:object:root=true
type SoftwareTokenEnrollmentList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SoftwareTokenEnrollment `json:"items"`
}

func init() {
	SchemeBuilder.Register(&SoftwareTokenEnrollment{}, &SoftwareTokenEnrollmentList{})
}

// SecretNameOf is the Secret that holds an enrollment's TOTP secret.
func SecretNameOf(ste *SoftwareTokenEnrollment) string {
	if ste.Spec.SecretName != "" {
		return ste.Spec.SecretName
	}
	return ste.Name + "-totp"
}
