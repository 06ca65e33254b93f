package cognitofake

import (
	"testing"
	"time"
)

// Category quotas, the all-operations quota and the per-user limits.
func TestQuotasPerCategory(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	type req struct {
		op        string
		at        time.Duration
		throttled bool
		user      string
	}
	cases := []struct {
		name     string
		rps      map[string]int
		all      int
		category map[string]string
		reqs     []req
		perUser  map[string]int
	}{
		{"each category has its own window", map[string]int{CategoryUserUpdate: 2, CategoryUserRead: 1}, 0, nil, []req{
			{"AssociateSoftwareToken", 0, false, ""},
			{"VerifySoftwareToken", 0, false, ""},
			{"SetUserMFAPreference", 0, true, ""}, // UserUpdate's third in the same second
			{"GetUser", 0, false, ""},
			{"GetUser", 500 * time.Millisecond, true, ""},
			{"InitiateAuth", 0, false, ""}, // UserAuthentication unlimited here
			{"SetUserMFAPreference", time.Second, false, ""},
		}, nil},
		{"a refused request does not use the window", map[string]int{CategoryUserRead: 1}, 0, nil, []req{
			{"GetUser", 0, false, ""},
			{"GetUser", 900 * time.Millisecond, true, ""},
			{"GetUser", time.Second, false, ""},
		}, nil},
		{"the all-operations quota applies on top", map[string]int{CategoryUserUpdate: 10}, 2, nil, []req{
			{"InitiateAuth", 0, false, ""},
			{"GetUser", 0, false, ""},
			{"AssociateSoftwareToken", 0, true, ""},
		}, nil},
		{"another reading of an unlisted operation", map[string]int{CategoryUserUpdate: 1, CategoryUserAuthentication: 5}, 0,
			map[string]string{"VerifySoftwareToken": CategoryUserAuthentication}, []req{
				{"AssociateSoftwareToken", 0, false, ""},
				{"VerifySoftwareToken", 0, false, ""},
				{"SetUserMFAPreference", 0, true, ""},
			}, nil},
		{"no quota set", nil, 0, nil, []req{{"AssociateSoftwareToken", 0, false, ""}, {"AssociateSoftwareToken", 0, false, ""}}, nil},
		{"per user: reads and writes apart, users apart, beside the category", map[string]int{CategoryUserRead: 3}, 0, nil, []req{
			{"GetUser", 0, false, "ann"},
			{"GetUser", 0, false, "ann"},
			{"GetUser", 0, true, "ann"},                 // ann's third read in the second
			{"AssociateSoftwareToken", 0, false, "ann"}, // a write
			{"VerifySoftwareToken", 0, false, "ann"},
			{"SetUserMFAPreference", 0, true, "ann"},
			{"GetUser", 0, false, "bob"},      // bob's first read: the category's third
			{"GetUser", 0, true, "cid"},       // the category is full
			{"InitiateAuth", 0, false, "ann"}, // sign-in is not counted per user
			{"InitiateAuth", 0, false, "ann"},
			{"InitiateAuth", 0, false, "ann"},
			{"GetUser", time.Second, false, "ann"},
		}, map[string]int{PerUserReads: 2, PerUserWrites: 2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := New()
			s.SetCategoryQuotas(tc.rps)
			s.SetQuota(tc.all)
			s.SetPerUserQuotas(tc.perUser)
			for op, c := range tc.category {
				s.SetOperationCategory(op, c)
			}
			want := 0
			for i, r := range tc.reqs {
				if got := s.quotas.over(r.op, r.user, t0.Add(r.at)); got != r.throttled {
					t.Fatalf("request %d (%s at +%s): throttled=%v, want %v", i, r.op, r.at, got, r.throttled)
				}
				if r.throttled {
					want++
				}
			}
			if s.Throttled() != want {
				t.Fatalf("Throttled() = %d, want %d (%v)", s.Throttled(), want, s.ThrottledBy())
			}
		})
	}
}
