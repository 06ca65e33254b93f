package node

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/localenv"
)

// missing says why the node cannot run here, or "" when it can; the tests
// skip with this message. The tool it returns builds the images.
func missing() (tool, why string) {
	if os.Geteuid() != 0 {
		return "", "the node suite runs containerd and the kubelet, which need root, and this is not root"
	}
	var lacks []string
	for _, cmd := range []string{"containerd", "ctr", "runc", "iptables-save", "iptables-restore", "ip"} {
		if _, err := exec.LookPath(cmd); err != nil {
			lacks = append(lacks, cmd)
		}
	}
	if len(lacks) > 0 {
		return "", fmt.Sprintf("%s not on PATH (Debian: apt-get install containerd runc iptables iproute2)", strings.Join(lacks, ", "))
	}
	for _, plugin := range []string{"bridge", "host-local", "portmap", "loopback"} {
		if _, err := os.Stat(filepath.Join(cniBinDir, plugin)); err != nil {
			return "", fmt.Sprintf("the CNI plugin %s is not in %s (Debian: apt-get install containernetworking-plugins)", plugin, cniBinDir)
		}
	}
	tool, err := localenv.ContainerTool()
	if err != nil {
		return "", err.Error()
	}
	for _, bin := range []string{"kube-apiserver", "etcd", "kubectl", "kubelet", "kube-controller-manager", "kube-scheduler"} {
		if _, err := os.Stat(k8sBin(bin)); err != nil {
			return "", fmt.Sprintf("%s is missing: `make test-node` builds it (make envtest-bins node-bins)", k8sBin(bin))
		}
	}
	if _, err := os.Stat(helmPath()); err != nil {
		return "", fmt.Sprintf("%s is missing: `make test-node` builds it (make helm)", helmPath())
	}
	if _, err := os.Stat(filepath.Join(root, "hack", "cognito-local", "node_modules", "cognito-local")); err != nil {
		return "", "cognito-local is not installed: `make test-node` installs it (make cognito-local)"
	}
	return tool, ""
}
