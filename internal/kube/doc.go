// Package kube holds what the controllers share of the API server: the
// Secret events source that keeps no Secret, the cache's transform, the
// enrollments' field indexes, and reading a Secret's keys fresh. It makes
// no decision; the controllers' decisions live in internal/lifecycle.
package kube
