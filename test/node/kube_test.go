package node

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/localenv"
)

// kubectl runs the real kubectl against the node's API server as its admin.
func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	out, err := cl.cp.Kubectl(ctx, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// apply applies a manifest with kubectl, as a user would. Not from
// t.TempDir(): a subtest's name may put a comma in its path, which kubectl
// -f reads as two files.
func apply(t *testing.T, manifest string) {
	t.Helper()
	if err := cl.cp.Apply(context.Background(), runDir, manifest); err != nil {
		t.Fatal(err)
	}
}

// deleteNamespaces deletes namespaces at once and waits until all are gone;
// it returns how long that took. At once, because the namespace controller
// waits 5 s before it starts on each.
func deleteNamespaces(timeout time.Duration, names ...string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	if _, err := cl.cp.Kubectl(ctx, append([]string{"delete", "namespace", "--ignore-not-found", "--wait=false"}, names...)...); err != nil {
		return 0, err
	}
	for {
		out, err := cl.cp.Kubectl(ctx, append([]string{"get", "namespace", "--ignore-not-found", "-o", "name"}, names...)...)
		if err == nil && strings.TrimSpace(out) == "" {
			return time.Since(start), nil
		}
		if ctx.Err() != nil {
			return time.Since(start), fmt.Errorf("namespaces still there after %s: %q %v", timeout, out, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// exists says whether kubectl get finds the object.
func exists(t *testing.T, args ...string) bool {
	t.Helper()
	return strings.TrimSpace(kubectl(t, append([]string{"get", "--ignore-not-found", "-o", "name"}, args...)...)) != ""
}

// eventually polls cond every 250 ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(250 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
	}
}

// managerPods are the pods of a release's manager, terminating ones included.
func managerPods(t *testing.T, release string) []corev1.Pod {
	t.Helper()
	var list corev1.PodList
	out := kubectl(t, "get", "pods", "-n", releaseNS, "-l", "app.kubernetes.io/instance="+release, "-o", "json")
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// readyPod is the release's one running pod, which must be Ready.
func readyPod(t *testing.T, release string) corev1.Pod {
	t.Helper()
	var pods []corev1.Pod
	for _, p := range managerPods(t, release) {
		if p.DeletionTimestamp == nil {
			pods = append(pods, p)
		}
	}
	if len(pods) != 1 {
		t.Fatalf("release %s has %d pods, want 1", release, len(pods))
	}
	for _, c := range pods[0].Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return pods[0]
		}
	}
	t.Fatalf("pod %s is not Ready: %+v", pods[0].Name, pods[0].Status.Conditions)
	return corev1.Pod{}
}

// confinement is what the host's /proc says about the pod's manager.
func confinement(t *testing.T, pod corev1.Pod) (localenv.Confinement, int) {
	t.Helper()
	if len(pod.Status.ContainerStatuses) != 1 {
		t.Fatalf("pod %s has %d container statuses", pod.Name, len(pod.Status.ContainerStatuses))
	}
	id, ok := strings.CutPrefix(pod.Status.ContainerStatuses[0].ContainerID, "containerd://")
	if !ok {
		t.Fatalf("pod %s: container id %q", pod.Name, pod.Status.ContainerStatuses[0].ContainerID)
	}
	pid, err := cl.containerd.taskPid(id)
	if err != nil {
		t.Fatal(err)
	}
	conf, err := localenv.ReadConfinement(pid)
	if err != nil {
		t.Fatal(err)
	}
	return conf, pid
}
