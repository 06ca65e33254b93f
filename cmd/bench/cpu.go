package main

import (
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// processes are the run's processes whose CPU is accounted, by role: the
// manager, kube-apiserver, etcd, cognito-local, and this process (the
// driver, the tracker and, in fake runs, the fake itself).
func (r *operatorRun) processes() map[string]int {
	out := map[string]int{"manager": r.mgr.Pid(), "bench (driver and fake)": os.Getpid()}
	if r.env.cog.pid != 0 {
		out["cognito-local"] = r.env.cog.pid
	}
	u, err := url.Parse(r.env.cp.Config.Host)
	if err != nil {
		return out
	}
	apiserver := findProcess(func(args []string) bool {
		return filepath.Base(args[0]) == "kube-apiserver" && hasArg(args, "--secure-port="+u.Port())
	})
	if apiserver == 0 {
		return out
	}
	out["kube-apiserver"] = apiserver
	etcdURL := ""
	for _, a := range cmdline(apiserver) {
		if v, ok := strings.CutPrefix(a, "--etcd-servers="); ok {
			etcdURL = v
		}
	}
	if etcd := findProcess(func(args []string) bool {
		return filepath.Base(args[0]) == "etcd" && etcdURL != "" && hasArg(args, "--listen-client-urls="+etcdURL)
	}); etcd != 0 {
		out["etcd"] = etcd
	}
	return out
}

// cpuByRole is each process's CPU seconds.
func cpuByRole(procs map[string]int) map[string]float64 {
	out := make(map[string]float64, len(procs))
	for role, pid := range procs {
		out[role] = cpuSeconds(pid)
	}
	return out
}

func findProcess(match func(args []string) bool) int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if args := cmdline(pid); len(args) > 0 && match(args) {
			return pid
		}
	}
	return 0
}

func cmdline(pid int) []string {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil || len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
}

func hasArg(args []string, want string) bool {
	for _, a := range args {
		if a == want {
			return true
		}
	}
	return false
}
