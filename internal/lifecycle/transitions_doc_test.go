package lifecycle

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

const transitionsDoc = "../../docs/transitions.md"

// docs/transitions.md is the table rendered: it never drifts from the code.
// UPDATE_DOCS=1 go test ./internal/lifecycle -run TestTransitionsDoc writes it.
func TestTransitionsDocIsCurrent(t *testing.T) {
	want := renderTable()
	if os.Getenv("UPDATE_DOCS") != "" {
		if err := os.WriteFile(transitionsDoc, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(transitionsDoc)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("%s is stale: run UPDATE_DOCS=1 go test ./internal/lifecycle -run TestTransitionsDoc (or make docs)", transitionsDoc)
	}
}

func renderTable() string {
	var b strings.Builder
	b.WriteString(`# The transitions table

Generated from ` + "`internal/lifecycle/table.go`" + ` by ` + "`make docs`" + `; a test fails when it is stale.

An enrollment's **phase** is derived on every reconcile from the record on
its Secret, the stored seeds and its status (` + "`PhaseOf`" + `, never stored).
An **event** is what the reconcile observes beyond the phase: a *trigger*
(the first that holds, in the order below), a *gate* met by a plan that signs
in, or a *result*, what a sign-in showed. Each (phase, event) pair leads to
one action (a plan, a step, or an outcome that stops with the reason given),
or is impossible for the reason given. A pair the table calls impossible is
never acted on: it is a retryable ` + "`InvalidState`" + ` failure, counted in
` + "`cognito_mfa_impossible_transitions_total`" + `, and the property tests fail
when they meet one.

`)
	for _, p := range Phases {
		fmt.Fprintf(&b, "## %s\n\n| event | action |\n|---|---|\n", p)
		for _, e := range Events {
			cell := table[p][e]
			if cell.do == nil {
				fmt.Fprintf(&b, "| %s | *impossible*: %s |\n", e, cell.impossible)
				continue
			}
			fmt.Fprintf(&b, "| %s | %s |\n", e, label(cell.do))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func label(a *action) string {
	var parts []string
	if a.plan != "" {
		parts = append(parts, "plan **"+string(a.plan)+"**")
	}
	if a.step != "" {
		parts = append(parts, "step **"+string(a.step)+"**")
	}
	if a.reason != "" {
		parts = append(parts, "`"+a.reason+"`")
	} else if a.out != nil && a.plan != PlanBackoff {
		parts = append(parts, "the outcome at hand")
	}
	return strings.Join(parts, ", ") + ": " + a.why
}
