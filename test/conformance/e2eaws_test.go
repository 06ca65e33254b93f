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

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/localenv"
)

// TestRealEndToEnd (make e2e-aws) is the operator against real user pools:
// the manager, built and run as a process against a local API server,
// enrolls users of throw-away pools, and every stored secret passes an
// independent MFA sign-in (the SDK and pquerna/otp, nothing of the
// operator's). It covers what is in doubt, not only the easy path: a pool
// that requires MFA (MFA_SETUP), an app client with a secret, sign-in by
// e-mail alias, a rotation, and deletionPolicy Disable. The pools are
// created and deleted as the conformance suite's real target does.
func TestRealEndToEnd(t *testing.T) {
	region := os.Getenv("COGNITO_CONFORMANCE_REGION")
	if region == "" {
		t.Skip("set COGNITO_CONFORMANCE_REGION and AWS credentials to enroll users of real, throw-away user pools (make e2e-aws); nothing here reaches AWS")
	}
	admin, public := realClients(t, region) // skips, saying why, without credentials
	endToEnd(t, startRealPath(t, region, admin, public), "")
}

// TestRealEndToEndOnFake is TestRealEndToEnd's path in make test: the same
// provisioning, manager and checks, against the fake reached by an explicit
// endpoint (the manager's --cognito-endpoint; never AWS_ENDPOINT_URL…), in
// its default modes with one-time codes on, as AWS is.
func TestRealEndToEndOnFake(t *testing.T) {
	tg, _ := realPathOnFake(t)
	endToEnd(t, tg, tg.onFake.URL())
}

// endToEnd runs the manager against tg's Cognito (at endpoint when set).
func endToEnd(t *testing.T, tg *target, endpoint string) {
	ctrllog.SetLogger(logr.Discard()) // envtest logs through controller-runtime; the manager's log is its own
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
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if _, err := cp.Kubectl(ctx, "apply", "-f", filepath.Join(root, "config/crd/bases")); err != nil {
		t.Fatal(err)
	}
	args := []string{"--region", tg.region, "--metrics-bind-address", "0", "--health-probe-bind-address", "0"}
	if endpoint != "" {
		args = append(args, "--cognito-endpoint", endpoint)
	}
	manager, err := localenv.StartManager(filepath.Join(work, "manager"), cp.Kubeconfig, work, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer manager.Stop()
	e := &e2e{t: t, cp: cp, ctx: ctx, work: work, manager: manager}

	t.Run("RequiredPoolSecretClientAliasRotation", func(t *testing.T) {
		e.t = t
		u := tg.newUser(t, poolRequiredAlias, clientSecret)
		e.apply(fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata: {name: app-client, namespace: default}
stringData: {secret: %q}
---
`, u.client.secret) + localenv.CredentialsEnrollmentAs("default", "alias", u.login, u.password, // the e-mail address, not the username
			"userPoolID: "+u.pool.id, "clientID: "+u.client.id, "clientSecretRef: {name: app-client, key: secret}"))
		first := e.readySeed("alias")
		u.secret = first
		u.answerTOTP(t, u.challenged(t, stm).Session, u.fresh(t, first))

		e.kubectl("annotate", "softwaretokenenrollment", "alias", "-n", "default", "--overwrite", v1alpha1.AnnotationRotate+"=e2e-"+randomHex(4))
		second := e.rotatedSeed("alias", first)
		u.secret = second
		u.answerTOTP(t, u.challenged(t, stm).Session, u.fresh(t, second))
		_, err := u.respond(t, stm, u.challenged(t, stm).Session, "SOFTWARE_TOKEN_MFA_CODE", u.fresh(t, first))
		if err == nil {
			t.Errorf("the seed rotated away still signs in")
		}
	})
	t.Run("Disable", func(t *testing.T) {
		e.t = t
		u := tg.newUser(t, poolOptional, clientPublic)
		e.apply(localenv.CredentialsEnrollmentAs("default", "disabled", u.login, u.password, "userPoolID: "+u.pool.id, "clientID: "+u.client.id,
			"deletionPolicy: Disable"))
		u.secret = e.readySeed("disabled")
		u.answerTOTP(t, u.challenged(t, stm).Session, u.fresh(t, u.secret))
		e.kubectl("delete", "softwaretokenenrollment", "disabled", "-n", "default", "--timeout=120s")
		u.tokens(t) // TOTP is off: no challenge
		if out, err := cp.Kubectl(ctx, "get", "secret", "disabled-totp", "-n", "default"); err == nil {
			t.Errorf("the seed's Secret outlived the Disable: %s", out)
		}
	})
}

// e2e drives the manager through kubectl, as a user would.
type e2e struct {
	t       *testing.T
	cp      *localenv.ControlPlane
	ctx     context.Context
	work    string
	manager *localenv.Manager
}

func (e *e2e) kubectl(args ...string) string {
	e.t.Helper()
	out, err := e.cp.Kubectl(e.ctx, args...)
	if err != nil {
		e.t.Fatalf("%v\nmanager log:\n%s", err, e.manager.Log())
	}
	return out
}

func (e *e2e) apply(manifest string) {
	e.t.Helper()
	if err := e.cp.Apply(e.ctx, e.work, manifest); err != nil {
		e.t.Fatal(err)
	}
}

// seed is the verified seed stored for an enrollment ("" for none).
func (e *e2e) seed(name string) string {
	e.t.Helper()
	enc, err := e.cp.Kubectl(e.ctx, "get", "secret", name+"-totp", "-n", "default", "-o", "jsonpath={.data."+v1alpha1.KeySecret+"}")
	if err != nil {
		return ""
	}
	seed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		e.t.Fatalf("the stored seed is not base64: %v", err)
	}
	return string(seed)
}

func (e *e2e) readySeed(name string) string {
	e.t.Helper()
	e.kubectl("wait", "-n", "default", "softwaretokenenrollment/"+name, "--for=condition=Ready", "--timeout=180s")
	s := e.seed(name)
	if s == "" {
		e.t.Fatalf("%s is Ready with no seed stored", name)
	}
	return s
}

// rotatedSeed waits until the enrollment is Ready again with a seed other than old.
func (e *e2e) rotatedSeed(name, old string) string {
	e.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		if s := e.seed(name); s != "" && s != old {
			return e.readySeed(name)
		}
		time.Sleep(time.Second)
	}
	e.t.Fatalf("%s did not rotate within 3 minutes\nmanager log:\n%s", name, e.manager.Log())
	return ""
}
