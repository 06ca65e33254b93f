//go:build tools

// Package helm pins the helm command the chart tests run.
package helm

import _ "helm.sh/helm/v3/cmd/helm"
