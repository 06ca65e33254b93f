package v1alpha1

import (
	"regexp"
	"strings"
)

var regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)

// RegionOf is the region to call for a user pool: the explicit one, else the
// region its id starts with (us-east-1_AbC), else fallback.
func RegionOf(poolID, explicit, fallback string) string {
	if explicit != "" {
		return explicit
	}
	if prefix, _, ok := strings.Cut(poolID, "_"); ok && regionPattern.MatchString(prefix) {
		return prefix
	}
	return fallback
}
