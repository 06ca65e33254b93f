package enrollment

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
)

// Every reason the Cognito classifier returns is a registered reason.
func TestCognitoReasonsAreRegistered(t *testing.T) {
	for _, r := range cognito.Reasons {
		if _, ok := v1alpha1.LookupReason(r); !ok {
			t.Errorf("internal/cognito returns %q, which api/v1alpha1 does not register", r)
		}
	}
}

// The README's reasons table lists exactly the registered reasons, each
// with its class.
func TestReadmeReasons(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([A-Za-z<>]+)` \\| ([A-Za-z]+) \\|")
	inReadme := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(readme), -1) {
		inReadme[m[1]] = m[2]
	}
	var missing, wrong []string
	for _, info := range v1alpha1.Reasons() {
		class, ok := inReadme[info.Reason]
		switch {
		case !ok:
			missing = append(missing, info.Reason)
		case class != string(info.Class):
			wrong = append(wrong, info.Reason+": README says "+class+", registry "+string(info.Class))
		}
		delete(inReadme, info.Reason)
	}
	delete(inReadme, "Challenge<Name>")
	var extra []string
	for r := range inReadme {
		extra = append(extra, r)
	}
	sort.Strings(extra)
	if len(missing)+len(wrong)+len(extra) > 0 {
		t.Fatalf("README reasons table out of step with api/v1alpha1/reasons.go:\nmissing: %s\nwrong class: %s\nnot registered: %s",
			strings.Join(missing, ", "), strings.Join(wrong, "; "), strings.Join(extra, ", "))
	}
}
