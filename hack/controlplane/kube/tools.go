//go:build tools

// Package kube pins the control-plane commands envtest runs, and the node's
// (kubelet, kube-controller-manager, kube-scheduler) that test/node runs
// beside them: all from one k8s.io/kubernetes, so they are the same version.
package kube

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
