package node

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// What a node changes on the host, each watched so that teardown can put it
// back and then prove it did (real-node.md lists them):
//
//   - sysctls: the bridge plugin sets ip_forward; the kubelet sets the kernel
//     tunables it wants (vm.overcommit_memory, kernel.panic, …) at start;
//   - paths outside the run directory that the kubelet, containerd and the
//     CNI plugins create whatever their flags say (/var/log/containers, the
//     device-plugin socket dir, the shims' sockets in /run/containerd/s, …);
//   - iptables chains (KUBE-*: the kubelet's; CNI-*: bridge and portmap) and
//     the rules that jump to them, in iptables and ip6tables;
//   - cgroups: the kubelet's kubepods tree (cgroupfs driver), containerd's;
//   - network links (the CNI bridge) and network namespaces.
var (
	watchedSysctls = []string{
		"net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding", "net/ipv4/conf/all/route_localnet",
		"net/bridge/bridge-nf-call-iptables", "net/bridge/bridge-nf-call-ip6tables",
		"vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops",
		"kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes",
	}
	watchedPaths = []string{
		"/var/lib/kubelet", "/var/log/pods", "/var/log/containers", "/etc/kubernetes", "/run/kubernetes",
		"/run/containerd", "/var/lib/containerd", "/opt/containerd", "/run/netns", "/var/lib/cni",
	}
	watchedCgroups = []string{"kubepods", "kubepods.slice", "k8s.io"}
)

// hostState is a snapshot of everything above. It is written into the run
// directory before the node starts, so that a run killed before its teardown
// is cleaned up by the next one (see janitor).
type hostState struct {
	Sysctls  map[string]string `json:"sysctls"`
	Paths    map[string]bool   `json:"paths"`
	IPTables map[string]string `json:"iptables"` // iptables-save / ip6tables-save output
	Cgroups  []string          `json:"cgroups"`
	Links    []string          `json:"links"`
	NetNS    []string          `json:"netns"`
	// Tool and Images: the images the run put in the container tool's store
	// (saved again once they are built).
	Tool   string   `json:"tool,omitempty"`
	Images []string `json:"images,omitempty"`
}

// statePath is where a run keeps the snapshot, beside its directory.
func statePath() string { return filepath.Join(filepath.Dir(runDir), "cognito-mfa-node-host.json") }

func snapshotHost() (*hostState, error) {
	h := &hostState{Sysctls: map[string]string{}, Paths: map[string]bool{}, IPTables: map[string]string{}}
	for _, s := range watchedSysctls {
		if b, err := os.ReadFile(filepath.Join("/proc/sys", s)); err == nil {
			h.Sysctls[s] = strings.TrimSpace(string(b))
		}
	}
	for _, p := range watchedPaths {
		_, err := os.Lstat(p)
		h.Paths[p] = err == nil
	}
	for _, family := range iptablesFamilies {
		out, err := exec.Command(family + "-save").Output()
		if err != nil {
			return nil, fmt.Errorf("%s-save: %w", family, err)
		}
		h.IPTables[family] = string(out)
	}
	h.Cgroups = existingCgroups()
	h.Links = dirNames("/sys/class/net")
	h.NetNS = dirNames("/run/netns")
	return h, nil
}

func (h *hostState) save() error {
	b, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(statePath(), b, 0o600)
}

func loadHostState() (*hostState, error) {
	b, err := os.ReadFile(statePath())
	if err != nil {
		return nil, err
	}
	h := &hostState{}
	return h, json.Unmarshal(b, h)
}

// createdPaths are the watched paths that exist now and did not before.
func (h *hostState) createdPaths() []string {
	var out []string
	for _, p := range watchedPaths {
		if _, err := os.Lstat(p); err == nil && !h.Paths[p] {
			out = append(out, p)
		}
	}
	return out
}

// restore puts back what the node changed, as far as it can; what is left is
// reported by diff. Processes must be gone first (see teardown).
func (h *hostState) restore(logf func(string, ...any)) {
	for _, p := range h.createdPaths() {
		unmountUnder(p, logf)
	}
	if trees := newOnly(existingCgroups(), h.Cgroups); len(trees) > 0 {
		logf("node teardown: removing cgroups %v", trees)
		removeCgroups(trees, logf)
	}
	for _, family := range iptablesFamilies {
		if err := cleanIPTables(family, h.IPTables[family]); err != nil {
			logf("%s: %v", family, err)
		}
	}
	for _, ns := range newOnly(dirNames("/run/netns"), h.NetNS) {
		logf("node teardown: deleting network namespace %s", ns)
		if out, err := exec.Command("ip", "netns", "delete", ns).CombinedOutput(); err != nil {
			logf("ip netns delete %s: %v: %s", ns, err, out)
		}
	}
	if slices.Contains(newOnly(dirNames("/sys/class/net"), h.Links), cniBridge) {
		if out, err := exec.Command("ip", "link", "delete", cniBridge).CombinedOutput(); err != nil {
			logf("ip link delete %s: %v: %s", cniBridge, err, out)
		}
	}
	for s, v := range h.Sysctls {
		p := filepath.Join("/proc/sys", s)
		if b, err := os.ReadFile(p); err == nil && strings.TrimSpace(string(b)) != v {
			logf("node teardown: sysctl %s: %s back to %s", strings.ReplaceAll(s, "/", "."), strings.TrimSpace(string(b)), v)
			if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
				logf("restoring %s to %s: %v", s, v, err)
			}
		}
	}
	for _, p := range h.createdPaths() {
		logf("node teardown: removing %s", p)
		if err := os.RemoveAll(p); err != nil {
			logf("removing %s: %v", p, err)
		}
	}
}

// diff lists how the host differs from the snapshot in what the node may
// change: empty means the host is as the suite found it.
func (h *hostState) diff() []string {
	now, err := snapshotHost()
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for s, v := range h.Sysctls {
		if now.Sysctls[s] != v {
			out = append(out, fmt.Sprintf("sysctl %s is %s, was %s", strings.ReplaceAll(s, "/", "."), now.Sysctls[s], v))
		}
	}
	for _, p := range watchedPaths {
		if now.Paths[p] != h.Paths[p] {
			out = append(out, fmt.Sprintf("%s: existed before %v, now %v", p, h.Paths[p], now.Paths[p]))
		}
	}
	for _, family := range iptablesFamilies {
		for _, left := range iptablesLeft(h.IPTables[family], now.IPTables[family]) {
			out = append(out, family+": "+left)
		}
	}
	for _, c := range newOnly(now.Cgroups, h.Cgroups) {
		out = append(out, "cgroup left: "+c)
	}
	for _, l := range newOnly(now.Links, h.Links) {
		out = append(out, "network link left: "+l)
	}
	for _, ns := range newOnly(now.NetNS, h.NetNS) {
		out = append(out, "network namespace left: /run/netns/"+ns)
	}
	return out
}

// existingCgroups are the watched cgroup directories present in every
// hierarchy (cgroup v1: one per controller; v2: the unified one).
func existingCgroups() []string {
	var out []string
	for _, h := range cgroupHierarchies() {
		for _, name := range watchedCgroups {
			if st, err := os.Stat(filepath.Join(h, name)); err == nil && st.IsDir() {
				out = append(out, filepath.Join(h, name))
			}
		}
	}
	return out
}

func cgroupHierarchies() []string {
	const base = "/sys/fs/cgroup"
	if _, err := os.Stat(filepath.Join(base, "cgroup.controllers")); err == nil {
		return []string{base} // v2
	}
	var out []string
	entries, _ := os.ReadDir(base)
	for _, e := range entries {
		// cpu,cpuacct-style names are symlinks to a hierarchy listed anyway.
		if e.IsDir() && e.Type()&os.ModeSymlink == 0 {
			if _, err := os.Stat(filepath.Join(base, e.Name(), "cgroup.procs")); err == nil {
				out = append(out, filepath.Join(base, e.Name()))
			}
		}
	}
	return out
}

// cgroupPids are the processes in the cgroup trees.
func cgroupPids(trees []string) []int {
	var pids []int
	for _, tree := range trees {
		_ = filepath.WalkDir(tree, func(p string, d os.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return nil
			}
			b, _ := os.ReadFile(filepath.Join(p, "cgroup.procs"))
			for _, f := range strings.Fields(string(b)) {
				var pid int
				if _, err := fmt.Sscan(f, &pid); err == nil && !slices.Contains(pids, pid) {
					pids = append(pids, pid)
				}
			}
			return nil
		})
	}
	return pids
}

// removeCgroups removes the cgroup trees, deepest first (a cgroup directory
// is removed with rmdir once it has no children and no processes).
func removeCgroups(trees []string, logf func(string, ...any)) {
	for _, tree := range trees {
		var dirs []string
		_ = filepath.WalkDir(tree, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			if err := retry(func() error { return os.Remove(dirs[i]) }); err != nil && !os.IsNotExist(err) {
				logf("removing cgroup %s: %v", dirs[i], err)
			}
		}
	}
}

func dirNames(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// newOnly are the elements of now not in before.
func newOnly(now, before []string) []string {
	var out []string
	for _, s := range now {
		if !slices.Contains(before, s) {
			out = append(out, s)
		}
	}
	return out
}
