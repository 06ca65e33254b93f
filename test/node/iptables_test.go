package node

import (
	"fmt"
	"os/exec"
	"slices"
	"strings"
)

// iptablesFamilies are the tools whose rules the kubelet and the CNI plugins
// touch: the kubelet's canary chains go into both.
var iptablesFamilies = []string{"iptables", "ip6tables"}

// ipTable is one table of an iptables-save dump.
type ipTable struct {
	chains []string // every chain, built-in or not
	rules  []string // "-A CHAIN …" lines, as iptables-save prints them
}

// parseIPTables reads iptables-save output into its tables.
func parseIPTables(save string) map[string]*ipTable {
	tables := map[string]*ipTable{}
	var cur *ipTable
	for _, line := range strings.Split(save, "\n") {
		switch {
		case strings.HasPrefix(line, "*"):
			cur = &ipTable{}
			tables[strings.TrimPrefix(line, "*")] = cur
		case cur == nil:
		case strings.HasPrefix(line, ":"):
			cur.chains = append(cur.chains, strings.Fields(line[1:])[0])
		case strings.HasPrefix(line, "-A "):
			cur.rules = append(cur.rules, line)
		}
	}
	return tables
}

// nodeChain: the chains a node creates, the kubelet's and the CNI plugins'.
func nodeChain(name string) bool {
	return strings.HasPrefix(name, "KUBE-") || strings.HasPrefix(name, "CNI-")
}

// created are the node's chains in now that before lacks, and the rules of
// now, outside those chains and absent before, that mention one of them.
func created(before, now *ipTable) (chains, rules []string) {
	for _, c := range now.chains {
		if nodeChain(c) && (before == nil || !slices.Contains(before.chains, c)) {
			chains = append(chains, c)
		}
	}
	for _, r := range now.rules {
		if before != nil && slices.Contains(before.rules, r) {
			continue
		}
		f := strings.Fields(r)
		if slices.Contains(chains, f[1]) {
			continue // goes with its chain
		}
		if slices.ContainsFunc(f[2:], nodeChain) {
			rules = append(rules, r)
		}
	}
	return chains, rules
}

// cleanIPTables deletes, in one iptables-restore --noflush, what the node
// added since the before dump: its rules in other chains, then its chains
// (flushed first, so that chains jumping to each other can all go). Rules
// and chains that were there before are not touched.
func cleanIPTables(family, before string) error {
	out, err := exec.Command(family + "-save").Output()
	if err != nil {
		return fmt.Errorf("%s-save: %w", family, err)
	}
	was, now := parseIPTables(before), parseIPTables(string(out))
	var script strings.Builder
	for name, table := range now {
		chains, rules := created(was[name], table)
		if len(chains) == 0 && len(rules) == 0 {
			continue
		}
		fmt.Fprintf(&script, "*%s\n", name)
		for _, r := range rules {
			script.WriteString("-D" + strings.TrimPrefix(r, "-A") + "\n")
		}
		for _, c := range chains {
			fmt.Fprintf(&script, "-F %s\n", c)
		}
		for _, c := range chains {
			fmt.Fprintf(&script, "-X %s\n", c)
		}
		script.WriteString("COMMIT\n")
	}
	if script.Len() == 0 {
		return nil
	}
	logf("node teardown: %s-restore --noflush:\n%s", family, strings.TrimSpace(script.String()))
	cmd := exec.Command(family+"-restore", "--noflush")
	cmd.Stdin = strings.NewReader(script.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s-restore --noflush: %v: %s\n%s", family, err, out, script.String())
	}
	return nil
}

// iptablesLeft describes what the node added since before and is still there.
func iptablesLeft(before, now string) []string {
	was := parseIPTables(before)
	var out []string
	for name, table := range parseIPTables(now) {
		chains, rules := created(was[name], table)
		for _, c := range chains {
			out = append(out, fmt.Sprintf("table %s: chain %s left", name, c))
		}
		for _, r := range rules {
			out = append(out, fmt.Sprintf("table %s: rule left: %s", name, r))
		}
	}
	return out
}
