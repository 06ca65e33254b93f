//go:build tools

// Package promtool pins the promtool command the alert tests run.
package promtool

import _ "github.com/prometheus/prometheus/cmd/promtool"
