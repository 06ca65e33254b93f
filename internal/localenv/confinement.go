package localenv

import (
	"fmt"
	"os"
	"strings"
)

// Confinement is what the host's /proc says about a containerised process:
// the image test (runc) and the node test (a pod under the kubelet) check
// with it that the manager runs the way the Deployment asks, whatever the
// pod spec or bundle claims.
type Confinement struct {
	// UID and GID are the real, effective, saved and filesystem ids, as the
	// Uid: and Gid: lines of /proc/PID/status give them.
	UID, GID string
	// CapEff and CapPrm are the effective and permitted capability masks.
	CapEff, CapPrm string
	// RootOptions are the mount options of / as the process sees it.
	RootOptions string
	// NetNS is the process's network namespace, HostNetNS the test's own.
	NetNS, HostNetNS string
}

// ReadConfinement reads the process's ids, capabilities, root mount and
// network namespace from /proc.
func ReadConfinement(pid int) (Confinement, error) {
	var c Confinement
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return c, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		key, val, _ := strings.Cut(line, ":")
		val = strings.Join(strings.Fields(val), " ")
		switch key {
		case "Uid":
			c.UID = val
		case "Gid":
			c.GID = val
		case "CapEff":
			c.CapEff = val
		case "CapPrm":
			c.CapPrm = val
		}
	}
	mountinfo, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
	if err != nil {
		return c, err
	}
	for _, line := range strings.Split(string(mountinfo), "\n") {
		if f := strings.Fields(line); len(f) > 5 && f[4] == "/" {
			c.RootOptions = f[5] // the last mount on / is the one seen
		}
	}
	if c.NetNS, err = os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid)); err != nil {
		return c, err
	}
	c.HostNetNS, err = os.Readlink("/proc/self/ns/net")
	return c, err
}

// Problems lists how the process differs from one running as uid:gid (all
// four ids) with no capabilities on a read-only root filesystem, in the
// host's network namespace when hostNetwork, else in another.
func (c Confinement) Problems(uid, gid int, hostNetwork bool) []string {
	var out []string
	ids := func(n int) string { return strings.TrimSpace(strings.Repeat(fmt.Sprintf("%d ", n), 4)) }
	if c.UID != ids(uid) {
		out = append(out, fmt.Sprintf("Uid: %q, want %q", c.UID, ids(uid)))
	}
	if c.GID != ids(gid) {
		out = append(out, fmt.Sprintf("Gid: %q, want %q", c.GID, ids(gid)))
	}
	const none = "0000000000000000"
	if c.CapEff != none || c.CapPrm != none {
		out = append(out, fmt.Sprintf("capabilities: effective %s, permitted %s, want none", c.CapEff, c.CapPrm))
	}
	if !strings.HasPrefix(c.RootOptions+",", "ro,") {
		out = append(out, fmt.Sprintf("/ is mounted %q, not read-only", c.RootOptions))
	}
	if shared := c.NetNS == c.HostNetNS; shared != hostNetwork {
		out = append(out, fmt.Sprintf("network namespace %s, the host's %s: shared=%v, want %v", c.NetNS, c.HostNetNS, shared, hostNetwork))
	}
	return out
}

// String is a one-line summary for test logs.
func (c Confinement) String() string {
	return fmt.Sprintf("uid %s, gid %s, CapEff %s, / %s, network namespace %s (the host's: %s)",
		c.UID, c.GID, c.CapEff, c.RootOptions, c.NetNS, c.HostNetNS)
}
