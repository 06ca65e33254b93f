// Package e2e tests the operator end to end against software nobody here
// wrote: a real kube-apiserver and etcd with the CRD applied by the real
// kubectl, cognito-local (npm) as Cognito, and the manager and the kubectl
// plugin as built binaries running as processes.
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/localenv"
)

var (
	root    string
	work    string
	cp      *localenv.ControlPlane
	cognito *localenv.CognitoLocal
	manager *localenv.Manager
)

func TestMain(m *testing.M) { os.Exit(setup(m)) }

func setup(m *testing.M) int {
	var err error
	root, _ = filepath.Abs("../..")
	if work, err = os.MkdirTemp("", "cognito-mfa-e2e-"); err != nil {
		return fail(err)
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "bin")
	for _, pkg := range []string{"./cmd/manager", "./cmd/kubectl-mfa"} {
		build := exec.Command("go", "build", "-o", bin+"/", pkg)
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			return fail(fmt.Errorf("go build %s: %v: %s", pkg, err, out))
		}
	}
	if cp, err = localenv.StartControlPlane(root, work); err != nil {
		return fail(err)
	}
	defer cp.Stop()
	cp.PluginDir = bin
	ctx := context.Background()
	if _, err := cp.Kubectl(ctx, "apply", "-f", filepath.Join(root, "config/crd/bases")); err != nil {
		return fail(err)
	}
	if _, err := cp.Kubectl(ctx, "wait", "--for=condition=Established", "--timeout=60s",
		"crd/softwaretokenenrollments.mfa.cognito-operator.dev", "crd/clusteruserpools.mfa.cognito-operator.dev"); err != nil {
		return fail(err)
	}
	if cognito, err = localenv.StartCognitoLocal(root, work); err != nil {
		return fail(err)
	}
	defer cognito.Stop()
	if err := startManager(); err != nil {
		return fail(err)
	}
	code := m.Run()
	manager.Stop()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "manager log:\n%s\n", manager.Log())
	}
	return code
}

func startManager() error {
	var err error
	manager, err = localenv.StartManager(filepath.Join(work, "bin", "manager"), cp.Kubeconfig, work,
		"--cognito-endpoint", cognito.URL, "--region", "us-east-1", "--log-level", "debug", "--namespaces", "e2e",
		"--metrics-bind-address", "0", "--health-probe-bind-address", "0", "--retry-base-delay", "200ms")
	return err
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "e2e setup:", err)
	return 1
}
