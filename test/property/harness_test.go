package property

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// faultyClient is the reconciler's client. A test arms it before one
// reconcile to fail one write (before or after the API server applies it),
// or to crash the manager: after the n-th write of the reconcile, or right
// after Cognito served an operation, every later write fails and every later
// Cognito request is dropped unserved, as if the process had died there.
type faultyClient struct {
	client.Client

	mu sync.Mutex
	// writes counts the writes since the client was armed.
	writes int
	// crashAfterWrites crashes before write number n (0 = before the first); -1 never.
	crashAfterWrites int
	// crashAfterOp crashes once Cognito has served this operation for crashUser.
	crashAfterOp, crashUser string
	crashed                 bool
	// failWrite fails write number n once, after applying it when failAfterApply; -1 never.
	failWrite      int
	failAfterApply bool
}

// arm sets the faults of the next reconcile; disarm clears them.
func (c *faultyClient) arm(crashAfterWrites int, crashAfterOp, crashUser string, failWrite int, failAfterApply bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes, c.crashed = 0, false
	c.crashAfterWrites, c.crashAfterOp, c.crashUser = crashAfterWrites, crashAfterOp, crashUser
	c.failWrite, c.failAfterApply = failWrite, failAfterApply
}

func (c *faultyClient) disarm() { c.arm(-1, "", "", -1, false) }

// hasCrashed says the armed crash happened.
func (c *faultyClient) hasCrashed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.crashed
}

var errCrashed = apierrors.NewServiceUnavailable("property test: the manager crashed")

func (c *faultyClient) write(do func() error) error {
	c.mu.Lock()
	n := c.writes
	c.writes++
	if c.crashAfterWrites >= 0 && n >= c.crashAfterWrites {
		c.crashed = true
	}
	crashed, fail, after := c.crashed, c.failWrite == n, c.failAfterApply
	c.mu.Unlock()
	if crashed {
		return errCrashed
	}
	injected := apierrors.NewInternalError(errors.New("property test: injected API server fault"))
	if fail && !after {
		return injected
	}
	err := do()
	if fail && err == nil {
		return injected // applied, but the reply is lost
	}
	return err
}

func (c *faultyClient) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	return c.write(func() error { return c.Client.Create(ctx, obj, opts...) })
}

func (c *faultyClient) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	return c.write(func() error { return c.Client.Update(ctx, obj, opts...) })
}

func (c *faultyClient) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
	return c.write(func() error { return c.Client.Patch(ctx, obj, patch, opts...) })
}

func (c *faultyClient) Delete(ctx context.Context, obj client.Object, opts ...client.DeleteOption) error {
	return c.write(func() error { return c.Client.Delete(ctx, obj, opts...) })
}

func (c *faultyClient) Status() client.SubResourceWriter {
	return &faultyStatus{SubResourceWriter: c.Client.Status(), c: c}
}

func (c *faultyClient) SubResource(name string) client.SubResourceClient {
	return &faultySubResource{SubResourceClient: c.Client.SubResource(name), c: c}
}

type faultyStatus struct {
	client.SubResourceWriter
	c *faultyClient
}

func (s *faultyStatus) Create(ctx context.Context, obj, sub client.Object, opts ...client.SubResourceCreateOption) error {
	return s.c.write(func() error { return s.SubResourceWriter.Create(ctx, obj, sub, opts...) })
}

func (s *faultyStatus) Update(ctx context.Context, obj client.Object, opts ...client.SubResourceUpdateOption) error {
	return s.c.write(func() error { return s.SubResourceWriter.Update(ctx, obj, opts...) })
}

func (s *faultyStatus) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
	return s.c.write(func() error { return s.SubResourceWriter.Patch(ctx, obj, patch, opts...) })
}

type faultySubResource struct {
	client.SubResourceClient
	c *faultyClient
}

func (s *faultySubResource) Create(ctx context.Context, obj, sub client.Object, opts ...client.SubResourceCreateOption) error {
	return s.c.write(func() error { return s.SubResourceClient.Create(ctx, obj, sub, opts...) })
}

func (s *faultySubResource) Update(ctx context.Context, obj client.Object, opts ...client.SubResourceUpdateOption) error {
	return s.c.write(func() error { return s.SubResourceClient.Update(ctx, obj, opts...) })
}

func (s *faultySubResource) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
	return s.c.write(func() error { return s.SubResourceClient.Patch(ctx, obj, patch, opts...) })
}

// hook is the fake's request hook: it drops every request once the armed
// crash happened, crashes after the armed operation is served, and counts
// the requests that consume an injected fault.
func hook(op, user string, served bool) bool {
	c := crashy
	c.mu.Lock()
	defer c.mu.Unlock()
	if !served {
		if c.crashed {
			return true // dropped before the fake looks for a fault
		}
		faults.seen(op, user)
		return false
	}
	if c.crashAfterOp == op && c.crashUser == user {
		c.crashed = true
	}
	return false
}

// faultTracker counts the faults queued in the fake per user and operation:
// the fake takes a queued fault with the next request of that user to that
// operation, and has no way to clear its queue.
type faultTracker struct {
	mu      sync.Mutex
	pending map[string]int
}

func faultKey(user, op string) string { return user + "\x00" + op }

func (f *faultTracker) inject(op string, fault cognitofake.Fault) {
	f.mu.Lock()
	if f.pending == nil {
		f.pending = map[string]int{}
	}
	f.pending[faultKey(fault.User, op)]++
	f.mu.Unlock()
	fake.InjectFault(op, fault)
}

func (f *faultTracker) seen(op, user string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if k := faultKey(user, op); f.pending[k] > 0 {
		f.pending[k]--
	}
}

// queued is how many faults are queued for user, per operation.
func (f *faultTracker) queued(user string) map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for k, n := range f.pending {
		u, op, _ := strings.Cut(k, "\x00")
		if u == user && n > 0 {
			out[op] = n
		}
	}
	return out
}

// drain consumes every fault still queued for user with requests that
// change nothing: a wrong password, or an access token the fake never issued.
func (f *faultTracker) drain(user, clientID string) error {
	for op, n := range f.queued(user) {
		for range n {
			body := map[string]any{"AccessToken": "property-test-unknown-token", "UserCode": "000000",
				"ClientId": clientID, "ChallengeResponses": map[string]string{"USERNAME": user}}
			if op == "InitiateAuth" {
				body = map[string]any{"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": clientID,
					"AuthParameters": map[string]string{"USERNAME": user, "PASSWORD": "property-test-wrong-password"}}
			}
			if err := rawCall(op, body); err != nil {
				return err
			}
		}
	}
	if left := f.queued(user); len(left) > 0 {
		return fmt.Errorf("faults still queued after draining: %v", left)
	}
	return nil
}

// rawCall sends one request to the fake, bypassing the SDK.
func rawCall(op string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, fake.URL(), bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("X-Amz-Target", "AWSCognitoIdentityProviderService."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// logBuffer collects the reconciler's JSON log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// take returns the lines written since the last take.
func (b *logBuffer) take() []map[string]any {
	b.mu.Lock()
	data := append([]byte(nil), b.buf.Bytes()...)
	b.buf.Reset()
	b.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) == nil {
			out = append(out, line)
		}
	}
	return out
}

// enrollment is one SoftwareTokenEnrollment of a sequence.
type enrollment struct {
	ns, name string
	// touched: an input of the enrollment (its spec, its rotate annotation,
	// the contents of a Secret it reads) changed since a reconcile last
	// recorded its inputs in the status. Until then a backoff or a stall
	// must hold.
	touched bool
	// badTemplate: its secretTemplate has a label value the API server refuses.
	badTemplate bool
}

func (e *enrollment) String() string { return e.ns + "/" + e.name }

func (e *enrollment) key() ktypes.NamespacedName {
	return ktypes.NamespacedName{Namespace: e.ns, Name: e.name}
}
