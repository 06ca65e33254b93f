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
	// PluginDir, when set, is put first on kubectl's PATH, where kubectl
	// looks for plugins such as kubectl-mfa.
	PluginDir string
	kubectl   string
}

// ControlPlaneOption adjusts the envtest environment before it starts, e.g.
// the API server's flags or where its certificates and etcd's data live.
type ControlPlaneOption func(*envtest.Environment)

// StartControlPlane starts the envtest binaries in root/bin/k8s (or
// KUBEBUILDER_ASSETS) and writes an admin kubeconfig into dir. CRDs are not
// installed: callers apply them with kubectl, as a user would.
func StartControlPlane(root, dir string, opts ...ControlPlaneOption) (*ControlPlane, error) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join(root, "bin", "k8s")
	}
	kubectl := filepath.Join(assets, "kubectl")
	if _, err := os.Stat(kubectl); err != nil {
		return nil, fmt.Errorf("no kubectl in %s: run `make envtest-bins`", assets)
	}
	env := &envtest.Environment{BinaryAssetsDirectory: assets}
	for _, o := range opts {
		o(env)
	}
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
	// KUBECONFIG rather than --kubeconfig: kubectl refuses flags before a plugin's name.
	cmd := exec.CommandContext(ctx, c.kubectl, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.Kubeconfig)
	if c.PluginDir != "" {
		cmd.Env = append(cmd.Env, "PATH="+c.PluginDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %v: %w: %s", args, err, out)
	}
	return string(out), nil
}

// Apply writes the manifest to a file in dir and applies it with kubectl
// apply -f, as a user would.
func (c *ControlPlane) Apply(ctx context.Context, dir, manifest string) error {
	f, err := os.CreateTemp(dir, "manifest-*.yaml")
	if err != nil {
		return err
	}
	_, err = f.WriteString(manifest)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	_, err = c.Kubectl(ctx, "apply", "-f", f.Name())
	return err
}

// Stop stops the API server and etcd.
func (c *ControlPlane) Stop() { _ = c.env.Stop() }
