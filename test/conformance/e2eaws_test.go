package conformance

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	pqtotp "github.com/pquerna/otp/totp"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/localenv"
)

// TestRealEndToEnd (make e2e-aws) is the operator against a real user pool:
// the manager, built and run as a process against a local API server,
// enrolls a user of a throw-away pool, and the stored secret passes an
// independent MFA sign-in (the SDK and pquerna/otp, nothing of the
// operator's). The pool is created and deleted as the conformance suite's
// real target does.
func TestRealEndToEnd(t *testing.T) {
	region := os.Getenv("COGNITO_CONFORMANCE_REGION")
	if region == "" {
		t.Skip("set COGNITO_CONFORMANCE_REGION and AWS credentials to enroll a user of a real, throw-away user pool (make e2e-aws); nothing here reaches AWS")
	}
	tg := startReal(t, region) // skips, saying why, without credentials
	u := tg.newUser(t, poolOptional, clientPublic)

	root, _ := filepath.Abs("../..")
	work := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(work, "manager"), "./cmd/manager")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the manager: %v: %s", err, out)
	}
	cp, err := localenv.StartControlPlane(root, work)
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := cp.Kubectl(ctx, "apply", "-f", filepath.Join(root, "config/crd/bases")); err != nil {
		t.Fatal(err)
	}
	manager, err := localenv.StartManager(filepath.Join(work, "manager"), cp.Kubeconfig, work,
		"--region", region, "--metrics-bind-address", "0", "--health-probe-bind-address", "0")
	if err != nil {
		t.Fatal(err)
	}
	defer manager.Stop()
	manifest := fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata: {name: real-credentials, namespace: default}
stringData: {username: %q, password: %q}
---
apiVersion: mfa.cognito-operator.dev/v1alpha1
kind: SoftwareTokenEnrollment
metadata: {name: real, namespace: default}
spec:
  userPoolID: %s
  clientID: %s
  credentialsSecretRef: {name: real-credentials}
`, u.login, u.password, u.pool.id, u.client.id)
	if err := os.WriteFile(filepath.Join(work, "real.yaml"), []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.Kubectl(ctx, "apply", "-f", filepath.Join(work, "real.yaml")); err != nil {
		t.Fatal(err)
	}
	if out, err := cp.Kubectl(ctx, "wait", "-n", "default", "softwaretokenenrollment/real", "--for=condition=Ready", "--timeout=120s"); err != nil {
		t.Fatalf("not Ready: %v %s\nmanager log:\n%s", err, out, manager.Log())
	}
	enc, err := cp.Kubectl(ctx, "get", "secret", "-n", "default", "real-totp", "-o", "jsonpath={.data.secret}")
	if err != nil {
		t.Fatal(err)
	}
	seed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil || len(seed) == 0 {
		t.Fatalf("no secret stored: %v", err)
	}
	code, err := pqtotp.GenerateCode(string(seed), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	out := u.challenged(t, types.ChallengeNameTypeSoftwareTokenMfa)
	u.answerTOTP(t, out.Session, code)
}
