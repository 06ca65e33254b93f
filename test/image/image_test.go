// Package image tests the manager's container image: it is built with
// `make docker-build` (podman, buildah or docker), its root filesystem is
// exported, and runc runs it the way the Deployment (config/manager) runs the
// manager: as the image's user 65532 with no capabilities, on a read-only root
// filesystem, with no rlimits of its own. The container shares the host's
// network namespace, so it reaches the test's kube-apiserver and
// cognito-local on 127.0.0.1, and it enrolls a user whose stored secret an
// independent MFA sign-in proves. A second test puts a TLS endpoint, signed
// by a CA generated here, in front of cognito-local: the manager in the
// container refuses it (TLSError) until the CA is given with AWS_CA_BUNDLE,
// as the README says.
//
// It needs root, runc and a container tool; without them it skips, saying
// what is missing. `make test-image` runs it; `make test` leaves it out.
package image

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	pqtotp "github.com/pquerna/otp/totp"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/localenv"
)

const (
	img = "localhost/cognito-mfa-operator:test"
	// The Deployment's runAsUser and runAsGroup; the image's USER.
	nonRoot = 65532
	// The host's CA certificates, which the image must carry.
	hostCAs = "/etc/ssl/certs/ca-certificates.crt"
)

func ctx() context.Context { return context.Background() }

// env is what both tests share: the image's root filesystem and
// configuration, a control plane, cognito-local and a user pool.
type env struct {
	root, work string
	rootfs     string
	image      imageConfig
	cp         *localenv.ControlPlane
	cognito    *localenv.CognitoLocal
	kubeconfig string // a copy the container's user can read
	poolID     string
	clientID   string
	runcRoot   string
}

func TestImage(t *testing.T) {
	tool := containerTool(t)
	e := setup(t, tool)

	t.Run("enrolls as non-root on a read-only root filesystem", func(t *testing.T) {
		ns := "image"
		e.kubectl(t, "create", "namespace", ns)
		password := e.user(t, "image-bot")
		c := e.run(t, "plain", ns, e.cognito.URL, nil, nil)
		c.assertConfined(t)
		e.enroll(t, ns, "image-bot", password)
		e.kubectl(t, "wait", "-n", ns, "softwaretokenenrollment/image-bot", "--for=condition=Ready", "--timeout=120s")
		e.waitReason(t, ns, "image-bot", v1alpha1.ConditionReady, v1alpha1.ReasonEnrolled)
		e.proveMFA(t, ns, "image-bot", password)
		c.assertRunning(t) // it did not crash on the read-only root filesystem
	})

	t.Run("TLS endpoint trusted through AWS_CA_BUNDLE", func(t *testing.T) {
		ns := "image-tls"
		e.kubectl(t, "create", "namespace", ns)
		password := e.user(t, "tls-bot")
		endpoint, caPEM, requests := tlsProxy(t, e.cognito.URL)
		ca := filepath.Join(e.work, "ca.pem")
		if err := os.WriteFile(ca, caPEM, 0o644); err != nil {
			t.Fatal(err)
		}

		// Not trusted: the image's CA certificates do not include the local CA.
		c := e.run(t, "tls-untrusted", ns, endpoint, nil, nil)
		e.enroll(t, ns, "tls-bot", password)
		msg := e.waitReason(t, ns, "tls-bot", v1alpha1.ConditionReconciling, v1alpha1.ReasonTLSError)
		if !strings.Contains(msg, "certificate") {
			t.Fatalf("the TLSError message does not say why: %q", msg)
		}
		c.delete(t)

		// The CA as the README says: AWS_CA_BUNDLE, here a file mounted read-only.
		before := requests.Load()
		e.run(t, "tls-trusted", ns, endpoint, []string{"AWS_CA_BUNDLE=/ca.pem"}, map[string]string{"/ca.pem": ca})
		e.kubectl(t, "wait", "-n", ns, "softwaretokenenrollment/tls-bot", "--for=condition=Ready", "--timeout=120s")
		e.waitReason(t, ns, "tls-bot", v1alpha1.ConditionReady, v1alpha1.ReasonEnrolled)
		if requests.Load() == before {
			t.Fatal("the enrollment is Ready but no request went through the TLS endpoint")
		}
		e.proveMFA(t, ns, "tls-bot", password)
	})
}

// containerTool is podman, buildah or docker (with a running engine), in that
// order, or the test skips. runc and root are needed too.
func containerTool(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: runs the image with runc as root, and this is not root")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skip("skipped: runc is not on PATH (Debian: apt-get install --no-install-recommends podman runc)")
	}
	tool, err := localenv.ContainerTool()
	if err != nil {
		t.Skip("skipped: ", err)
	}
	return tool
}

func setup(t *testing.T, tool string) *env {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{root: root, work: t.TempDir()}
	e.runcRoot = filepath.Join(e.work, "runc")

	start := time.Now()
	err = localenv.BuildImage(root, tool, img)
	t.Cleanup(func() { _ = localenv.RemoveImage(tool, img) })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("make docker-build CONTAINER_TOOL=%s IMG=%s: %s", tool, img, time.Since(start).Round(time.Second))

	e.image = inspect(t, tool)
	if e.image.User != fmt.Sprintf("%d:%d", nonRoot, nonRoot) || fmt.Sprint(e.image.Entrypoint) != "[/manager]" {
		t.Fatalf("image config: USER %q, ENTRYPOINT %q; want %d:%d and [/manager]", e.image.User, e.image.Entrypoint, nonRoot, nonRoot)
	}
	e.rootfs = exportRootfs(t, tool, filepath.Join(e.work, "rootfs"))
	assertCAs(t, e.rootfs)

	if e.cp, err = localenv.StartControlPlane(root, e.work); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.cp.Stop)
	e.kubectl(t, "apply", "-f", filepath.Join(root, "config/crd/bases"))
	e.kubectl(t, "wait", "--for=condition=Established", "--timeout=60s",
		"crd/softwaretokenenrollments.mfa.cognito-operator.dev", "crd/clusteruserpools.mfa.cognito-operator.dev")
	// The admin kubeconfig carries its certificates inline and names the API
	// server on 127.0.0.1: a copy the container's user may read is all the
	// container needs.
	kc, err := os.ReadFile(e.cp.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	e.kubeconfig = filepath.Join(e.work, "container-kubeconfig")
	if err := os.WriteFile(e.kubeconfig, kc, 0o400); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(e.kubeconfig, nonRoot, nonRoot); err != nil {
		t.Fatal(err)
	}

	if e.cognito, err = localenv.StartCognitoLocal(root, e.work); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.cognito.Stop)
	if e.poolID, err = e.cognito.CreatePool(ctx(), "image", types.UserPoolMfaTypeOptional); err != nil {
		t.Fatal(err)
	}
	if e.clientID, _, err = e.cognito.CreateClient(ctx(), e.poolID, "image", false); err != nil {
		t.Fatal(err)
	}
	return e
}

// imageConfig is the part of the image's configuration runc needs.
type imageConfig struct {
	User       string
	Env        []string
	Entrypoint []string
}

func inspect(t *testing.T, tool string) imageConfig {
	t.Helper()
	args := []string{"image", "inspect", "--format", "{{json .Config}}", img}
	if tool == "buildah" {
		args = []string{"inspect", "--type", "image", "--format", "{{json .OCIv1.Config}}", img}
	}
	out, err := exec.Command(tool, args...).Output()
	if err != nil {
		t.Fatalf("%s %v: %v", tool, args, err)
	}
	var c imageConfig
	if err := json.Unmarshal(out, &c); err != nil {
		t.Fatalf("%s %v: %v: %s", tool, args, err, out)
	}
	return c
}

// exportRootfs unpacks the image's filesystem into dir.
func exportRootfs(t *testing.T, tool, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("cognito-mfa-image-test-%d", os.Getpid())
	var script string
	if tool == "buildah" {
		script = `buildah from --name "$1" "$2" >/dev/null && trap 'buildah rm "$1" >/dev/null' EXIT && m=$(buildah mount "$1") && cp -a "$m"/. "$3"/ && buildah umount "$1" >/dev/null`
	} else {
		script = `"$0" create --name "$1" "$2" >/dev/null && trap '"$0" rm -f "$1" >/dev/null' EXIT && "$0" export "$1" | tar -x -C "$3"`
	}
	cmd := exec.Command("bash", "-o", "pipefail", "-c", script, tool, name, img, dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("exporting the image's root filesystem with %s: %v\n%s", tool, err, out)
	}
	return dir
}

// assertCAs: the image carries Debian's CA certificates where Go looks for
// them, or TLS to real Cognito would fail.
func assertCAs(t *testing.T, rootfs string) {
	t.Helper()
	inImage, err := os.ReadFile(filepath.Join(rootfs, hostCAs))
	if err != nil {
		t.Fatalf("the image has no CA certificates: %v", err)
	}
	host, err := os.ReadFile(hostCAs)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(inImage, host) {
		t.Fatalf("%s in the image differs from the host's", hostCAs)
	}
	n := 0
	for rest := inImage; ; n++ {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			t.Fatalf("certificate %d of %s: %v", n, hostCAs, err)
		}
	}
	if n < 50 {
		t.Fatalf("%s holds %d certificates: not a CA bundle", hostCAs, n)
	}
	t.Logf("the image carries %s: %d CA certificates", hostCAs, n)
}

func (e *env) kubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := e.cp.Kubectl(ctx(), args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (e *env) apply(t *testing.T, manifest string) {
	t.Helper()
	if err := e.cp.Apply(ctx(), e.work, manifest); err != nil {
		t.Fatal(err)
	}
}

func (e *env) user(t *testing.T, username string) string {
	t.Helper()
	password := "Pw-" + username + "-Correct-Horse-9"
	if err := e.cognito.CreateUser(ctx(), e.poolID, username, password); err != nil {
		t.Fatal(err)
	}
	return password
}

// enroll applies the credentials Secret and the enrollment, as a user would.
func (e *env) enroll(t *testing.T, ns, name, password string) {
	t.Helper()
	e.apply(t, localenv.CredentialsEnrollment(ns, name, password, "userPoolID: "+e.poolID, "clientID: "+e.clientID))
}

// waitReason polls until the condition is True with the reason, and returns
// its message.
func (e *env) waitReason(t *testing.T, ns, name, condType, reason string) string {
	t.Helper()
	path := fmt.Sprintf(`jsonpath={.status.conditions[?(@.type=="%s")].status}/{.status.conditions[?(@.type=="%s")].reason}/{.status.conditions[?(@.type=="%s")].message}`,
		condType, condType, condType)
	var got string
	for deadline := time.Now().Add(120 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		got = e.kubectl(t, "get", "softwaretokenenrollment", "-n", ns, name, "-o", path)
		if parts := strings.SplitN(got, "/", 3); len(parts) == 3 && parts[0] == "True" && parts[1] == reason {
			return parts[2]
		}
	}
	t.Fatalf("%s/%s never had %s=True (%s); last: %q", ns, name, condType, reason, got)
	return ""
}

// proveMFA signs in with the SDK and a code pquerna/otp computes from the
// Secret the manager stored: none of the operator's code takes part.
func (e *env) proveMFA(t *testing.T, ns, name, password string) {
	t.Helper()
	enc := e.kubectl(t, "get", "secret", "-n", ns, name+"-totp", "-o", "jsonpath={.data.secret}")
	secret, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(secret) == 0 {
		t.Fatalf("Secret %s/%s-totp has no secret: %v", ns, name, err)
	}
	code, err := pqtotp.GenerateCode(string(secret), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	consumer := localenv.Consumer{API: e.cognito.API(), ClientID: e.clientID, Username: name, Password: password}
	if _, err := consumer.SignInWithMFA(ctx(), code); err != nil {
		t.Fatalf("MFA sign-in with the stored secret: %v", err)
	}
}

// container is the manager image running under runc.
type container struct {
	id, runcRoot, log string
}

// run starts the image's entrypoint with runc, in a bundle of its own over
// the exported root filesystem, as the Deployment runs it: the image's user,
// no capabilities, no privilege escalation, a read-only root filesystem. It
// shares the host's network namespace and sets no rlimits (this sandbox
// refuses to raise any). The kubeconfig and the files in binds
// (destination: source) are mounted read-only.
func (e *env) run(t *testing.T, name, ns, endpoint string, extraEnv []string, binds map[string]string) *container {
	t.Helper()
	bundle := filepath.Join(e.work, "bundle-"+name)
	if err := os.MkdirAll(bundle, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("runc", "spec", "--bundle", bundle).CombinedOutput(); err != nil {
		t.Fatalf("runc spec: %v: %s", err, out)
	}
	raw, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var spec map[string]any
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}

	uid, gid := parseUser(t, e.image.User)
	args := append(append([]string{}, e.image.Entrypoint...),
		"--kubeconfig", "/kubeconfig", "--cognito-endpoint", endpoint, "--region", "us-east-1",
		"--metrics-bind-address", "0", "--health-probe-bind-address", "0",
		"--cluster-resource-namespace", "default", "--namespaces", ns, "--retry-base-delay", "200ms", "--log-level", "debug")
	// HOME=/ is what container runtimes set for a user the image's
	// /etc/passwd does not name (a scratch image has none); the Deployment
	// sets AWS_EC2_METADATA_DISABLED.
	environ := append(append(append([]string{}, e.image.Env...), "HOME=/", "AWS_EC2_METADATA_DISABLED=true"), extraEnv...)
	noCaps := map[string]any{"bounding": []string{}, "effective": []string{}, "permitted": []string{}, "ambient": []string{}, "inheritable": []string{}}
	spec["process"] = map[string]any{
		"terminal":        false,
		"user":            map[string]any{"uid": uid, "gid": gid},
		"args":            args,
		"env":             environ,
		"cwd":             "/",
		"capabilities":    noCaps,
		"noNewPrivileges": true,
		// no "rlimits"
	}
	spec["root"] = map[string]any{"path": e.rootfs, "readonly": true}
	linux := spec["linux"].(map[string]any)
	var namespaces []any
	for _, n := range linux["namespaces"].([]any) {
		if n.(map[string]any)["type"] != "network" {
			namespaces = append(namespaces, n)
		}
	}
	linux["namespaces"] = namespaces
	mounts := spec["mounts"].([]any)
	binds2 := map[string]string{"/kubeconfig": e.kubeconfig}
	for dst, src := range binds {
		binds2[dst] = src
	}
	for dst, src := range binds2 {
		mounts = append(mounts, map[string]any{"destination": dst, "type": "bind", "source": src, "options": []string{"bind", "ro", "nosuid", "nodev", "noexec"}})
	}
	spec["mounts"] = mounts
	if raw, err = json.MarshalIndent(spec, "", "  "); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), raw, 0o600); err != nil {
		t.Fatal(err)
	}

	c := &container{id: fmt.Sprintf("cognito-mfa-image-%s-%d", name, os.Getpid()), runcRoot: e.runcRoot, log: filepath.Join(e.work, name+".log")}
	out, err := os.Create(c.log)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	// Detached, with no terminal: the container writes to the log file.
	cmd := exec.Command("runc", "--root", c.runcRoot, "run", "--detach", "--bundle", bundle, c.id)
	cmd.Stdout, cmd.Stderr = out, out
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(c.log)
			t.Logf("container %s output:\n%s", c.id, b)
		}
		c.delete(t)
	})
	if err := cmd.Run(); err != nil {
		b, _ := os.ReadFile(c.log)
		t.Fatalf("runc run %s: %v\n%s", c.id, err, b)
	}
	t.Logf("runc run %s: %s", c.id, strings.Join(args, " "))
	return c
}

func parseUser(t *testing.T, user string) (int, int) {
	t.Helper()
	u, g, ok := strings.Cut(user, ":")
	uid, err1 := strconv.Atoi(u)
	gid, err2 := strconv.Atoi(g)
	if !ok || err1 != nil || err2 != nil {
		t.Fatalf("image USER %q is not numeric uid:gid", user)
	}
	return uid, gid
}

// state is runc's view of the container.
func (c *container) state(t *testing.T) (status string, pid int) {
	t.Helper()
	out, err := exec.Command("runc", "--root", c.runcRoot, "state", c.id).Output()
	if err != nil {
		t.Fatalf("runc state %s: %v", c.id, err)
	}
	var s struct {
		Status string `json:"status"`
		Pid    int    `json:"pid"`
	}
	if err := json.Unmarshal(out, &s); err != nil {
		t.Fatal(err)
	}
	return s.Status, s.Pid
}

func (c *container) assertRunning(t *testing.T) int {
	t.Helper()
	status, pid := c.state(t)
	if status != "running" {
		t.Fatalf("container %s is %s", c.id, status)
	}
	return pid
}

// assertConfined reads the container's init process from the host's /proc:
// uid and gid 65532, no capabilities, / mounted read-only, and the host's
// network namespace.
func (c *container) assertConfined(t *testing.T) {
	t.Helper()
	pid := c.assertRunning(t)
	conf, err := localenv.ReadConfinement(pid)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range conf.Problems(nonRoot, nonRoot, true) {
		t.Errorf("container %s (pid %d): %s", c.id, pid, p)
	}
	t.Logf("container %s: init pid %d: %s", c.id, pid, conf)
}

// delete ends the container (SIGKILL) and removes it; again is harmless.
func (c *container) delete(t *testing.T) {
	t.Helper()
	if out, err := exec.Command("runc", "--root", c.runcRoot, "delete", "--force", c.id).CombinedOutput(); err != nil &&
		!strings.Contains(string(out), "does not exist") {
		t.Errorf("runc delete %s: %v: %s", c.id, err, out)
	}
}

// tlsProxy is a TLS reverse proxy to upstream on 127.0.0.1, with a
// certificate from a CA generated here. It returns its URL, the CA's PEM and
// a count of the requests it served.
func tlsProxy(t *testing.T, upstream string) (string, []byte, *atomic.Int64) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cognito-mfa-operator image test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}

	target, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	var requests atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		rp.ServeHTTP(w, r)
	}))
	srv.TLS = &tls.Config{MinVersion: tls.VersionTLS12,
		Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), &requests
}
