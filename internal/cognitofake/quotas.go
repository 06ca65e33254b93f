package cognitofake

import (
	"strings"
	"time"
)

// Cognito's request-rate quotas are per account and Region and per category
// of operation ([QUOTAS] in docs/cognito-fidelity.md); a request beyond its
// category's rate in any one-second window is refused with
// TooManyRequestsException. The fake is one account in one Region.
const (
	CategoryUserAuthentication     = "UserAuthentication"
	CategoryRespondToAuthChallenge = "RespondToAuthChallenge"
	CategoryUserUpdate             = "UserUpdate"
	CategoryUserRead               = "UserRead"
	// allOperations is SetQuota's bucket, which every operation counts against.
	allOperations = "*"
)

// DocumentedQuotas are the default rates of [QUOTAS], requests per second.
var DocumentedQuotas = map[string]int{
	CategoryUserAuthentication:     120,
	CategoryRespondToAuthChallenge: 360,
	CategoryUserUpdate:             25,
	CategoryUserRead:               120,
}

// operationCategory places the operations the fake serves. [QUOTAS] lists
// InitiateAuth under UserAuthentication, RespondToAuthChallenge under its own
// rate and GetUser under UserRead; it does not list AssociateSoftwareToken,
// VerifySoftwareToken or SetUserMFAPreference. The fake counts them as
// UserUpdate, the strictest reading; SetOperationCategory tries another.
var operationCategory = map[string]string{
	"InitiateAuth":           CategoryUserAuthentication,
	"RespondToAuthChallenge": CategoryRespondToAuthChallenge,
	"GetUser":                CategoryUserRead,
	"AssociateSoftwareToken": CategoryUserUpdate,
	"VerifySoftwareToken":    CategoryUserUpdate,
	"SetUserMFAPreference":   CategoryUserUpdate,
	// The Admin operations the fake serves that act on a user's MFA.
	"AdminGetUser":              CategoryUserRead,
	"AdminSetUserMFAPreference": CategoryUserUpdate,
	"AdminDeleteSoftwareToken":  CategoryUserUpdate,
}

// Per-user limits: besides the account's categories, each user may make 10
// reads and 10 writes a second, not adjustable (archived developer guide
// doc_source/limits.md; current quotas page). The fake counts the UserRead
// operations as reads and the UserUpdate ones as writes; sign-in operations
// are not counted per user (assumed).
const (
	PerUserReads  = "PerUserRead"
	PerUserWrites = "PerUserWrite"
)

// DocumentedPerUserQuotas are the per-user limits, requests per second.
var DocumentedPerUserQuotas = map[string]int{PerUserReads: 10, PerUserWrites: 10}

// perUserKind is the per-user limit an operation counts against ("" for none).
func perUserKind(category string) string {
	switch category {
	case CategoryUserRead:
		return PerUserReads
	case CategoryUserUpdate:
		return PerUserWrites
	}
	return ""
}

// quotas is the fake's rate enforcement: a one-second sliding window per
// category, and per user and kind. The zero value enforces nothing.
type quotas struct {
	rps       map[string]int
	perUser   map[string]int    // PerUserReads, PerUserWrites
	category  map[string]string // overrides of operationCategory
	accepted  map[string][]time.Time
	throttled map[string]int
}

// needsUser reports whether over needs the request's user.
func (q *quotas) needsUser() bool { return len(q.perUser) > 0 }

// over records a request to op made as user at now, and says whether a
// quota refuses it. Every applicable bucket must have room; only then does
// each count it. A per-user bucket is named kind + "/" + user; its limit is
// the kind's, and its refusals are counted under the kind.
func (q *quotas) over(op, user string, now time.Time) bool {
	category := q.categoryOf(op)
	buckets := []string{category, allOperations}
	if kind := perUserKind(category); kind != "" && user != "" && q.perUser[kind] > 0 {
		buckets = append(buckets, kind+"/"+user)
	}
	for _, b := range buckets {
		limit, counter := q.limit(b)
		if limit == 0 {
			continue
		}
		q.expire(b, now)
		if len(q.accepted[b]) >= limit {
			q.throttled[counter]++
			return true
		}
	}
	for _, b := range buckets {
		if limit, _ := q.limit(b); limit > 0 {
			q.accepted[b] = append(q.accepted[b], now)
		}
	}
	return false
}

// limit is a bucket's rate and the name its refusals are counted under.
func (q *quotas) limit(bucket string) (int, string) {
	if kind, _, ok := strings.Cut(bucket, "/"); ok {
		return q.perUser[kind], kind
	}
	return q.rps[bucket], bucket
}

func (q *quotas) expire(bucket string, now time.Time) {
	keep := q.accepted[bucket][:0]
	for _, t := range q.accepted[bucket] {
		if now.Sub(t) < time.Second {
			keep = append(keep, t)
		}
	}
	q.accepted[bucket] = keep
}

func (q *quotas) categoryOf(op string) string {
	if c, ok := q.category[op]; ok {
		return c
	}
	return operationCategory[op]
}

func (q *quotas) init() {
	if q.rps == nil {
		q.rps, q.perUser, q.accepted, q.throttled = map[string]int{}, map[string]int{}, map[string][]time.Time{}, map[string]int{}
	}
}

func (q *quotas) set(bucket string, rps int) {
	q.init()
	q.rps[bucket], q.accepted[bucket], q.throttled[bucket] = rps, nil, 0
}

// SetPerUserQuotas enforces per-user limits (DocumentedPerUserQuotas for the
// documented ones); a kind absent or 0 is unlimited. Refusals count in
// ThrottledBy under PerUserReads and PerUserWrites.
func (s *Server) SetPerUserQuotas(rps map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.quotas.init()
	for kind := range DocumentedPerUserQuotas {
		if rps[kind] > 0 {
			s.quotas.perUser[kind] = rps[kind]
		} else {
			delete(s.quotas.perUser, kind)
		}
		s.quotas.throttled[kind] = 0
	}
	for b := range s.quotas.accepted {
		if strings.Contains(b, "/") {
			delete(s.quotas.accepted, b)
		}
	}
}

// SetQuota makes the fake answer TooManyRequestsException to requests beyond
// rps in any one-second window over all operations together; 0 lifts it.
func (s *Server) SetQuota(rps int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.quotas.set(allOperations, rps)
}

// SetCategoryQuotas enforces a rate per quota category, as Cognito does
// (DocumentedQuotas for the defaults); a category absent or 0 is unlimited.
// It resets the throttled counts of the categories it sets.
func (s *Server) SetCategoryQuotas(rps map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range DocumentedQuotas {
		s.quotas.set(c, rps[c])
	}
}

// SetOperationCategory counts op against another category than the fake's
// reading of [QUOTAS], for the operations the page does not list.
func (s *Server) SetOperationCategory(op, category string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.quotas.category == nil {
		s.quotas.category = map[string]string{}
	}
	s.quotas.category[op] = category
}

// Throttled is how many requests the quotas refused since they were set.
func (s *Server) Throttled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, v := range s.quotas.throttled {
		n += v
	}
	return n
}

// ThrottledBy is how many requests each category's quota refused ("*" is
// SetQuota's bucket over all operations).
func (s *Server) ThrottledBy() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for b, v := range s.quotas.throttled {
		if v > 0 {
			out[b] = v
		}
	}
	return out
}
