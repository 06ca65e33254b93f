package node

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// The README's install section is what the scenarios run: they take its
// helm and kubectl commands word for word and add only what this node and
// the test need (see nodeFlags); the suite fails when a command it shows was
// run by no scenario.
const (
	readmeFile    = "README.md"
	readmeSection = "## Installing in a cluster"
	// The chart's README repeats the hostNetwork commands.
	chartReadme        = "charts/cognito-mfa-operator/README.md"
	chartReadmeSection = "## Without the kubernetes Service"
)

// readmeCommands are the helm and kubectl commands of the sh blocks of a
// README section, each split into words as a shell would: continuation
// lines joined, comments dropped.
func readmeCommands(file, section string) ([][]string, error) {
	b, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		return nil, err
	}
	text := string(b)
	start := strings.Index(text, "\n"+section+"\n")
	if start < 0 {
		return nil, fmt.Errorf("%s has no section %q", file, section)
	}
	text = text[start+len(section)+2:]
	if end := strings.Index(text, "\n## "); end >= 0 {
		text = text[:end]
	}
	var cmds [][]string
	inBlock := false
	var line strings.Builder
	for _, l := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(l, "```"):
			inBlock = strings.TrimPrefix(l, "```") == "sh"
			continue
		case !inBlock:
			continue
		}
		line.WriteString(l)
		if strings.HasSuffix(l, `\`) {
			s := strings.TrimSuffix(line.String(), `\`)
			line.Reset()
			line.WriteString(s)
			continue
		}
		words, err := shellWords(line.String())
		line.Reset()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if len(words) > 0 && (words[0] == "helm" || words[0] == "kubectl") {
			cmds = append(cmds, words)
		}
	}
	return cmds, nil
}

// shellWords splits a line into words as sh would for these commands:
// blanks separate, single and double quotes group, and a # starting a word
// starts a comment.
func shellWords(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	for _, r := range line {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case r == '#' && !inWord:
			return words, nil
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated quote in %q", line)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// readme is the install section's commands, and which the scenarios ran.
var readme = struct {
	sync.Mutex
	cmds [][]string
	err  error
	used map[int]bool
	once sync.Once
}{used: map[int]bool{}}

// readmeCommand is the install section's command that match accepts, marked
// as run; the test fails when there is none, or more than one.
func readmeCommand(t *testing.T, what string, match func([]string) bool) []string {
	t.Helper()
	readme.once.Do(func() { readme.cmds, readme.err = readmeCommands(readmeFile, readmeSection) })
	readme.Lock()
	defer readme.Unlock()
	if readme.err != nil {
		t.Fatal(readme.err)
	}
	found := -1
	for i, c := range readme.cmds {
		if match(c) {
			if found >= 0 {
				t.Fatalf("%s: the README's install section has two such commands: %q and %q", what, readme.cmds[found], c)
			}
			found = i
		}
	}
	if found < 0 {
		t.Fatalf("%s: no such command in the README's install section", what)
	}
	readme.used[found] = true
	return slices.Clone(readme.cmds[found])
}

// readmeUnused are the install section's commands no scenario ran.
func readmeUnused() []string {
	readme.Lock()
	defer readme.Unlock()
	var out []string
	for i, c := range readme.cmds {
		if !readme.used[i] {
			out = append(out, strings.Join(c, " "))
		}
	}
	return out
}

// The commands the scenarios take from the README.
var (
	plainInstall = func(c []string) bool {
		return isCmd(c, "helm", "install") && !slices.Contains(c, "-f") && !slices.Contains(c, "--set")
	}
	hardenedInstall = func(c []string) bool {
		return isCmd(c, "helm", "install") && slices.Contains(c, "charts/cognito-mfa-operator/values-hardened.yaml")
	}
	hostNetworkInstall = func(c []string) bool {
		return isCmd(c, "helm", "install") && slices.Contains(c, "hostNetwork=true")
	}
	upgradeCmd      = func(c []string) bool { return isCmd(c, "helm", "upgrade") }
	uninstallCmd    = func(c []string) bool { return isCmd(c, "helm", "uninstall") }
	createNamespace = func(c []string) bool { return isCmd(c, "kubectl", "create", "namespace") }
	labelNamespace  = func(c []string) bool { return isCmd(c, "kubectl", "label", "namespace") }
)

func isCmd(c []string, prefix ...string) bool {
	return len(c) >= len(prefix) && slices.Equal(c[:len(prefix)], prefix)
}

// hostNetworkFlags are what the README's hostNetwork install adds to its
// plain install: the values a node without the kubernetes Service needs.
func hostNetworkFlags(t *testing.T) []string {
	t.Helper()
	plain := readmeCommand(t, "the plain helm install", plainInstall)
	host := readmeCommand(t, "the hostNetwork helm install", hostNetworkInstall)
	var extra []string
	for i := 0; i < len(host); i++ {
		if slices.Contains(plain, host[i]) {
			continue
		}
		if host[i] != "--set" || i+1 == len(host) {
			t.Fatalf("the README's hostNetwork install adds %q to the plain one: only --set flags are expected", host[i])
		}
		extra = append(extra, host[i], host[i+1])
		i++
	}
	return extra
}

// TestReadmeInstallSection needs no node: the install section has each
// command the scenarios take, the hostNetwork install is the plain one with
// values added, every command names the same release and namespace, and the
// chart's README shows the same hostNetwork commands.
func TestReadmeInstallSection(t *testing.T) {
	cmds, err := readmeCommands(readmeFile, readmeSection)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		what  string
		match func([]string) bool
	}{{"plain install", plainInstall}, {"hardened install", hardenedInstall}, {"hostNetwork install", hostNetworkInstall},
		{"upgrade", upgradeCmd}, {"uninstall", uninstallCmd}, {"create namespace", createNamespace}, {"label namespace", labelNamespace}} {
		n := 0
		for _, c := range cmds {
			if m.match(c) {
				n++
				if !slices.Contains(c, releaseNS) {
					t.Errorf("%q does not name the namespace %s", strings.Join(c, " "), releaseNS)
				}
				if c[0] == "helm" && c[2] != releaseName {
					t.Errorf("%q does not name the release %s", strings.Join(c, " "), releaseName)
				}
			}
		}
		if n != 1 {
			t.Errorf("the README's install section has %d %s commands, want 1", n, m.what)
		}
	}
	label := slices.IndexFunc(cmds, labelNamespace)
	if label >= 0 && !slices.Contains(cmds[label], "pod-security.kubernetes.io/enforce=privileged") {
		t.Errorf("%q: hostNetwork needs the privileged Pod Security level", strings.Join(cmds[label], " "))
	}
	chart, err := readmeCommands(chartReadme, chartReadmeSection)
	if err != nil {
		t.Fatal(err)
	}
	var host [][]string
	for _, c := range cmds {
		if hostNetworkInstall(c) || createNamespace(c) || labelNamespace(c) {
			host = append(host, c)
		}
	}
	if fmt.Sprint(chart) != fmt.Sprint(host) {
		t.Errorf("the chart README's %q shows\n  %q\nthe README's install section\n  %q", chartReadmeSection, chart, host)
	}
}
