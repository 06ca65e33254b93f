package node

import (
	"fmt"
	"os"
	"path/filepath"
)

// nodeName is the kubelet's --hostname-override: kubectl logs and exec reach
// the kubelet through the node's name, and localhost resolves.
const nodeName = "localhost"

// kubeletConfig: the settings real-node.md says matter here.
//   - failCgroupV1 false and the cgroupfs driver: this machine has cgroup v1
//     and no systemd, and Kubernetes 1.37 refuses cgroup v1 by default;
//   - the socket of the suite's containerd;
//   - loopback addresses and free ports; no read-only port;
//   - anonymous authentication with AlwaysAllow authorization, so that the
//     API server (which sends no client certificate) can stream logs;
//   - no resolv.conf (no cluster DNS: the pods use the host's network);
//   - eviction and image garbage collection that never fire on a busy
//     developer machine: an evicted operator or a collected image (never
//     pulled again: there is no registry) would fail the suite for nothing;
//   - the pod logs in the run directory.
const kubeletConfig = `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
failSwapOn: false
containerRuntimeEndpoint: unix://%[1]s
imageServiceEndpoint: unix://%[1]s
address: 127.0.0.1
port: %[2]d
healthzBindAddress: 127.0.0.1
healthzPort: %[3]d
readOnlyPort: 0
resolvConf: ""
podLogsDir: %[4]q
authentication:
  anonymous:
    enabled: true
  webhook:
    enabled: false
authorization:
  mode: AlwaysAllow
evictionHard:
  memory.available: "100Mi"
  nodefs.available: "1%%"
  nodefs.inodesFree: "1%%"
  imagefs.available: "1%%"
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
`

// startKubelet writes the kubelet's configuration and starts it with its own
// root and certificate directories.
func startKubelet(runDir, bin, kubeconfig, sock string) (*proc, error) {
	dir := filepath.Join(runDir, "kubelet")
	if err := os.MkdirAll(filepath.Join(dir, "pod-logs"), 0o700); err != nil {
		return nil, err
	}
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(kubeletConfig, sock, ports[0], ports[1], filepath.Join(dir, "pod-logs"))
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(conf), 0o600); err != nil {
		return nil, err
	}
	return startProc(runDir, "kubelet", bin, "--config", filepath.Join(dir, "config.yaml"), "--kubeconfig", kubeconfig,
		"--root-dir", filepath.Join(dir, "root"), "--cert-dir", filepath.Join(dir, "pki"),
		"--hostname-override", nodeName, "--node-ip", "127.0.0.1", "--v", "2")
}
