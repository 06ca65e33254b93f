// Package localenv starts the pieces of a local, self-contained setup: a real
// kube-apiserver and etcd, cognito-local behind a call-counting proxy, and the
// manager as a process. The end-to-end tests and `make demo` share it.
package localenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// ControlPlane is a kube-apiserver and etcd with an admin kubeconfig.
type ControlPlane struct {
	env        *envtest.Environment
	Config     *rest.Config
	Kubeconfig string
	kubectl    string
}

// StartControlPlane starts the envtest binaries in root/bin/k8s (or
// KUBEBUILDER_ASSETS) and writes an admin kubeconfig into dir. CRDs are not
// installed: callers apply them with kubectl, as a user would.
func StartControlPlane(root, dir string) (*ControlPlane, error) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join(root, "bin", "k8s")
	}
	kubectl := filepath.Join(assets, "kubectl")
	if _, err := os.Stat(kubectl); err != nil {
		return nil, fmt.Errorf("no kubectl in %s: run `make envtest-bins`", assets)
	}
	env := &envtest.Environment{BinaryAssetsDirectory: assets}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting kube-apiserver and etcd: %w", err)
	}
	cp := &ControlPlane{env: env, Config: cfg, kubectl: kubectl, Kubeconfig: filepath.Join(dir, "kubeconfig")}
	admin, err := env.AddUser(envtest.User{Name: "local-admin", Groups: []string{"system:masters"}}, nil)
	if err == nil {
		var kc []byte
		if kc, err = admin.KubeConfig(); err == nil {
			err = os.WriteFile(cp.Kubeconfig, kc, 0o600)
		}
	}
	if err != nil {
		cp.Stop()
		return nil, err
	}
	return cp, nil
}

// Kubectl runs the real kubectl against the control plane.
func (c *ControlPlane) Kubectl(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, c.kubectl, append([]string{"--kubeconfig", c.Kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %v: %w: %s", args, err, out)
	}
	return string(out), nil
}

// KubectlPath is the kubectl binary, for plugins run through it.
func (c *ControlPlane) KubectlPath() string { return c.kubectl }

// Stop stops the API server and etcd.
func (c *ControlPlane) Stop() { _ = c.env.Stop() }
