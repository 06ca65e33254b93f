// Command demo runs the operator's main job on an embedded local setup: a real
// kube-apiserver and etcd, the project's Cognito fake on loopback, and the
// manager as a process. It enrols a service-account user from the sample
// manifest and shows what happened. Set DEMO_KEEP=1 to keep it running.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	pqtotp "github.com/pquerna/otp/totp"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

const (
	poolID   = "local_Demo1234"
	clientID = "demoappclient"
	username = "ci-bot"
	password = "Demo-Passw0rd!"
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
	env := &envtest.Environment{CRDDirectoryPaths: []string{filepath.Join(root, "config/crd/bases")},
		ErrorIfCRDPathMissing: true, BinaryAssetsDirectory: filepath.Join(root, "bin/k8s")}
	if _, err := env.Start(); err != nil {
		return err
	}
	defer env.Stop()
	admin, err := env.AddUser(envtest.User{Name: "demo-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return err
	}
	kubeconfig, err := admin.KubeConfig()
	if err != nil {
		return err
	}
	kcPath := filepath.Join(work, "kubeconfig")
	if err := os.WriteFile(kcPath, kubeconfig, 0o600); err != nil {
		return err
	}

	step("starting the Cognito fake and creating a pool that requires MFA, an app client and user " + username)
	fake := cognitofake.New()
	if err := fake.Start(); err != nil {
		return err
	}
	defer fake.Close()
	fake.CreatePool(poolID, cognitofake.MFAOn, true)
	fake.CreateClient(cognitofake.AppClient{ID: clientID, PoolID: poolID})
	fake.CreateUser(poolID, cognitofake.User{Username: username, Password: password})

	kubectl := func(args ...string) (string, error) {
		out, err := exec.CommandContext(ctx, filepath.Join(root, "bin/k8s/kubectl"), append([]string{"--kubeconfig", kcPath}, args...)...).CombinedOutput()
		return string(out), err
	}

	step("starting the manager (bin/manager --cognito-endpoint " + fake.URL() + ")")
	logPath := filepath.Join(work, "manager.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	mgr := exec.Command(filepath.Join(root, "bin/manager"), "--cognito-endpoint", fake.URL(), "--region", "us-east-1",
		"--metrics-bind-address", "0", "--health-probe-bind-address", "0")
	mgr.Env = append(os.Environ(), "KUBECONFIG="+kcPath)
	mgr.Stdout, mgr.Stderr = logFile, logFile
	if err := mgr.Start(); err != nil {
		return err
	}
	defer func() { _ = mgr.Process.Signal(syscall.SIGTERM); _ = mgr.Wait() }()

	step("applying config/samples with the local pool's ids")
	sample, err := os.ReadFile(filepath.Join(root, "config/samples/mfa_v1alpha1_softwaretokenenrollment.yaml"))
	if err != nil {
		return err
	}
	manifest := strings.NewReplacer("us-east-1_AbCdEf123", poolID, "4f2kexampleclientid", clientID, "change-me", password).Replace(string(sample))
	manifestPath := filepath.Join(work, "sample.yaml")
	if err := os.WriteFile(manifestPath, []byte(manifest), 0o600); err != nil {
		return err
	}
	if out, err := kubectl("create", "namespace", "automation"); err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	out, err := kubectl("apply", "-f", manifestPath)
	if err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	fmt.Print(indent(out))

	step("waiting for Ready")
	if out, err := kubectl("wait", "-n", "automation", "ste/ci-bot", "--for=condition=Ready", "--timeout=60s"); err != nil {
		log, _ := os.ReadFile(logPath)
		return fmt.Errorf("%v: %s\nmanager log:\n%s", err, out, log)
	}
	fmt.Print(indent(mustOut(kubectl("get", "ste", "-n", "automation", "-o", "wide"))))

	step("the Secret's keys (values stay in the cluster)")
	fmt.Print(indent(mustOut(kubectl("get", "secret", "-n", "automation", "ci-bot-totp", "-o",
		`go-template={{range $k, $v := .data}}{{$k}}{{"\n"}}{{end}}`))))

	step("status conditions")
	fmt.Print(indent(mustOut(kubectl("get", "ste", "-n", "automation", "ci-bot", "-o",
		`go-template={{range .status.conditions}}{{.type}}={{.status}} ({{.reason}}): {{.message}}{{"\n"}}{{end}}fingerprint: {{.status.secretFingerprint}}{{"\n"}}`))))

	step("a sign-in with MFA, as an automation job would make it")
	secret, err := kubectl("get", "secret", "-n", "automation", "ci-bot-totp", "-o", "go-template={{.data.secret | base64decode}}")
	if err != nil {
		return fmt.Errorf("%v: %s", err, secret)
	}
	code, err := pqtotp.GenerateCode(secret, time.Now())
	if err != nil {
		return err
	}
	fmt.Printf("  current TOTP code: %s\n", code)
	if err := signIn(ctx, fake.URL(), code); err != nil {
		return err
	}
	fmt.Println("  InitiateAuth → SOFTWARE_TOKEN_MFA challenge → answered with the code → tokens issued")

	if os.Getenv("DEMO_KEEP") != "" {
		step("kept running: export KUBECONFIG=" + kcPath + " and try bin/k8s/kubectl get ste -A; Ctrl-C tears down")
		<-ctx.Done()
	}
	step("tearing down")
	return nil
}

func signIn(ctx context.Context, endpoint, code string) error {
	api := cip.New(cip.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Credentials: aws.AnonymousCredentials{}})
	out, err := api.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeUserPasswordAuth, ClientId: aws.String(clientID),
		AuthParameters: map[string]string{"USERNAME": username, "PASSWORD": password}})
	if err != nil {
		return err
	}
	if out.ChallengeName != types.ChallengeNameTypeSoftwareTokenMfa {
		return fmt.Errorf("expected a SOFTWARE_TOKEN_MFA challenge, got %q", out.ChallengeName)
	}
	res, err := api.RespondToAuthChallenge(ctx, &cip.RespondToAuthChallengeInput{ClientId: aws.String(clientID),
		ChallengeName: out.ChallengeName, Session: out.Session,
		ChallengeResponses: map[string]string{"USERNAME": username, "SOFTWARE_TOKEN_MFA_CODE": code}})
	if err != nil {
		return err
	}
	if res.AuthenticationResult == nil {
		return fmt.Errorf("no tokens after the MFA challenge")
	}
	return nil
}

func step(s string) { fmt.Printf("\n==> %s\n", s) }

func mustOut(out string, err error) string {
	if err != nil {
		return "error: " + err.Error() + ": " + out
	}
	return out
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ") + "\n"
}
