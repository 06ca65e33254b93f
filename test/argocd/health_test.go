// Package argocd tests config/argocd/health.lua with gopher-lua, the Lua
// runtime Argo CD runs health checks in, against the status shapes the
// controller writes.
package argocd

import (
	"encoding/json"
	"os"
	"testing"

	lua "github.com/yuin/gopher-lua"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
)

// toLua turns JSON-shaped Go values into Lua values, as Argo CD does with
// the unstructured object.
func toLua(L *lua.LState, v any) lua.LValue {
	switch x := v.(type) {
	case map[string]any:
		t := L.NewTable()
		for k, e := range x {
			t.RawSetString(k, toLua(L, e))
		}
		return t
	case []any:
		t := L.NewTable()
		for _, e := range x {
			t.Append(toLua(L, e))
		}
		return t
	case string:
		return lua.LString(x)
	case float64:
		return lua.LNumber(x)
	case bool:
		return lua.LBool(x)
	}
	return lua.LNil
}

func health(t *testing.T, ste *v1alpha1.SoftwareTokenEnrollment) (string, string) {
	t.Helper()
	script, err := os.ReadFile("../../config/argocd/health.lua")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(ste)
	var obj map[string]any
	_ = json.Unmarshal(b, &obj)
	L := lua.NewState()
	defer L.Close()
	L.SetGlobal("obj", toLua(L, obj))
	if err := L.DoString(string(script)); err != nil {
		t.Fatal(err)
	}
	hs := L.Get(-1).(*lua.LTable)
	return hs.RawGetString("status").String(), hs.RawGetString("message").String()
}

func enrollment(gen, observed int64, conds ...metav1.Condition) *v1alpha1.SoftwareTokenEnrollment {
	ste := &v1alpha1.SoftwareTokenEnrollment{ObjectMeta: metav1.ObjectMeta{Name: "ci-bot", Generation: gen}}
	ste.Status.ObservedGeneration = observed
	ste.Status.Conditions = conds
	return ste
}

func cond(t, s, reason, msg string) metav1.Condition {
	return metav1.Condition{Type: t, Status: metav1.ConditionStatus(s), Reason: reason, Message: msg}
}

func TestHealth(t *testing.T) {
	for _, tc := range []struct {
		name, want, message string
		ste                 *v1alpha1.SoftwareTokenEnrollment
	}{
		{"not reconciled yet", "Progressing", "Waiting for the controller", enrollment(1, 0)},
		{"ready", "Healthy", "enrolled", enrollment(2, 2,
			cond("Ready", "True", "Enrolled", "enrolled"), cond("Reconciling", "False", "Enrolled", "no work in progress"),
			cond("Stalled", "False", "Enrolled", "not stalled"))},
		{"ready for an older spec", "Progressing", "Waiting for the controller to observe the latest spec", enrollment(3, 2,
			cond("Ready", "True", "Enrolled", "enrolled"))},
		{"stalled", "Degraded", "InvalidCredentials: wrong password", enrollment(1, 1,
			cond("Ready", "False", "InvalidCredentials", "wrong password"), cond("Reconciling", "False", "InvalidCredentials", "no work in progress"),
			cond("Stalled", "True", "InvalidCredentials", "wrong password"))},
		{"waiting", "Progressing", "CredentialsSecretNotFound: waiting for Secret", enrollment(1, 1,
			cond("Ready", "False", "CredentialsSecretNotFound", "waiting for Secret"),
			cond("Reconciling", "True", "CredentialsSecretNotFound", "waiting for Secret"),
			cond("Stalled", "False", "CredentialsSecretNotFound", "not stalled"))},
		{"rotation failed, old secret works", "Healthy", "enrolled", enrollment(1, 1,
			cond("Ready", "True", "Enrolled", "enrolled"), cond("Stalled", "False", "Enrolled", "not stalled"),
			cond("RotationFailed", "True", "InvalidParameter", "rotation failed"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, message := health(t, tc.ste)
			if status != tc.want || message != tc.message {
				t.Fatalf("health = %s %q, want %s %q", status, message, tc.want, tc.message)
			}
		})
	}
}
