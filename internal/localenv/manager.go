package localenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Manager is the operator's manager running as a process, as in production.
type Manager struct {
	LogPath string
	cmd     *exec.Cmd
	log     *os.File
}

// StartManager runs bin against the kubeconfig with the given flags,
// appending its output to dir/manager.log.
func StartManager(bin, kubeconfig, dir string, args ...string) (*Manager, error) {
	return StartManagerWithEnv(bin, kubeconfig, dir, nil, args...)
}

// StartManagerWithEnv is StartManager with extra environment variables.
func StartManagerWithEnv(bin, kubeconfig, dir string, env []string, args ...string) (*Manager, error) {
	m := &Manager{LogPath: filepath.Join(dir, "manager.log")}
	var err error
	if m.log, err = os.OpenFile(m.LogPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600); err != nil {
		return nil, err
	}
	if !hasFlag(args, "--cluster-resource-namespace") {
		// A local API server has no operator namespace; "default" always exists.
		args = append(args, "--cluster-resource-namespace=default")
	}
	m.cmd = exec.Command(bin, append([]string{"--kubeconfig", kubeconfig}, args...)...)
	m.cmd.Env = append(os.Environ(), env...)
	m.cmd.Stdout, m.cmd.Stderr = m.log, m.log
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL} // gone with the test process, even after a panic
	if err := m.cmd.Start(); err != nil {
		m.log.Close()
		return nil, fmt.Errorf("starting the manager: %w", err)
	}
	return m, nil
}

func hasFlag(args []string, flag string) bool {
	for _, a := range args {
		if a == flag || strings.HasPrefix(a, flag+"=") {
			return true
		}
	}
	return false
}

// Stop asks the manager to shut down, as Kubernetes would, and waits.
func (m *Manager) Stop() {
	stopProcess(m.cmd, 10*time.Second)
	m.log.Close()
}

// Kill ends the manager with SIGKILL, as a node failure or OOM kill would.
func (m *Manager) Kill() {
	_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
	_ = m.cmd.Wait()
	m.log.Close()
}

// Pid is the manager's process id.
func (m *Manager) Pid() int { return m.cmd.Process.Pid }

// Log is everything the manager has written.
func (m *Manager) Log() string {
	b, _ := os.ReadFile(m.LogPath)
	return string(b)
}

// Quiet watches per-operation call counts for d and reports whether they
// stayed the same: what "no Cognito call while nothing changed" means.
func Quiet(d time.Duration, counts func() map[string]int) (before, after map[string]int, quiet bool) {
	before = counts()
	time.Sleep(d)
	after = counts()
	return before, after, fmt.Sprint(before) == fmt.Sprint(after)
}
