package localenv

import (
	"fmt"
	"strings"
)

// CredentialsEnrollment is what a user applies to enroll the Cognito user
// name: the credentials Secret NAME-credentials (username NAME) and the
// SoftwareTokenEnrollment NAME naming it, with the spec fields given (one
// "key: value" each, e.g. the pool and client), in namespace ns.
func CredentialsEnrollment(ns, name, password string, spec ...string) string {
	return CredentialsEnrollmentAs(ns, name, name, password, spec...)
}

// CredentialsEnrollmentAs is CredentialsEnrollment signing in as username
// (an e-mail alias, say) rather than as NAME.
func CredentialsEnrollmentAs(ns, name, username, password string, spec ...string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata: {name: %[1]s-credentials, namespace: %[2]s}
type: Opaque
stringData: {username: %[5]q, password: %[3]q}
---
apiVersion: mfa.cognito-operator.dev/v1alpha1
kind: SoftwareTokenEnrollment
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  credentialsSecretRef: {name: %[1]s-credentials}
%[4]s`, name, ns, password, indent(spec), username)
}

func indent(lines []string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}
