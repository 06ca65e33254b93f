package node

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

// scenario is what one test makes on the node: its namespaces and its
// releases in the release namespace. One cleanup undoes it all when the
// test ends, in the order that lets each step finish: the enrollments
// first, while their manager still runs their finalizers; then what the
// test asked to go after them (a ClusterUserPool waits for its
// enrollments); the releases, with the README's helm uninstall; and then
// every namespace at once.
type scenario struct {
	t          *testing.T
	namespaces []string
	releases   []release
	atEnd      []func()
}

// newScenario makes the release namespace with the README's commands for
// hostNetwork: created, and labelled with the privileged Pod Security level.
func newScenario(t *testing.T) *scenario {
	t.Helper()
	s := &scenario{t: t}
	for _, c := range [][]string{readmeCommand(t, "create the release namespace", createNamespace),
		readmeCommand(t, "label the release namespace", labelNamespace)} {
		kubectl(t, c[1:]...)
	}
	t.Cleanup(s.cleanup)
	return s
}

// namespace creates a namespace of the scenario's.
func (s *scenario) namespace(name string) {
	s.t.Helper()
	kubectl(s.t, "create", "namespace", name)
	s.namespaces = append(s.namespaces, name)
}

// install runs a README helm install (words), renamed to r.name when that
// differs, with the node's flags and extra, and waits for the rollout.
func (s *scenario) install(words []string, r release, extraArgs []string, extra ...string) {
	s.t.Helper()
	if !slices.ContainsFunc(s.releases, func(o release) bool { return o.name == r.name }) {
		s.releases = append(s.releases, r)
	}
	words = slices.Clone(words)
	words[2] = r.name
	start := time.Now()
	helm(s.t, words, append(append(nodeFlags(s.t, r, extraArgs...), extra...), "--wait", "--timeout", "3m")...)
	rollout(s.t, r.name)
	s.t.Logf("%s installed and rolled out in %s", r.name, time.Since(start).Round(10*time.Millisecond))
}

// after runs f when the test ends, once the enrollments are gone and
// before the releases go.
func (s *scenario) after(f func()) { s.atEnd = append(s.atEnd, f) }

func (s *scenario) cleanup() {
	t := s.t
	if t.Failed() {
		s.diagnose()
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	for _, ns := range s.namespaces {
		if _, err := cl.cp.Kubectl(ctx, "delete", "softwaretokenenrollments", "--all", "-n", ns, "--ignore-not-found"); err != nil {
			t.Error(err)
		}
	}
	for i := len(s.atEnd) - 1; i >= 0; i-- {
		s.atEnd[i]()
	}
	// The namespaces go while the manager runs: their seed Secrets carry
	// the seed-protection finalizer, which only the manager lifts, once it
	// has kept their seeds (the README's uninstall order).
	if _, err := deleteNamespaces(3*time.Minute, s.namespaces...); err != nil {
		t.Error(err)
	}
	uninstall := readmeCommand(t, "helm uninstall", uninstallCmd)
	for _, r := range s.releases {
		uninstall[2] = r.name
		if _, err := runHelm(append(uninstall[1:], "--ignore-not-found", "--wait", "--timeout", "2m")...); err != nil {
			t.Error(err)
		}
	}
	if _, err := deleteNamespaces(3*time.Minute, releaseNS); err != nil {
		t.Error(err)
	}
	t.Logf("cleaned up in %s: enrollments, releases %v, namespaces %v", time.Since(start).Round(10*time.Millisecond),
		s.releases, append(s.namespaces, releaseNS))
}

// diagnose logs what a failed test needs to be understood: the managers'
// logs, the enrollments, the namespaces and the pods.
func (s *scenario) diagnose() {
	var cmds [][]string
	for _, r := range s.releases {
		cmds = append(cmds, []string{"logs", "-n", releaseNS, "-l", "app.kubernetes.io/instance=" + r.name, "--tail=300", "--prefix"})
	}
	cmds = append(cmds, []string{"get", "softwaretokenenrollments,clusteruserpools", "-A", "-o", "wide"},
		[]string{"get", "namespaces", "-o", "wide"}, []string{"get", "pods", "-A", "-o", "wide"})
	for _, args := range cmds {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := cl.cp.Kubectl(ctx, args...)
		cancel()
		s.t.Logf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
