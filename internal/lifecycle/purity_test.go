package lifecycle

import (
	"os/exec"
	"strings"
	"testing"
)

// forbidden are the module paths whose presence anywhere in the package's
// dependency set would let a decision call the API server or Cognito.
var forbidden = []string{
	"k8s.io/client-go",
	"sigs.k8s.io/controller-runtime",
	"github.com/aws/",
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito",
	"github.com/cognito-mfa-operator/cognito-mfa-operator/controllers",
}

// allowed are the only non-standard-library roots the dependency set may
// hold: the API types, TOTP, and what apimachinery itself pulls in.
var allowed = []string{
	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/",
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/lifecycle",
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/conditions",
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/totp",
	"github.com/pquerna/otp", "github.com/boombuler/barcode",
	"k8s.io/apimachinery/", "k8s.io/klog/", "k8s.io/utils/", "k8s.io/kube-openapi/pkg/util",
	"sigs.k8s.io/json", "sigs.k8s.io/randfill", "sigs.k8s.io/structured-merge-diff/",
	"github.com/fxamacker/cbor/", "github.com/x448/float16", "github.com/json-iterator/go", "github.com/modern-go/",
	"github.com/go-logr/logr", "gopkg.in/inf.v0", "go.yaml.in/yaml/", "golang.org/x/net/", "golang.org/x/text/",
}

// The package's whole dependency set, not only its direct imports, holds no
// client: a decision here cannot call anything.
func TestPureByTheCompiler(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	if problems := impure(strings.Fields(string(out))); len(problems) > 0 {
		t.Fatalf("internal/lifecycle must stay pure; its dependencies include:\n  %s", strings.Join(problems, "\n  "))
	}
}

// The check itself would catch a client among the dependencies.
func TestPurityCheckCatchesAClient(t *testing.T) {
	if got := impure([]string{"fmt", "k8s.io/client-go/kubernetes"}); len(got) != 1 {
		t.Fatalf("a client-go dependency was not caught: %v", got)
	}
	if got := impure([]string{"github.com/somebody/else"}); len(got) != 1 {
		t.Fatalf("an unlisted module was not caught: %v", got)
	}
}

func impure(deps []string) []string {
	var forbiddenFound, unlisted []string
	for _, d := range deps {
		switch {
		case hasPrefix(d, forbidden):
			forbiddenFound = append(forbiddenFound, d+" (forbidden)")
		case !standard(d) && !hasPrefix(d, allowed):
			unlisted = append(unlisted, d+" (not on the allow-list)")
		}
	}
	return append(forbiddenFound, unlisted...)
}

// standard says a package path is the standard library's: no dot in its
// first element.
func standard(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

func hasPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
