package node

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// cniBridge is the bridge the CNI config names. The suite's pods all use the
// host network, so no pod is ever attached to it; the CRI plugin still needs
// a network config to call the node's network ready.
const cniBridge = "cnimfa0"

// containerd is Debian's containerd with a config, root, state and socket of
// its own under the run directory, not the system service (real-node.md).
type containerd struct {
	dir, sock string
	proc      *proc
}

// containerdConfig: the settings real-node.md says matter.
//   - restrict_oom_score_adj: without it every sandbox fails ("can't get final
//     child's PID from pipe"): this sandbox cannot lower oom_score_adj;
//   - sandbox_image: the pause image built and imported here (no registry);
//   - netns_mounts_under_state_dir and the runc Root keep network namespaces
//     and runc's state in the run directory;
//   - the opt plugin is disabled: it would create /opt/containerd.
const containerdConfig = `version = 2
root = %[1]q
state = %[2]q
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]

[grpc]
  address = %[3]q

[ttrpc]
  address = %[4]q

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %[5]q
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = %[6]q
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %[7]q
    conf_dir = %[8]q
`

// cniConfig is a bridge with host-local addresses and portmap; host-local
// keeps its leases in the run directory.
const cniConfig = `{
  "cniVersion": "0.4.0",
  "name": "mfa-node",
  "plugins": [
    {"type": "bridge", "bridge": %[1]q, "isGateway": true, "ipMasq": true,
     "ipam": {"type": "host-local", "dataDir": %[2]q, "ranges": [[{"subnet": "10.244.0.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
`

const cniBinDir = "/usr/lib/cni"

func startContainerd(runDir, pauseImage string) (*containerd, error) {
	dir := filepath.Join(runDir, "containerd")
	c := &containerd{dir: dir, sock: filepath.Join(dir, "containerd.sock")}
	cniConf := filepath.Join(dir, "net.d")
	for _, d := range []string{dir, cniConf} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	conf := fmt.Sprintf(containerdConfig, filepath.Join(dir, "root"), filepath.Join(dir, "state"), c.sock, c.sock+".ttrpc",
		pauseImage, filepath.Join(dir, "runc"), cniBinDir, cniConf)
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(conf), 0o600); err != nil {
		return nil, err
	}
	network := fmt.Sprintf(cniConfig, cniBridge, filepath.Join(dir, "cni-ipam"))
	if err := os.WriteFile(filepath.Join(cniConf, "10-mfa-node.conflist"), []byte(network), 0o600); err != nil {
		return nil, err
	}
	var err error
	if c.proc, err = startProc(runDir, "containerd", "containerd", "--config", filepath.Join(dir, "config.toml")); err != nil {
		return nil, err
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if conn, err := net.Dial("unix", c.sock); err == nil {
			conn.Close()
			break
		}
		if !c.proc.running() || time.Now().After(deadline) {
			c.proc.stop(5 * time.Second)
			return nil, fmt.Errorf("containerd did not start:\n%s", c.proc.tail())
		}
	}
	return c, nil
}

// ctr runs containerd's own client against this containerd, in the CRI
// plugin's namespace.
func (c *containerd) ctr(args ...string) (string, error) {
	out, err := exec.Command("ctr", append([]string{"--address", c.sock, "--namespace", "k8s.io"}, args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ctr %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// importImage imports a docker-archive tarball where the kubelet finds it.
func (c *containerd) importImage(tar string) error {
	_, err := c.ctr("images", "import", tar)
	return err
}

// taskPid is the host pid of a running container's init process.
func (c *containerd) taskPid(containerID string) (int, error) {
	out, err := c.ctr("tasks", "ls")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == containerID {
			return strconv.Atoi(f[1])
		}
	}
	return 0, fmt.Errorf("container %s has no task:\n%s", containerID, out)
}

// tasks are the ids of the running tasks.
func (c *containerd) tasks() []string {
	out, err := c.ctr("tasks", "ls")
	if err != nil {
		return nil
	}
	var ids []string
	for i, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); i > 0 && len(f) > 0 {
			ids = append(ids, f[0])
		}
	}
	return ids
}

// removeAll kills and deletes every task and container the kubelet left.
func (c *containerd) removeAll(logf func(string, ...any)) {
	for _, id := range c.tasks() {
		_, _ = c.ctr("tasks", "kill", "--signal", "SIGKILL", id)
		if err := retry(func() error { _, err := c.ctr("tasks", "delete", id); return err }); err != nil {
			logf("%v", err)
		}
	}
	out, err := c.ctr("containers", "ls", "--quiet")
	if err != nil {
		logf("%v", err)
		return
	}
	for _, id := range strings.Fields(out) {
		if _, err := c.ctr("containers", "delete", id); err != nil {
			logf("%v", err)
		}
	}
}
