package node

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/localenv"
)

// cluster is the single-node cluster: containerd, kube-apiserver and etcd
// (envtest, with ServiceAccount admission), kube-controller-manager,
// kube-scheduler and the kubelet, in the run directory.
type cluster struct {
	dir        string
	before     *hostState
	containerd *containerd
	cp         *localenv.ControlPlane
	apiPort    string
	procs      []*proc // controller-manager, scheduler, kubelet: stopped in reverse
	logf       func(string, ...any)
}

// k8sBin is a binary of bin/k8s (or KUBEBUILDER_ASSETS).
func k8sBin(name string) string {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return filepath.Join(dir, name)
	}
	return filepath.Join(root, "bin", "k8s", name)
}

// bringUp starts the node in dir, which must not exist. before is the host
// as it was, already saved in dir's parent's care (see run).
func bringUp(dir string, before *hostState, tool string, logf func(string, ...any)) (*cluster, error) {
	c := &cluster{dir: dir, before: before, logf: logf}
	step := func(what string, f func() error) error {
		start := time.Now()
		err := f()
		logf("node: %s: %s", what, time.Since(start).Round(10*time.Millisecond))
		return err
	}
	var archives []string
	if err := step("images built (pause, and the operator with make docker-build CONTAINER_TOOL="+tool+")", func() (err error) {
		archives, before.Images, err = buildImages(dir, tool)
		before.Tool = tool
		if serr := before.save(); err == nil {
			err = serr
		}
		return err
	}); err != nil {
		return c, err
	}
	if err := step("containerd started, images imported", func() (err error) {
		if c.containerd, err = startContainerd(dir, pauseImage); err != nil {
			return err
		}
		for _, a := range archives {
			if err := c.containerd.importImage(a); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return c, err
	}
	if err := step("kube-apiserver and etcd started", c.startControlPlane); err != nil {
		return c, err
	}
	if err := step("controller-manager, scheduler and kubelet started, node Ready", c.startNode); err != nil {
		return c, err
	}
	return c, nil
}

// startControlPlane starts envtest's API server with ServiceAccount
// admission back on (envtest turns it off, and pods would get no token),
// its certificates and etcd's data in the run directory.
func (c *cluster) startControlPlane() error {
	certDir := filepath.Join(c.dir, "apiserver")
	etcdDir := filepath.Join(c.dir, "etcd")
	for _, d := range []string{certDir, etcdDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	var err error
	c.cp, err = localenv.StartControlPlane(root, c.dir, func(env *envtest.Environment) {
		api := env.ControlPlane.GetAPIServer()
		api.CertDir = certDir
		api.Configure().Disable("disable-admission-plugins")
		env.ControlPlane.Etcd = &envtest.Etcd{DataDir: etcdDir}
	})
	if err != nil {
		return err
	}
	u, err := url.Parse(c.cp.Config.Host)
	if err != nil {
		return err
	}
	c.apiPort = u.Port()
	return nil
}

// startNode starts kube-controller-manager (garbage collector, namespace
// deletion, ServiceAccount tokens, Deployments), kube-scheduler and the
// kubelet, and waits for the node to be Ready.
func (c *cluster) startNode() error {
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	kc := c.cp.Kubeconfig
	common := []string{"--kubeconfig", kc, "--authentication-kubeconfig", kc, "--authorization-kubeconfig", kc,
		"--leader-elect=false", "--bind-address", "127.0.0.1"}
	kcm, err := startProc(c.dir, "kube-controller-manager", k8sBin("kube-controller-manager"), append(common,
		"--secure-port", fmt.Sprint(ports[0]), "--cert-dir", filepath.Join(c.dir, "kcm"),
		"--service-account-private-key-file", filepath.Join(c.dir, "apiserver", "sa-signer.key"))...)
	if err != nil {
		return err
	}
	c.procs = append(c.procs, kcm)
	sched, err := startProc(c.dir, "kube-scheduler", k8sBin("kube-scheduler"), append(common,
		"--secure-port", fmt.Sprint(ports[1]), "--cert-dir", filepath.Join(c.dir, "scheduler"))...)
	if err != nil {
		return err
	}
	c.procs = append(c.procs, sched)
	kubelet, err := startKubelet(c.dir, k8sBin("kubelet"), kc, c.containerd.sock)
	if err != nil {
		return err
	}
	c.procs = append(c.procs, kubelet)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	addressed := false
	for {
		out, err := c.cp.Kubectl(ctx, "get", "node", nodeName, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		if err == nil && !addressed {
			// The kubelet refuses a loopback --node-ip ("nodeIP can't be
			// loopback address") and then leaves the node's addresses alone:
			// its address setter fails before it writes them. Without the
			// flag it would pick the machine's non-loopback address. The node
			// is given 127.0.0.1 and its name here instead: the API server
			// reaches the kubelet through them (kubectl logs), and
			// hostNetwork pods take their IP, the one their probes use, from
			// them.
			_, err = c.cp.Kubectl(ctx, "patch", "node", nodeName, "--subresource=status", "--type=merge", "-p",
				`{"status":{"addresses":[{"type":"InternalIP","address":"127.0.0.1"},{"type":"Hostname","address":"`+nodeName+`"}]}}`)
			addressed = err == nil
		}
		if err == nil && addressed && out == "True" {
			break
		}
		for _, p := range c.procs {
			if !p.running() {
				return fmt.Errorf("%s exited:\n%s", p.name, p.tail())
			}
		}
		if ctx.Err() != nil {
			return fmt.Errorf("node %s not Ready after 2 minutes (%q, %v); kubelet log:\n%s", nodeName, out, err, kubelet.tail())
		}
		time.Sleep(250 * time.Millisecond)
	}
	return nil
}

// teardown stops everything in real-node.md's order and puts the host back
// as before; it returns what it could not put back.
func (c *cluster) teardown() []string {
	if c.cp != nil {
		c.deleteWorkloads()
	}
	for i := len(c.procs) - 1; i >= 0; i-- {
		c.procs[i].stop(15 * time.Second)
	}
	if c.cp != nil {
		c.cp.Stop()
	}
	if c.containerd != nil {
		c.containerd.removeAll(c.logf)
		c.containerd.proc.stop(15 * time.Second)
	}
	return cleanHost(c.dir, c.before, c.logf)
}

// deleteWorkloads deletes the controllers and pods still there (a failed
// test may leave a release installed) and gives the kubelet up to 30 s to
// stop their containers, so that it tears its pods down itself.
func (c *cluster) deleteWorkloads() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.cp.Kubectl(ctx, "delete", "deployments,replicasets,daemonsets,statefulsets,jobs", "--all", "--all-namespaces", "--wait=false"); err != nil {
		c.logf("teardown: %v", err)
	}
	if _, err := c.cp.Kubectl(ctx, "delete", "pods", "--all", "--all-namespaces", "--grace-period=0", "--force"); err != nil {
		c.logf("teardown: %v", err)
	}
	if c.containerd == nil {
		return
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if len(c.containerd.tasks()) == 0 {
			return
		}
	}
}

// cleanHost is the part of the teardown that needs nothing running: the
// janitor runs it too, for a run that died before its own. It kills what is
// left of the run's processes (the shims, any container), unmounts, and
// restores the host; then removes the run directory and the images the run
// added to the tool's store, and returns how the host still differs from
// before.
func cleanHost(dir string, before *hostState, logf func(string, ...any)) []string {
	var trees []string
	if before != nil {
		trees = newOnly(existingCgroups(), before.Cgroups)
	}
	killAll(append(strays(dir), cgroupPids(trees)...))
	unmountUnder(dir, logf)
	if before != nil {
		before.restore(logf)
	}
	var problems []string
	if before != nil {
		for _, img := range before.Images {
			if err := localenv.RemoveImage(before.Tool, img); err != nil {
				problems = append(problems, err.Error())
			}
		}
	}
	if m := mountsUnder(dir); len(m) > 0 {
		problems = append(problems, fmt.Sprintf("mounts left under %s: %v", dir, m))
	} else if err := os.RemoveAll(dir); err != nil {
		problems = append(problems, err.Error())
	}
	if p := strays(dir); len(p) > 0 {
		problems = append(problems, fmt.Sprintf("processes of the run left: %v", p))
	}
	if before != nil {
		problems = append(problems, before.diff()...)
	}
	return problems
}

// freePorts are n distinct loopback ports nothing listens on (yet).
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
