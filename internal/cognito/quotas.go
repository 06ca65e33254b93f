package cognito

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Cognito's request-rate quotas are per account and Region, per category of
// operation ("Quotas in Amazon Cognito", category-based request rate quotas).
// The operator paces each category to a share of its quota, because the
// account's end users sign in against the same quotas.
const (
	CategoryUserAuthentication = "UserAuthentication"
	// CategoryRespondToAuthChallenge: the quotas page gives
	// RespondToAuthChallenge three times UserAuthentication's rate.
	CategoryRespondToAuthChallenge = "RespondToAuthChallenge"
	CategoryUserUpdate             = "UserUpdate"
	CategoryUserRead               = "UserRead"
)

// DefaultQuotaShare is the share of each quota the operator paces itself to
// by default: the account's end users sign in against the same quotas.
const DefaultQuotaShare = 0.5

// DefaultQuotas are the documented default rates, requests per second.
// UserAuthentication is adjustable on request; UserUpdate is not.
var DefaultQuotas = map[string]float64{
	CategoryUserAuthentication:     120,
	CategoryRespondToAuthChallenge: 360,
	CategoryUserUpdate:             25,
	CategoryUserRead:               120,
}

// categoryOf places each operation the operator uses. The quotas page lists
// InitiateAuth and RespondToAuthChallenge under UserAuthentication and
// GetUser under UserRead. It does not list AssociateSoftwareToken,
// VerifySoftwareToken or SetUserMFAPreference: the operator assumes
// UserUpdate (they change the user), the strictest category, so the
// assumption errs on the safe side; the conformance suite's live run is
// where to measure it.
var categoryOf = map[string]string{
	"InitiateAuth":           CategoryUserAuthentication,
	"RespondToAuthChallenge": CategoryRespondToAuthChallenge,
	"AssociateSoftwareToken": CategoryUserUpdate,
	"VerifySoftwareToken":    CategoryUserUpdate,
	"SetUserMFAPreference":   CategoryUserUpdate,
	"GetUser":                CategoryUserRead,
}

// CategoryOf is the quota category of an operation, or "".
func CategoryOf(operation string) string { return categoryOf[operation] }

// CategoryRates is the pacing rate of every category: share of its quota
// (quotas overrides the defaults, e.g. after a quota increase), with
// explicit per-category rates winning.
func CategoryRates(share float64, quotas, overrides map[string]float64) map[string]float64 {
	out := make(map[string]float64, len(DefaultQuotas))
	for c, q := range DefaultQuotas {
		if v, ok := quotas[c]; ok {
			q = v
		}
		out[c] = q * share
	}
	for c, v := range overrides {
		out[c] = v
	}
	return out
}

// ParseRates reads "UserUpdate=10,UserRead=50" into a map, refusing unknown
// categories so that a typo is not silently ignored.
func ParseRates(s string) (map[string]float64, error) {
	out := map[string]float64{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if _, known := DefaultQuotas[k]; !ok || !known {
			return nil, fmt.Errorf("%q: want CATEGORY=RPS with CATEGORY one of %s", kv, strings.Join(Categories(), ", "))
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			return nil, fmt.Errorf("%q: the rate must be a number ≥ 0", kv)
		}
		out[k] = f
	}
	return out, nil
}

// Categories lists the quota categories, sorted.
func Categories() []string {
	out := make([]string, 0, len(DefaultQuotas))
	for c := range DefaultQuotas {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}
