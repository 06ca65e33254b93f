package e2e

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	pqtotp "github.com/pquerna/otp/totp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/localenv"
)

// The crash tests run their own manager against the strict fake, which
// models what cognito-local does not: a new token replaces the old one only
// once verified, and the MFA_SETUP flow. The fake's hook SIGKILLs the
// manager at the exact step under test.

type crashRig struct {
	env      []string
	args     []string
	endpoint string
	// api is what the tests sign in through; nil means the endpoint, plainly.
	api  *cip.Client
	t    *testing.T
	ns   string
	fake *cognitofake.Server
	mgr  *localenv.Manager
	mu   sync.Mutex
}

func newCrashRig(t *testing.T, ns string, env ...string) *crashRig {
	r := &crashRig{t: t, ns: ns, fake: cognitofake.New(), env: env}
	if err := r.fake.Start(); err != nil {
		t.Fatal(err)
	}
	r.endpoint = r.fake.URL()
	r.launch()
	return r
}

// launch makes the rig's namespace and starts its manager, both cleaned up.
func (r *crashRig) launch() {
	r.t.Cleanup(func() { r.fake.Close() })
	namespace(r.t, r.ns)
	r.start()
	r.t.Cleanup(func() { r.manager().Stop() })
}

func (r *crashRig) start() {
	r.t.Helper()
	args := append([]string{"--cognito-endpoint", r.endpoint, "--region", "us-east-1", "--namespaces", r.ns,
		"--metrics-bind-address", "0", "--health-probe-bind-address", "0", "--retry-base-delay", "200ms", "--cognito-qps", "0"},
		r.args...) // later flags win
	mgr, err := localenv.StartManagerWithEnv(filepath.Join(work, "bin", "manager"), cp.Kubeconfig, work, r.env, args...)
	if err != nil {
		r.t.Fatal(err)
	}
	r.mu.Lock()
	r.mgr = mgr
	r.mu.Unlock()
}

func (r *crashRig) manager() *localenv.Manager {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mgr
}

// user creates a pool, client and user in the fake and the credentials
// Secret and enrollment for them.
func (r *crashRig) user(name, mfa string) localenv.Consumer {
	r.t.Helper()
	pool := "us-east-1_" + name
	r.fake.CreatePool(pool, mfa, true)
	r.fake.CreateClient(cognitofake.AppClient{ID: "client" + name, PoolID: pool})
	api := r.api
	if api == nil {
		api = localenv.SDK(r.endpoint)
	}
	c := localenv.Consumer{API: api, ClientID: "client" + name, Username: name, Password: "Pw-" + name + "-x9"}
	r.fake.CreateUser(pool, cognitofake.User{Username: c.Username, Password: c.Password})
	apply(r.t, credentialsManifest(r.ns, name+"-creds", c.Username, c.Password)+"---\n"+
		enrollmentManifest(r.ns, name, fmt.Sprintf("  userPoolID: %s\n  clientID: %s\n  credentialsSecretRef: {name: %s-creds}", pool, c.ClientID, name)))
	return c
}

// proven asserts the enrollment is Ready and its stored secret is the one
// Cognito verified, by an MFA sign-in made with the SDK and pquerna/otp.
func (r *crashRig) proven(name string, c localenv.Consumer) {
	r.t.Helper()
	waitReady(r.t, r.ns, name)
	secret := storedSecret(r.t, r.ns, name+"-totp")
	code, _ := pqtotp.GenerateCode(secret, time.Now())
	if _, err := c.SignInWithMFA(ctx(), code); err != nil {
		r.t.Fatalf("%s: the stored secret does not sign in after the crash: %v", name, err)
	}
}

func TestCrashAfterEachStep(t *testing.T) {
	r := newCrashRig(t, "crash")
	for i, tc := range []struct {
		name   string
		mfa    string
		op     string
		served bool
		// associations in all: 2 where the seed was lost with the manager
		// (never stored, or stored but its MFA_SETUP session died with it).
		associations int
	}{
		{"after AssociateSoftwareToken", cognitofake.MFAOptional, "AssociateSoftwareToken", true, 2},
		{"after the Secret write, before VerifySoftwareToken", cognitofake.MFAOptional, "VerifySoftwareToken", false, 1},
		{"after VerifySoftwareToken", cognitofake.MFAOptional, "VerifySoftwareToken", true, 1},
		{"after SetUserMFAPreference", cognitofake.MFAOptional, "SetUserMFAPreference", true, 1},
		{"MFA_SETUP after AssociateSoftwareToken", cognitofake.MFAOn, "AssociateSoftwareToken", true, 2},
		{"MFA_SETUP after the Secret write", cognitofake.MFAOn, "VerifySoftwareToken", false, 2},
		{"MFA_SETUP after VerifySoftwareToken", cognitofake.MFAOn, "VerifySoftwareToken", true, 1},
		{"MFA_SETUP after RespondToAuthChallenge", cognitofake.MFAOn, "RespondToAuthChallenge", true, 1},
		{"MFA_SETUP after SetUserMFAPreference", cognitofake.MFAOn, "SetUserMFAPreference", true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r.t = t
			name := fmt.Sprintf("step%d", i)
			killed := make(chan struct{})
			var once sync.Once
			r.fake.SetHook(func(op, user string, served bool) bool {
				drop := false
				if op == tc.op && user == name && served == tc.served {
					// Before serving, the request dies with the manager.
					once.Do(func() { r.manager().Kill(); close(killed); drop = true })
				}
				return drop
			})
			defer r.fake.SetHook(nil)
			before := r.fake.CallCounts()
			c := r.user(name, tc.mfa)
			select {
			case <-killed:
			case <-time.After(30 * time.Second):
				t.Fatal("the step was never reached")
			}
			r.start()
			r.proven(name, c)
			if got := r.fake.CallCounts()["AssociateSoftwareToken"] - before["AssociateSoftwareToken"]; got != tc.associations {
				t.Fatalf("%d associations, want %d: the restart re-did more than the interrupted step", got, tc.associations)
			}
		})
	}
}

// The crash between the promoting Secret write and the status write: a
// watch sees the verified secret land and kills the manager at once.
func TestCrashBeforeStatusWrite(t *testing.T) {
	r := newCrashRig(t, "crash-status")
	cs := kubernetes.NewForConfigOrDie(cp.Config)
	// The window is a few milliseconds wide and the kill races it, the more
	// so on a loaded machine: try until one lands (at most 15 times).
	landed, attempts := 0, 0
	for attempt := 0; attempt < 15 && landed < 2; attempt++ {
		attempts++
		name := fmt.Sprintf("late%d", attempt)
		w, err := cs.CoreV1().Secrets(r.ns).Watch(ctx(), metaListOptions(name+"-totp"))
		if err != nil {
			t.Fatal(err)
		}
		c := r.user(name, cognitofake.MFAOptional)
		for ev := range w.ResultChan() {
			if s, ok := ev.Object.(*corev1.Secret); ok && len(s.Data[v1alpha1.KeySecret]) > 0 {
				r.manager().Kill()
				break
			}
		}
		w.Stop()
		if !meta.IsStatusConditionTrue(getSTE(t, r.ns, name).Status.Conditions, v1alpha1.ConditionReady) {
			landed++
		}
		r.start()
		r.proven(name, c)
	}
	t.Logf("%d of %d kills landed between the Secret write and the status write", landed, attempts)
	if landed == 0 {
		t.Fatal("no kill landed in the window; the test proved nothing")
	}
}

// Many enrollments, the manager SIGKILLed at random moments several times:
// all end Ready, every stored secret signs in, nobody is locked out.
func TestRandomKills(t *testing.T) {
	const n, kills = 40, 6
	r := newCrashRig(t, "chaos")
	r.fake.SetLatency(20 * time.Millisecond)
	consumers := map[string]localenv.Consumer{}
	for i := range n {
		mfa := cognitofake.MFAOptional
		if i%2 == 1 {
			mfa = cognitofake.MFAOn
		}
		name := fmt.Sprintf("bot%02d", i)
		consumers[name] = r.user(name, mfa)
	}
	for range kills {
		time.Sleep(time.Duration(50+rand.IntN(400)) * time.Millisecond)
		r.manager().Kill()
		time.Sleep(time.Duration(rand.IntN(200)) * time.Millisecond)
		r.start()
	}
	for name, c := range consumers {
		r.proven(name, c)
	}
	calls := r.fake.CallCounts()
	t.Logf("%d enrollments Ready after %d SIGKILLs; %d associations for %d users (%d repeated after kills)",
		n, kills, calls["AssociateSoftwareToken"], n, calls["AssociateSoftwareToken"]-n)
}

func metaListOptions(name string) metav1.ListOptions {
	return metav1.ListOptions{FieldSelector: "metadata.name=" + name}
}
