// Command demo runs the operator's main job on an embedded local setup: a real
// kube-apiserver and etcd, cognito-local as Cognito, and the manager as a
// process. It enrolls a service-account user from config/samples and shows
// what happened. DEMO_KEEP=1 keeps everything running until Ctrl-C.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/localenv"
)

const (
	namespace = "automation"
	username  = "ci-bot"
	password  = "Demo-Passw0rd!"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	root, _ := os.Getwd()
	work, err := os.MkdirTemp("", "cognito-mfa-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	step("starting kube-apiserver and etcd")
	cp, err := localenv.StartControlPlane(root, work)
	if err != nil {
		return err
	}
	defer cp.Stop()
	cp.PluginDir = filepath.Join(root, "bin")
	kubectl := func(args ...string) (string, error) { return cp.Kubectl(ctx, args...) }
	show := func(args ...string) error {
		out, err := kubectl(args...)
		fmt.Print(indent(out))
		return err
	}
	if err := show("apply", "-k", filepath.Join(root, "config/crd")); err != nil {
		return err
	}

	step("starting cognito-local; creating a user pool with TOTP MFA, an app client and user " + username)
	cognito, err := localenv.StartCognitoLocal(root, work)
	if err != nil {
		return err
	}
	defer cognito.Stop()
	poolID, err := cognito.CreatePool(ctx, "demo", types.UserPoolMfaTypeOptional)
	if err != nil {
		return err
	}
	clientID, _, err := cognito.CreateClient(ctx, poolID, "demo", false)
	if err != nil {
		return err
	}
	if err := cognito.CreateUser(ctx, poolID, username, password); err != nil {
		return err
	}
	fmt.Printf("  pool %s, app client %s\n", poolID, clientID)

	step("starting the manager: bin/manager --cognito-endpoint " + cognito.URL + " --region us-east-1")
	manager, err := localenv.StartManager(filepath.Join(root, "bin/manager"), cp.Kubeconfig, work,
		"--cognito-endpoint", cognito.URL, "--region", "us-east-1", "--metrics-bind-address", "0", "--health-probe-bind-address", "0")
	if err != nil {
		return err
	}
	defer manager.Stop()

	step("kubectl apply -f config/samples (with the local pool's ids)")
	sample, err := os.ReadFile(filepath.Join(root, "config/samples/mfa_v1alpha1_softwaretokenenrollment.yaml"))
	if err != nil {
		return err
	}
	manifest := filepath.Join(work, "sample.yaml")
	replaced := strings.NewReplacer("us-east-1_AbCdEf123", poolID, "4f2kexampleclientid", clientID, "change-me", password).Replace(string(sample))
	if err := os.WriteFile(manifest, []byte(replaced), 0o600); err != nil {
		return err
	}
	if err := show("create", "namespace", namespace); err != nil {
		return err
	}
	if err := show("apply", "-f", manifest); err != nil {
		return err
	}

	step("kubectl wait --for=condition=Ready ste/ci-bot")
	start := time.Now()
	if out, err := kubectl("wait", "-n", namespace, "ste/ci-bot", "--for=condition=Ready", "--timeout=60s"); err != nil {
		return fmt.Errorf("%v\n%s\nmanager log:\n%s", err, out, manager.Log())
	}
	fmt.Printf("  Ready after %s\n", time.Since(start).Round(time.Millisecond))
	if err := show("get", "ste", "-n", namespace); err != nil {
		return err
	}

	step("kubectl mfa status ci-bot (the Secret's keys, never its values)")
	if err := show("mfa", "status", "ci-bot", "-n", namespace); err != nil {
		return err
	}

	step("kubectl mfa code ci-bot: the current TOTP code")
	code, err := kubectl("mfa", "code", "ci-bot", "-n", namespace)
	if err != nil {
		return err
	}
	fmt.Print(indent(code))

	step("signing in as an automation job would: InitiateAuth, then the SOFTWARE_TOKEN_MFA challenge answered with that code")
	consumer := localenv.Consumer{API: cognito.API(), ClientID: clientID, Username: username, Password: password}
	if _, err := consumer.SignInWithMFA(ctx, strings.TrimSpace(code)); err != nil {
		return err
	}
	fmt.Println("  cognito-local accepted the code and issued tokens")

	if os.Getenv("DEMO_KEEP") != "" {
		step("still running; in another shell:\n  export KUBECONFIG=" + cp.Kubeconfig + " PATH=" + cp.PluginDir + ":$PATH\n" +
			"  " + filepath.Join(root, "bin/k8s/kubectl") + " mfa status ci-bot -n " + namespace + "\nCtrl-C tears everything down")
		<-ctx.Done()
	}
	step("tearing down")
	return nil
}

func step(s string) { fmt.Printf("\n==> %s\n", s) }

func indent(s string) string {
	if s = strings.TrimRight(s, "\n"); s == "" {
		return ""
	}
	return "  " + strings.ReplaceAll(s, "\n", "\n  ") + "\n"
}
