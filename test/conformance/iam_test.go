package conformance

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"testing"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
)

var policyAction = regexp.MustCompile(`"cognito-idp:([A-Za-z]+)"`)

// iamPolicyActions are the operations doc.go's IAM policy allows.
func iamPolicyActions(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{}
	for _, m := range policyAction.FindAllStringSubmatch(string(b), -1) {
		allowed[m[1]] = true
	}
	if len(allowed) == 0 {
		t.Fatal("doc.go holds no IAM policy")
	}
	return allowed
}

func isPublic(op string) bool { return slices.Contains(publicOps, op) }

// sdkCall is a call of a Cognito client method in this package's code (the
// Admin calls go through clients named api or admin).
var sdkCall = regexp.MustCompile(`\b(?:api|admin)\.([A-Z][A-Za-z]+)\(`)

// Every Admin operation the suite's code can call is in doc.go's IAM policy,
// whether or not a run reaches it (the real path on the fake checks the
// calls a run made).
func TestIAMPolicyCoversAdminCallsInTheCode(t *testing.T) {
	allowed := iamPolicyActions(t)
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	client := reflect.TypeOf(&cip.Client{})
	found := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range sdkCall.FindAllStringSubmatch(string(b), -1) {
			op := m[1]
			if _, isOp := client.MethodByName(op); !isOp || isPublic(op) {
				continue
			}
			found++
			if !allowed[op] {
				t.Errorf("%s calls %s, which doc.go's IAM policy does not allow", f, op)
			}
		}
	}
	if found == 0 {
		t.Fatal("no Admin call found: the pattern no longer matches the code")
	}
}
