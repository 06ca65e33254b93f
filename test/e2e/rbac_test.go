package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/localenv"
)

// TestManagerUnderChartRBAC runs a second manager as a process with the
// rights the Helm chart grants its ServiceAccount and nothing more: the
// chart's RBAC objects, rendered by helm template and applied with kubectl,
// and a token the API server issues for that ServiceAccount (TokenRequest),
// never the admin kubeconfig. In both of the chart's modes it must enroll a
// user, proven by an independent MFA sign-in, without one request the API
// server forbids. Its namespaces are not the suite's manager's (e2e).
func TestManagerUnderChartRBAC(t *testing.T) {
	helm := helmBinary(t)

	t.Run("cluster mode", func(t *testing.T) {
		const ns = "rbac-cluster"
		ensureNamespaces(t, chartReleaseNS, ns)
		kubeconfig := underChartRBAC(t, helm, "rbac-cluster")
		m := startManagerAs(t, kubeconfig)

		p := newPool(t, ns, types.UserPoolMfaTypeOptional)
		enrollAndProve(t, p, ns, "rbac-bot")
		assertNoForbidden(t, m)
	})

	t.Run("namespace mode", func(t *testing.T) {
		const watched, other = "rbac-a", "rbac-b"
		ensureNamespaces(t, chartReleaseNS, watched, other)
		kubeconfig := underChartRBAC(t, helm, "rbac-ns", "watchNamespaces={"+watched+"}")

		// An enrollment where the manager does not look, for a real user: it
		// would turn Ready if anything reconciled it.
		p := newPool(t, watched, types.UserPoolMfaTypeOptional)
		password := p.user(t, "outsider")
		apply(t, credentialsManifest(other, "outsider-credentials", "outsider", password)+"---\n"+
			enrollmentManifest(other, "outsider", fmt.Sprintf("  userPoolID: %s\n  clientID: %s\n  credentialsSecretRef: {name: outsider-credentials}", p.id, p.client)))

		const rights = "rbac-ns-cognito-mfa-operator-watched" // the chart's RoleBinding there
		m := startManagerAs(t, kubeconfig, "--namespaces", watched, "--namespace-rights", rights)
		enrollAndProve(t, p, watched, "rbac-bot")

		time.Sleep(3 * time.Second)
		ste := getSTE(t, other, "outsider")
		if len(ste.Status.Conditions) != 0 || ste.Status.ObservedGeneration != 0 || ste.Status.SecretName != "" || len(ste.Finalizers) != 0 {
			t.Errorf("the enrollment in the unwatched namespace %s was reconciled: finalizers %v, status %+v", other, ste.Finalizers, ste.Status)
		}
		if out, err := cp.Kubectl(ctx(), "get", "secret", "-n", other, "outsider-totp", "-o", "name"); err == nil || !strings.Contains(out, "NotFound") {
			t.Errorf("a TOTP Secret exists in the unwatched namespace %s: %q %v", other, out, err)
		}

		// The manager's credentials: Secrets in the watched namespace, none
		// in the other.
		if _, err := kubectlAs(kubeconfig, "get", "secret", "-n", watched, "rbac-bot-credentials", "-o", "name"); err != nil {
			t.Errorf("the manager's ServiceAccount cannot read a Secret in the watched namespace %s: %v", watched, err)
		}
		out, err := kubectlAs(kubeconfig, "get", "secret", "-n", other, "outsider-credentials", "-o", "name")
		if err == nil || !strings.Contains(out, "Forbidden") {
			t.Errorf("the manager's ServiceAccount read a Secret in the unwatched namespace %s, or failed otherwise: %q %v", other, out, err)
		}
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"get", "secrets", "-n", watched}, "yes"},
			{[]string{"get", "secrets", "-n", other}, "no"},
			{[]string{"list", "secrets", "--all-namespaces"}, "no"},
			{[]string{"list", "softwaretokenenrollments.mfa.cognito-operator.dev", "-n", other}, "no"},
			{[]string{"update", "rolebindings.rbac.authorization.k8s.io/" + rights, "-n", watched}, "yes"},
			{[]string{"update", "rolebindings.rbac.authorization.k8s.io/other", "-n", watched}, "no"},
			{[]string{"list", "rolebindings.rbac.authorization.k8s.io", "-n", watched}, "no"},
			{[]string{"update", "roles.rbac.authorization.k8s.io/" + rights, "-n", watched}, "no"},
		} {
			out, _ := kubectlAs(kubeconfig, append([]string{"auth", "can-i"}, c.args...)...) // "no" exits 1
			if got := strings.TrimSpace(out); !strings.HasSuffix(got, c.want) {
				t.Errorf("kubectl auth can-i %s as the manager: %q, want %q", strings.Join(c.args, " "), got, c.want)
			}
		}
		assertNoForbidden(t, m)

		// An uninstall deletes the RoleBinding while the namespace stays: the
		// manager lifts its rights finalizer at once, with the rights it
		// grants (a namespace deletion keeps it: test/node).
		if _, err := cp.Kubectl(ctx(), "delete", "rolebinding", rights, "-n", watched, "--timeout=30s"); err != nil {
			t.Errorf("the chart's RoleBinding in %s did not go once deleted: %v", watched, err)
		}
	})
}

// underChartRBAC applies the chart's RBAC for release rel (deleted when the
// test ends, after its manager stops) and returns a kubeconfig with a token
// for the chart's ServiceAccount, after checking who the API server takes
// it for.
func underChartRBAC(t *testing.T, helm, rel string, set ...string) string {
	t.Helper()
	file, sa := chartRBAC(t, helm, rel, set...)
	t.Cleanup(func() {
		if _, err := cp.Kubectl(ctx(), "delete", "-f", file, "--ignore-not-found", "--wait=false"); err != nil {
			t.Errorf("deleting the chart's RBAC: %v", err)
		}
	})
	kubeconfig := filepath.Join(t.TempDir(), "manager-kubeconfig")
	if err := cp.ServiceAccountKubeconfig(ctx(), chartReleaseNS, sa, kubeconfig); err != nil {
		t.Fatal(err)
	}
	want := "system:serviceaccount:" + chartReleaseNS + ":" + sa
	out, err := kubectlAs(kubeconfig, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
	if err != nil || strings.TrimSpace(out) != want {
		t.Fatalf("the manager's kubeconfig authenticates as %q (%v), want %s", out, err, want)
	}
	return kubeconfig
}

// enrollAndProve creates a user in the pool, its credentials Secret and an
// enrollment in ns, waits for Ready (Enrolled) and proves the stored secret
// with an MFA sign-in that owes nothing to the operator's code.
func enrollAndProve(t *testing.T, p pool, ns, user string) {
	t.Helper()
	password := p.user(t, user)
	apply(t, credentialsManifest(ns, user+"-credentials", user, password)+"---\n"+
		enrollmentManifest(ns, user, fmt.Sprintf("  userPoolID: %s\n  clientID: %s\n  credentialsSecretRef: {name: %s-credentials}", p.id, p.client, user)))
	waitReady(t, ns, user)
	ste := waitCondition(t, ns, user, v1alpha1.ConditionReady, "True", v1alpha1.ReasonEnrolled)
	if ste.Status.SecretName != user+"-totp" || ste.Status.VerificationStatus != "SUCCESS" {
		t.Fatalf("status %+v", ste.Status)
	}
	proveMFA(t, p.client, "", user, password, storedSecret(t, ns, user+"-totp"))
}

// assertNoForbidden asserts the manager has started its workers and that
// the API server refused it nothing.
func assertNoForbidden(t *testing.T, m *localenv.Manager) {
	t.Helper()
	waitManagerLog(t, m, "Starting workers")
	if lines := forbiddenLines(m.Log()); len(lines) > 0 {
		t.Errorf("the manager was refused requests under the chart's RBAC:\n%s", strings.Join(lines, "\n"))
	}
}
