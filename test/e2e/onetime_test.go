package e2e

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"
	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
)

// Real Cognito accepts a TOTP code once; the proxy in front of cognito-local
// applies that rule. A consumer that reads the Secret the moment the
// enrollment first turns Ready and signs in with the current code succeeds:
// the operator proved the seed with a code no consumer uses. Signing in
// again with the same code is refused, as real Cognito refuses it.
func TestConsumerSignsInTheInstantReadyTurnsTrue(t *testing.T) {
	p := newPool(t, "instant", types.UserPoolMfaTypeOptional)
	ns := "e2e" // the namespace the manager watches
	if _, err := cp.Kubectl(ctx(), "get", "namespace", ns); err != nil {
		namespace(t, ns)
	}
	for i := range 3 {
		user := fmt.Sprintf("instant-%d", i)
		password := p.user(t, user)
		apply(t, credentialsManifest(ns, user+"-credentials", user, password)+"---\n"+
			enrollmentManifest(ns, user, fmt.Sprintf("  userPoolID: %s\n  clientID: %s\n  credentialsSecretRef: {name: %s-credentials}", p.id, p.client, user)))
		for deadline := time.Now().Add(60 * time.Second); !isReady(getSTE(t, ns, user)); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s never Ready: %+v", user, getSTE(t, ns, user).Status.Conditions)
			}
		}
		secret := storedSecret(t, ns, user+"-totp")
		if _, err := signIn(p.client, "", user, password, secret, 0); err != nil {
			t.Fatalf("%s: a consumer signing in the instant Ready turned True failed: %v", user, err)
		}
		_, err := signIn(p.client, "", user, password, secret, 0)
		var apiErr smithy.APIError
		if err != nil && (!errors.As(err, &apiErr) || apiErr.ErrorCode() != "ExpiredCodeException") {
			t.Fatalf("a reused code got %v, want ExpiredCodeException", err)
		}
	}
}

func isReady(ste *v1alpha1.SoftwareTokenEnrollment) bool {
	c := meta.FindStatusCondition(ste.Status.Conditions, v1alpha1.ConditionReady)
	return c != nil && c.Status == "True" && ste.Status.ObservedGeneration == ste.Generation
}
