package enrollment_test

import (
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ktypes "k8s.io/apimachinery/pkg/types"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
)

// zzMonitor polls invariants while a scenario runs (not only at its end).
// A violation counts only when the same state (same resourceVersions, same
// Cognito seed) is seen in two samples at least 150 ms apart, so that a
// sample taken across a write in flight is not reported.
type zzMonitor struct {
	mu         sync.Mutex
	violations []string
	seen       map[string]bool
	stop, done chan struct{}
}

type zzTarget struct {
	ns, name, secretName string
	pool, user           string
	// storedCheck also checks that the seed Cognito holds for the user is
	// stored (secret or pending-secret) in this target's Secret.
	storedCheck bool
}

func (w *world) zzTarget(name string) zzTarget {
	return zzTarget{ns: w.ns, name: name, secretName: name + "-totp", pool: w.poolID, user: w.username, storedCheck: true}
}

func zzWatch(targets ...zzTarget) *zzMonitor {
	m := &zzMonitor{stop: make(chan struct{}), done: make(chan struct{}), seen: map[string]bool{}}
	go func() {
		defer close(m.done)
		prev := map[string]time.Time{}
		for {
			select {
			case <-m.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			seen := map[string]time.Time{}
			for _, t := range targets {
				for _, key := range zzSample(t) {
					first, ok := prev[key]
					if !ok {
						first = time.Now()
					}
					seen[key] = first
					if time.Since(first) >= 150*time.Millisecond {
						m.mu.Lock()
						if !m.seen[key] {
							m.seen[key] = true
							m.violations = append(m.violations, key)
						}
						m.mu.Unlock()
					}
				}
			}
			prev = seen
		}
	}()
	return m
}

// zzSample returns a key per invariant broken in this sample.
func zzSample(t zzTarget) []string {
	u := fake.User(t.pool, t.user)
	ste := &v1alpha1.SoftwareTokenEnrollment{}
	if err := k8s.Get(ctx(), ktypes.NamespacedName{Namespace: t.ns, Name: t.name}, ste); err != nil {
		return nil
	}
	s := &corev1.Secret{}
	err := k8s.Get(ctx(), ktypes.NamespacedName{Namespace: t.ns, Name: t.secretName}, s)
	if err != nil && !apierrors.IsNotFound(err) {
		return nil
	}
	if apierrors.IsNotFound(err) {
		s = nil
	}
	var out []string
	secret, pending, srv := "", "", "none"
	if s != nil {
		secret, pending, srv = string(s.Data[v1alpha1.KeySecret]), string(s.Data[v1alpha1.KeyPendingSecret]), s.ResourceVersion
	}
	if isReady(ste) && secret != u.TOTPSecret {
		out = append(out, fmt.Sprintf("READY-BUT-BROKEN %s/%s rv=%s secretRV=%s storedMatchesCognito=false cognitoHasToken=%v",
			t.ns, t.name, ste.ResourceVersion, srv, u.TOTPSecret != ""))
	}
	if t.storedCheck && u.TOTPSecret != "" && secret != u.TOTPSecret && pending != u.TOTPSecret {
		out = append(out, fmt.Sprintf("SEED-STORED-NOWHERE %s/%s secretRV=%s", t.ns, t.name, srv))
	}
	return out
}

func (m *zzMonitor) Stop() []string {
	close(m.stop)
	<-m.done
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.violations...)
}

func keyOf(ns, name string) ktypes.NamespacedName {
	return ktypes.NamespacedName{Namespace: ns, Name: name}
}
