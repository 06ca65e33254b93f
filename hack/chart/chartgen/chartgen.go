// Package chartgen makes the generated part of the Helm chart
// (charts/cognito-mfa-operator/files/) from the kustomize tree in config/,
// so that config/ stays the one source of truth:
//
//   - files/crds/*.yaml: verbatim copies of config/crd/bases/*.yaml (what
//     controller-gen made from api/);
//   - files/rbac.yaml: the rules of config/rbac/role.yaml (what controller-gen
//     made from the +kubebuilder:rbac markers) and of
//     config/rbac/leader_election_role.yaml, one per resource, each with the
//     scope the chart grants it in (cluster-wide, in the watched namespaces, or
//     in the release's own namespace) and the reason the manager needs it;
//   - files/metrics-reader.yaml: config/rbac/metrics_reader_role.yaml (GET
//     /metrics for the scrapers of --metrics-secure);
//   - files/alerts.yaml: config/prometheus/alerts.yaml (a PrometheusRule);
//   - files/dashboard.json: config/grafana/dashboard.json.
//
// The chart's templates read these with .Files. `make chart` writes them
// (hack/chart); test/chart fails when they differ from what Files makes.
package chartgen

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// ChartDir is the chart, relative to the repository root.
const ChartDir = "charts/cognito-mfa-operator"

// GeneratedDir is the chart's folder that Files owns entirely: every file in
// it is generated, and a file Files no longer makes is stale.
const GeneratedDir = "files"

// Sources, relative to the repository root.
const (
	crdDir             = "config/crd/bases"
	roleFile           = "config/rbac/role.yaml"
	leaderElectionRole = "config/rbac/leader_election_role.yaml"
	metricsReaderRole  = "config/rbac/metrics_reader_role.yaml"
	alertsFile         = "config/prometheus/alerts.yaml"
	dashboardFile      = "config/grafana/dashboard.json"
)

// Scopes of a rule in files/rbac.yaml.
const (
	// ScopeCluster: a cluster-scoped resource, granted by the ClusterRole in
	// either mode.
	ScopeCluster = "cluster"
	// ScopeWatched: a namespaced resource the manager works on wherever
	// enrollments are: the ClusterRole when the chart's watchNamespaces is
	// empty, else a RoleBinding in each watched namespace (to <fullname>-watched).
	ScopeWatched = "watched"
	// ScopeRelease: the manager's own namespace (--cluster-resource-namespace
	// and the leader-election Lease default to it): a Role there.
	ScopeRelease = "release"
)

var scopeOrder = map[string]int{ScopeCluster: 0, ScopeWatched: 1, ScopeRelease: 2}

// releaseResources are the namespaced resources the manager uses only in its
// own namespace, whatever the role says: controller-gen can only make a
// ClusterRole of a marker without a namespace.
var releaseResources = map[string]bool{
	"coordination.k8s.io/leases": true,
}

// builtinScopes are the scopes of the built-in resources the manager may use.
// Resources of CRDs in config/crd/bases take theirs from the CRD. A resource
// in neither fails Files: add it here.
var builtinScopes = map[string]bool{ // true: namespaced
	"/secrets":                           true,
	"/configmaps":                        true,
	"/events":                            true,
	"/serviceaccounts":                   true,
	"/pods":                              true,
	"/services":                          true,
	"events.k8s.io/events":               true,
	"coordination.k8s.io/leases":         true,
	"/namespaces":                        false,
	"/nodes":                             false,
	"authentication.k8s.io/tokenreviews": false,
	"authorization.k8s.io/subjectaccessreviews": false,
}

// Reasons says why the manager needs each resource; the chart renders it as a
// comment above the rule. A rule on a resource that has none fails Files: a
// new marker needs a reason here too.
var Reasons = map[string]string{
	"mfa.cognito-operator.dev/softwaretokenenrollments": "" +
		"The operator's API: list/watch enrollments; update/patch to add and remove its finalizer.",
	"mfa.cognito-operator.dev/softwaretokenenrollments/status": "" +
		"The enrollments' status: conditions, the Secret's fingerprint, times.",
	"mfa.cognito-operator.dev/softwaretokenenrollments/finalizers": "" +
		"Owner references with blockOwnerDeletion from the Secrets it writes to their enrollment.",
	"mfa.cognito-operator.dev/clusteruserpools": "" +
		"ClusterUserPools that enrollments name in spec.userPoolRef: read and watch them; update/patch for the in-use finalizer that keeps a pool while enrollments use it.",
	"mfa.cognito-operator.dev/clusteruserpools/status": "" +
		"The pools' status: Ready and the count of enrollments.",
	"mfa.cognito-operator.dev/clusteruserpools/finalizers": "" +
		"The pools' in-use finalizer.",
	"/secrets": "" +
		"The Secrets enrollments name: get, and a metadata-only list/watch to notice changes; create/update the enrollment's own TOTP Secret (never one it does not own); delete it only for deletionPolicy Disable.",
	"/namespaces": "" +
		"Namespace labels, which a ClusterUserPool's allowedNamespaces.selector matches (get, and a metadata-only watch).",
	"events.k8s.io/events": "" +
		"Events on enrollments, in their namespaces.",
	"coordination.k8s.io/leases": "" +
		"The claims (Leases in --cluster-resource-namespace, the release namespace) that keep two enrollments off one Cognito user, and the leader-election Lease.",
	"/events": "" +
		"Events about leader election.",
	"authentication.k8s.io/tokenreviews": "" +
		"Authenticated metrics (--metrics-secure): a scraper's bearer token is checked with a TokenReview.",
	"authorization.k8s.io/subjectaccessreviews": "" +
		"Authenticated metrics (--metrics-secure): a scraper's right to GET /metrics is checked with a SubjectAccessReview.",
}

// Rule is one rule of files/rbac.yaml.
type Rule struct {
	Scope     string   `json:"scope"`
	Why       string   `json:"why"`
	APIGroups []string `json:"apiGroups"`
	Resources []string `json:"resources"`
	Verbs     []string `json:"verbs"`
}

type policyRule struct {
	APIGroups       []string `json:"apiGroups"`
	Resources       []string `json:"resources"`
	ResourceNames   []string `json:"resourceNames"`
	NonResourceURLs []string `json:"nonResourceURLs"`
	Verbs           []string `json:"verbs"`
}

type object struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Rules []policyRule `json:"rules"`
	Spec  struct {
		Group string `json:"group"`
		Scope string `json:"scope"`
		Names struct {
			Plural string `json:"plural"`
		} `json:"names"`
		Groups []json.RawMessage `json:"groups"`
	} `json:"spec"`
}

// Files returns the generated files, keyed by their path relative to the
// chart directory, made from the config/ tree of the repository at root.
func Files(root string) (map[string][]byte, error) {
	out := map[string][]byte{}
	crdPaths, err := filepath.Glob(filepath.Join(root, crdDir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	if len(crdPaths) == 0 {
		return nil, fmt.Errorf("no CRDs in %s", crdDir)
	}
	namespaced := map[string]bool{} // group/plural of each CRD
	for _, p := range crdPaths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		objs, err := decodeAll(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if len(objs) != 1 || objs[0].Kind != "CustomResourceDefinition" {
			return nil, fmt.Errorf("%s: want one CustomResourceDefinition", p)
		}
		crd := objs[0].Spec
		namespaced[crd.Group+"/"+crd.Names.Plural] = crd.Scope == "Namespaced"
		out[GeneratedDir+"/crds/"+filepath.Base(p)] = data
	}

	rules, err := rbacRules(root, namespaced)
	if err != nil {
		return nil, err
	}
	out[GeneratedDir+"/rbac.yaml"] = renderRules(rules)

	reader, err := os.ReadFile(filepath.Join(root, metricsReaderRole))
	if err != nil {
		return nil, err
	}
	if objs, err := decodeAll(reader); err != nil || len(objs) != 1 || objs[0].Kind != "ClusterRole" || len(objs[0].Rules) == 0 {
		return nil, fmt.Errorf("%s: want one ClusterRole with rules (%v)", metricsReaderRole, err)
	}
	out[GeneratedDir+"/metrics-reader.yaml"] = reader

	alerts, err := os.ReadFile(filepath.Join(root, alertsFile))
	if err != nil {
		return nil, err
	}
	objs, err := decodeAll(alerts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", alertsFile, err)
	}
	if len(objs) != 1 || objs[0].Kind != "PrometheusRule" || len(objs[0].Spec.Groups) == 0 {
		return nil, fmt.Errorf("%s: want one PrometheusRule with spec.groups", alertsFile)
	}
	out[GeneratedDir+"/alerts.yaml"] = alerts

	dashboard, err := os.ReadFile(filepath.Join(root, dashboardFile))
	if err != nil {
		return nil, err
	}
	if !json.Valid(dashboard) {
		return nil, fmt.Errorf("%s: not valid JSON", dashboardFile)
	}
	out[GeneratedDir+"/dashboard.json"] = dashboard
	out[GeneratedDir+"/README.md"] = []byte(readme)
	return out, nil
}

const readme = `# Generated: do not edit

Everything in this folder is made by ` + "`make chart`" + ` (hack/chart) from config/,
the one source of truth, and read by the chart's templates:

| file | source |
|---|---|
| crds/*.yaml | config/crd/bases/*.yaml (controller-gen, from api/) |
| rbac.yaml | config/rbac/role.yaml (controller-gen, from the +kubebuilder:rbac markers), config/rbac/leader_election_role.yaml, and the CRDs' scopes; the reasons are in hack/chart/chartgen |
| metrics-reader.yaml | config/rbac/metrics_reader_role.yaml |
| alerts.yaml | config/prometheus/alerts.yaml |
| dashboard.json | config/grafana/dashboard.json |

Edit the source, then run ` + "`make chart`" + `. test/chart fails while these copies are stale.
`

// rbacRules reads the manager's ClusterRole and leader-election Role and
// splits their rules per resource, with a scope and a reason each.
func rbacRules(root string, crdNamespaced map[string]bool) ([]Rule, error) {
	byKey := map[string]*Rule{} // scope, group/resource
	add := func(scope, group, resource string, verbs []string) error {
		key := group + "/" + resource
		why, ok := Reasons[key]
		if !ok {
			return fmt.Errorf("no reason for %q in hack/chart/chartgen: add one to Reasons", key)
		}
		k := scope + " " + key
		r := byKey[k]
		if r == nil {
			r = &Rule{Scope: scope, Why: why, APIGroups: []string{group}, Resources: []string{resource}}
			byKey[k] = r
		}
		for _, v := range verbs {
			if !slices.Contains(r.Verbs, v) {
				r.Verbs = append(r.Verbs, v)
			}
		}
		sort.Strings(r.Verbs)
		return nil
	}
	scopeOf := func(group, resource string) (string, error) {
		base, _, _ := strings.Cut(resource, "/")
		key := group + "/" + base
		if releaseResources[key] {
			return ScopeRelease, nil
		}
		ns, ok := crdNamespaced[key]
		if !ok {
			ns, ok = builtinScopes[key]
		}
		if !ok {
			return "", fmt.Errorf("unknown scope of %q: add it to builtinScopes in hack/chart/chartgen", key)
		}
		if ns {
			return ScopeWatched, nil
		}
		return ScopeCluster, nil
	}
	each := func(file string, want string, fixed string) error {
		data, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			return err
		}
		objs, err := decodeAll(data)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		found := false
		for _, o := range objs {
			switch o.Kind {
			case want:
				found = true
			case "RoleBinding", "ClusterRoleBinding":
				continue
			default:
				return fmt.Errorf("%s: unexpected %s %q (the chart handles only a %s)", file, o.Kind, o.Metadata.Name, want)
			}
			for _, pr := range o.Rules {
				if len(pr.ResourceNames) > 0 || len(pr.NonResourceURLs) > 0 {
					return fmt.Errorf("%s: resourceNames and nonResourceURLs are not supported by hack/chart", file)
				}
				for _, g := range pr.APIGroups {
					for _, res := range pr.Resources {
						scope := fixed
						if scope == "" {
							if scope, err = scopeOf(g, res); err != nil {
								return fmt.Errorf("%s: %w", file, err)
							}
						}
						if err := add(scope, g, res, pr.Verbs); err != nil {
							return fmt.Errorf("%s: %w", file, err)
						}
					}
				}
			}
		}
		if !found {
			return fmt.Errorf("%s: no %s", file, want)
		}
		return nil
	}
	if err := each(roleFile, "ClusterRole", ""); err != nil {
		return nil, err
	}
	if err := each(leaderElectionRole, "Role", ScopeRelease); err != nil {
		return nil, err
	}
	rules := make([]Rule, 0, len(byKey))
	for _, r := range byKey {
		rules = append(rules, *r)
	}
	sort.Slice(rules, func(i, j int) bool {
		a, b := rules[i], rules[j]
		if a.Scope != b.Scope {
			return scopeOrder[a.Scope] < scopeOrder[b.Scope]
		}
		if a.APIGroups[0] != b.APIGroups[0] {
			return a.APIGroups[0] < b.APIGroups[0]
		}
		return a.Resources[0] < b.Resources[0]
	})
	return rules, nil
}

func renderRules(rules []Rule) []byte {
	var b bytes.Buffer
	b.WriteString(`# Code generated by hack/chart (make chart) from config/rbac/role.yaml,
# config/rbac/leader_election_role.yaml and config/crd/bases. DO NOT EDIT.
#
# One rule per resource. Its scope says where the chart grants it:
#   cluster  a cluster-scoped resource: the ClusterRole, in either mode;
#   watched  a namespaced resource, wherever enrollments are: the ClusterRole
#            when watchNamespaces is empty, else the ClusterRole
#            <fullname>-watched, bound by a RoleBinding in each watched
#            namespace only;
#   release  the manager's own namespace (the release's): a Role there.
rules:
`)
	list := func(s []string) string {
		q := make([]string, len(s))
		for i, v := range s {
			q[i] = strconv.Quote(v)
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	for _, r := range rules {
		fmt.Fprintf(&b, "- scope: %s\n  why: %s\n  apiGroups: %s\n  resources: %s\n  verbs: %s\n",
			r.Scope, strconv.Quote(r.Why), list(r.APIGroups), list(r.Resources), list(r.Verbs))
	}
	return b.Bytes()
}

func decodeAll(data []byte) ([]object, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []object
	for {
		var o object
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		if o.Kind != "" {
			objs = append(objs, o)
		}
	}
}

// Write writes the generated files into the chart at chartDir, and removes
// the files of its generated folder that Files no longer makes.
func Write(root, chartDir string) error {
	files, err := Files(root)
	if err != nil {
		return err
	}
	existing, err := list(chartDir)
	if err != nil {
		return err
	}
	for _, rel := range existing {
		if _, ok := files[rel]; !ok {
			if err := os.Remove(filepath.Join(chartDir, rel)); err != nil {
				return err
			}
		}
	}
	for rel, data := range files {
		p := filepath.Join(chartDir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Diff lists how the chart at chartDir differs from what Files makes: files
// that are missing, different or no longer made. Empty means up to date.
func Diff(root, chartDir string) ([]string, error) {
	files, err := Files(root)
	if err != nil {
		return nil, err
	}
	existing, err := list(chartDir)
	if err != nil {
		return nil, err
	}
	var diffs []string
	for _, rel := range existing {
		if _, ok := files[rel]; !ok {
			diffs = append(diffs, rel+": no longer generated")
		}
	}
	for rel, want := range files {
		got, err := os.ReadFile(filepath.Join(chartDir, rel))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			diffs = append(diffs, rel+": missing")
		case err != nil:
			return nil, err
		case !bytes.Equal(got, want):
			diffs = append(diffs, rel+": differs from its source")
		}
	}
	sort.Strings(diffs)
	return diffs, nil
}

// list returns the files of the chart's generated folder.
func list(chartDir string) ([]string, error) {
	var out []string
	dir := filepath.Join(chartDir, GeneratedDir)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == dir {
			return filepath.SkipDir
		}
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(chartDir, p)
		out = append(out, filepath.ToSlash(rel))
		return err
	})
	return out, err
}
