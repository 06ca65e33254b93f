package chart

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// deployment renders the chart with the --set flags and returns its
// Deployment.
func deployment(t *testing.T, set ...string) appsv1.Deployment {
	t.Helper()
	for _, o := range docs(t, render(t, nil, set...)) {
		if o["kind"] != "Deployment" {
			continue
		}
		var d appsv1.Deployment
		b, err := json.Marshal(o)
		if err == nil {
			err = json.Unmarshal(b, &d)
		}
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	t.Fatal("no Deployment rendered")
	return appsv1.Deployment{}
}

func envOf(d appsv1.Deployment) map[string]string {
	out := map[string]string{}
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		out[e.Name] = e.Value
	}
	return out
}

// TestHostNetworkValues: the values a node without the kubernetes Service
// needs (README, "Installing in a cluster"; test/node installs them on a
// real node). apiServer sets the in-cluster client's address; hostNetwork
// makes rollouts replace the pod instead of surging onto the same ports,
// unless strategy says otherwise; the defaults change nothing.
func TestHostNetworkValues(t *testing.T) {
	needHelm(t)
	d := deployment(t)
	if d.Spec.Template.Spec.HostNetwork || d.Spec.Strategy.Type != "" || d.Spec.Strategy.RollingUpdate != nil {
		t.Errorf("defaults: hostNetwork %v, strategy %+v; want false and Kubernetes' default", d.Spec.Template.Spec.HostNetwork, d.Spec.Strategy)
	}
	if env := envOf(d); env["KUBERNETES_SERVICE_HOST"] != "" || env["KUBERNETES_SERVICE_PORT"] != "" {
		t.Errorf("defaults set the API server's address: %v", env)
	}

	set := []string{"hostNetwork=true", "apiServer.host=127.0.0.1", "apiServer.port=6443"}
	d = deployment(t, set...)
	spec := d.Spec.Template.Spec
	if !spec.HostNetwork || spec.DNSPolicy != corev1.DNSClusterFirstWithHostNet {
		t.Errorf("hostNetwork=true: hostNetwork %v, dnsPolicy %s", spec.HostNetwork, spec.DNSPolicy)
	}
	if env := envOf(d); env["KUBERNETES_SERVICE_HOST"] != "127.0.0.1" || env["KUBERNETES_SERVICE_PORT"] != "6443" {
		t.Errorf("apiServer: KUBERNETES_SERVICE_HOST %q, KUBERNETES_SERVICE_PORT %q", env["KUBERNETES_SERVICE_HOST"], env["KUBERNETES_SERVICE_PORT"])
	}
	ru := d.Spec.Strategy.RollingUpdate
	if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || ru == nil ||
		ru.MaxSurge.String() != "0" || ru.MaxUnavailable.String() != "1" {
		t.Errorf("hostNetwork: strategy %+v, want a rolling update with maxSurge 0, maxUnavailable 1", d.Spec.Strategy)
	}
	if d = deployment(t, append(set, "strategy.type=Recreate")...); d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType || d.Spec.Strategy.RollingUpdate != nil {
		t.Errorf("strategy.type=Recreate: %+v", d.Spec.Strategy)
	}

	// A host without a port is refused when rendering.
	out, err := exec.Command(helm, "template", release, chartDir, "--set", "apiServer.host=10.0.0.10").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "apiServer.port is required") {
		t.Errorf("apiServer.host without a port rendered: %v\n%s", err, out)
	}

	// The API server takes the rendering (server-side dry run).
	cp := controlPlane(t)
	createNamespaces(t, cp, nil, releaseNS)
	file := writeFile(t, t.TempDir(), "hostnetwork.yaml", render(t, nil, set...))
	if out, err := cp.Kubectl(context.Background(), "apply", "--server-side", "--dry-run=server",
		"--field-manager=chart-test", "--force-conflicts", "-f", file); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}
