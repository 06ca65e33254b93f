// Command pause is the node test's pod sandbox image's only program, in
// place of registry.k8s.io/pause, which cannot be pulled here: it holds the
// pod's namespaces open, reaps the zombies it inherits as PID 1, and exits on
// SIGINT or SIGTERM, as the upstream pause does. Built static
// (CGO_ENABLED=0) into a FROM scratch image by test/node.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range sigs {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			// Reap every exited child; stop when none is left to reap.
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
