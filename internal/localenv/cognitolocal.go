package localenv

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// CognitoLocal is the cognito-local emulator (npm, pinned in
// hack/cognito-local) behind a proxy that counts calls per operation and
// refuses a TOTP code used once already, as real Cognito does.
type CognitoLocal struct {
	// URL is the proxy: what the operator and the tests talk to.
	URL string
	// Upstream is cognito-local itself.
	Upstream string

	cmd   *exec.Cmd
	log   *os.File
	proxy *http.Server

	mu    sync.Mutex
	calls map[string]int
	// down makes the proxy drop every request: see SetDown.
	down atomic.Bool
}

// StartCognitoLocal starts cognito-local on a free loopback port with its
// state in dir, and the counting proxy on another.
func StartCognitoLocal(root, dir string) (*CognitoLocal, error) {
	start := filepath.Join(root, "hack", "cognito-local", "node_modules", "cognito-local", "lib", "bin", "start.js")
	if _, err := os.Stat(start); err != nil {
		return nil, fmt.Errorf("cognito-local is not installed: run `make cognito-local`")
	}
	state := filepath.Join(dir, ".cognito")
	if err := os.MkdirAll(state, 0o700); err != nil {
		return nil, err
	}
	// Plain usernames, not e-mail addresses, as service accounts have.
	if err := os.WriteFile(filepath.Join(state, "config.json"), []byte(`{"UserPoolDefaults":{"UsernameAttributes":[]}}`), 0o600); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	log, err := os.Create(filepath.Join(dir, "cognito-local.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("node", start)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), fmt.Sprintf("PORT=%d", port), "HOST=127.0.0.1")
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL} // gone with the test process, even after a panic
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("starting cognito-local (is node installed?): %w", err)
	}
	c := &CognitoLocal{Upstream: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, log: log, calls: map[string]int{}}
	if err := waitForPort(port, 30*time.Second); err != nil {
		c.Stop()
		return nil, fmt.Errorf("cognito-local did not start: %w", err)
	}
	if err := c.startProxy(); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

func (c *CognitoLocal) startProxy() error {
	upstream, _ := url.Parse(c.Upstream)
	rp := httputil.NewSingleHostReverseProxy(upstream)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	c.URL = "http://" + l.Addr().String()
	once := newCodeOnce()
	c.proxy = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AWSCognitoIdentityProviderService.")
		c.mu.Lock()
		c.calls[op]++
		c.mu.Unlock()
		if c.down.Load() {
			hangUp(w)
			return
		}
		// Real Cognito's one-time-code rule, which cognito-local lacks.
		once.wrap(op, rp).ServeHTTP(w, r)
	})}
	go func() { _ = c.proxy.Serve(l) }()
	return nil
}

// SetDown(true) makes the proxy close every connection without an answer,
// as an unreachable Cognito would look to a client, until SetDown(false).
// cognito-local itself keeps running with its state.
func (c *CognitoLocal) SetDown(down bool) { c.down.Store(down) }

// hangUp closes the request's connection with no response.
func hangUp(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	http.Error(w, "cognito is down", http.StatusServiceUnavailable)
}

// CallCounts is a copy of the calls the proxy has seen, per operation.
func (c *CognitoLocal) CallCounts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.calls))
	for k, v := range c.calls {
		out[k] = v
	}
	return out
}

// Stop ends cognito-local and the proxy.
func (c *CognitoLocal) Stop() {
	if c.proxy != nil {
		_ = c.proxy.Close()
	}
	stopProcess(c.cmd, 5*time.Second)
	c.log.Close()
}

// stopProcess sends SIGTERM to the process group, then SIGKILL.
func stopProcess(cmd *exec.Cmd, grace time.Duration) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(grace):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitForPort(port int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Pid is cognito-local's process id (the node process), for CPU accounting.
func (c *CognitoLocal) Pid() int { return c.cmd.Process.Pid }
