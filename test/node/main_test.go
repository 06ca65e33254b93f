// Package node runs the operator the way a cluster runs it, on a real
// single-node Kubernetes built on this machine (shared/real-node.md):
// Debian's containerd with a config of its own, kube-apiserver and etcd
// (envtest, with ServiceAccount admission), kube-controller-manager,
// kube-scheduler and the kubelet, all from the same k8s.io/kubernetes
// module; the pause image and the operator's image are built here offline
// and imported. The chart is installed with helm, with the commands the
// README shows, and the operator's pod enrolls users of cognito-local.
//
// TestMain brings the node up once for every scenario and always tears it
// down, in the recipe's order, and then checks that the host is as it found
// it (mounts, cgroups, iptables, network namespaces and links, sysctls such
// as ip_forward, the paths the kubelet and containerd create): on success,
// failure, panic, Ctrl-C or SIGTERM, and before `go test -timeout` would
// kill it (a panic in a test is caught in its cleanups: see needNode). A run
// killed outright (SIGKILL) is cleaned up by the next one.
// Runs never overlap (a lock file). It needs root, containerd, runc, the
// CNI plugins, podman (or buildah) and the binaries `make test-node` builds;
// without them every test skips and says why.
package node

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/localenv"
)

// lockPath serialises node runs on this host: they share iptables, cgroups
// and the run directory.
const lockPath = "/run/cognito-mfa-node-test.lock"

var (
	root       string
	skipReason string
	runDir     = filepath.Join(os.TempDir(), "cognito-mfa-node")

	cl      *cluster
	cognito *localenv.CognitoLocal
	pool    cognitoPool
)

// teardownNode tears the node down (set by run, once the node starts).
var teardownNode = func() {}

// needNode starts every test and subtest: it skips when the node cannot run
// here. A panic in a test ends the process once that test's cleanups have
// run, without returning to TestMain; so the node is torn down from a
// cleanup of the panicking test.
func needNode(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip("skipped: " + skipReason)
	}
	t.Cleanup(func() {
		if panicking() {
			logf("node: %s panicked: tearing down", t.Name())
			teardownNode()
		}
	})
}

// panicking says whether the calling goroutine unwinds a panic: the testing
// package runs a panicking test's cleanups from the deferred function that
// recovered it, before panicking again, so the panic's frame is on the stack.
func panicking() bool {
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, false)
	return bytes.Contains(buf[:n], []byte("\npanic("))
}

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	flag.Parse()
	var err error
	if root, err = filepath.Abs("../.."); err != nil {
		return fail(err)
	}
	var tool string
	if tool, skipReason = missing(); skipReason != "" {
		fmt.Fprintln(os.Stderr, "test/node: skipped:", skipReason)
		return m.Run()
	}
	unlock, err := lockHost(10 * time.Minute)
	if err != nil {
		return fail(err)
	}
	defer unlock()
	if problems := janitor(); len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(os.Stderr, "test/node: a previous run's leftovers could not be cleaned up:", p)
		}
		return 1
	}
	if cgroups := existingCgroups(); len(cgroups) > 0 {
		// Another kubelet's: sharing them would make this run's cleanup and
		// its check of the host wrong.
		skipReason = fmt.Sprintf("the cgroups %v exist, and no run of this suite left them: another kubelet runs on this host", cgroups)
		fmt.Fprintln(os.Stderr, "test/node: skipped:", skipReason)
		return m.Run()
	}

	start := time.Now()
	before, err := snapshotHost()
	if err == nil {
		if err = os.MkdirAll(runDir, 0o700); err == nil {
			err = before.save()
		}
	}
	if err != nil {
		return fail(err)
	}

	// down tears the node down once, whoever asks first: the end of the run,
	// a signal, or the watchdog.
	var once sync.Once
	problems := []string{}
	down := func() {
		once.Do(func() {
			t := time.Now()
			if cognito != nil {
				cognito.Stop()
			}
			if cl != nil {
				problems = cl.teardown()
			} else {
				problems = cleanHost(runDir, before, logf)
			}
			if len(problems) == 0 {
				_ = os.Remove(statePath())
			}
			logf("node: torn down in %s; host as found: %v", time.Since(t).Round(10*time.Millisecond), len(problems) == 0)
		})
	}
	defer down()
	teardownNode = down
	stopSignals := onSignal(func(sig os.Signal) {
		logf("node: %v: tearing down", sig)
		down()
		os.Exit(2)
	})
	defer stopSignals()
	if timeout := testTimeout(); timeout > 0 {
		// go test's alarm panics, and a panic in its goroutine runs no
		// deferred teardown: tear down a minute before it.
		watchdog := time.AfterFunc(timeout-time.Since(start)-time.Minute, func() {
			logf("node: the test timeout is near: tearing down before go test kills the binary")
			down()
			os.Exit(1)
		})
		defer watchdog.Stop()
	}

	if cl, err = bringUp(runDir, before, tool, logf); err != nil {
		fmt.Fprintln(os.Stderr, "node setup:", err)
		return 1
	}
	if err := startCognito(); err != nil {
		fmt.Fprintln(os.Stderr, "node setup:", err)
		return 1
	}
	logf("node: up in %s", time.Since(start).Round(10*time.Millisecond))

	code := m.Run()
	if code == 0 && flag.Lookup("test.run").Value.String() == "" {
		if unused := readmeUnused(); len(unused) > 0 {
			fmt.Fprintf(os.Stderr, "the README's install section shows commands no scenario ran: %q\n", unused)
			code = 1
		}
	}
	down()
	for _, p := range problems {
		fmt.Fprintln(os.Stderr, "node teardown: the host is not as it was:", p)
	}
	if len(problems) > 0 {
		code = 1
	}
	logf("node: suite %s in all", time.Since(start).Round(time.Second))
	return code
}

// startCognito starts cognito-local (behind the counting proxy) with the
// suite's user pool and app client.
func startCognito() error {
	var err error
	if cognito, err = localenv.StartCognitoLocal(root, runDir); err != nil {
		return err
	}
	ctx := context.Background()
	if pool.id, err = cognito.CreatePool(ctx, "node", types.UserPoolMfaTypeOptional); err != nil {
		return err
	}
	pool.client, _, err = cognito.CreateClient(ctx, pool.id, "node", false)
	return err
}

// janitor cleans up after a run that died before its teardown (SIGKILL, a
// machine stop): its run directory and the host snapshot it saved. It
// returns what it could not put back.
func janitor() []string {
	before, err := loadHostState()
	if errors.Is(err, os.ErrNotExist) {
		if _, err := os.Stat(runDir); err != nil {
			return nil
		}
		before = nil
	} else if err != nil {
		return []string{err.Error()}
	}
	logf("node janitor: a previous run left %s: cleaning up after it", runDir)
	problems := cleanHost(runDir, before, logf)
	if len(problems) == 0 {
		_ = os.Remove(statePath())
	}
	return problems
}

// lockHost takes the host's node-test lock, waiting up to timeout for
// another run to finish.
func lockHost(timeout time.Duration) (func(), error) {
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	for said := false; ; said = true {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("locking %s (another node test run holds it?): %w", lockPath, err)
		}
		if !said {
			logf("node: another node test run holds %s: waiting", lockPath)
		}
		time.Sleep(time.Second)
	}
}

// onSignal calls f on SIGINT or SIGTERM; the returned function stops that.
func onSignal(f func(os.Signal)) func() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-sigs:
			f(sig)
		case <-done:
		}
	}()
	return func() { signal.Stop(sigs); close(done) }
}

// testTimeout is go test's -timeout (0: none).
func testTimeout() time.Duration {
	f := flag.Lookup("test.timeout")
	if f == nil {
		return 0
	}
	d, _ := time.ParseDuration(f.Value.String())
	return d
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05.000 ")+format+"\n", args...)
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "test/node:", err)
	return 1
}
