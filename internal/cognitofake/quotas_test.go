package cognitofake

import (
	"testing"
	"time"
)

func TestQuotasPerCategory(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	type req struct {
		op        string
		at        time.Duration
		throttled bool
	}
	cases := []struct {
		name     string
		rps      map[string]int
		all      int
		category map[string]string
		reqs     []req
	}{
		{"each category has its own window", map[string]int{CategoryUserUpdate: 2, CategoryUserRead: 1}, 0, nil, []req{
			{"AssociateSoftwareToken", 0, false},
			{"VerifySoftwareToken", 0, false},
			{"SetUserMFAPreference", 0, true}, // UserUpdate's third in the same second
			{"GetUser", 0, false},
			{"GetUser", 500 * time.Millisecond, true},
			{"InitiateAuth", 0, false}, // UserAuthentication unlimited here
			{"SetUserMFAPreference", time.Second, false},
		}},
		{"a refused request does not use the window", map[string]int{CategoryUserRead: 1}, 0, nil, []req{
			{"GetUser", 0, false},
			{"GetUser", 900 * time.Millisecond, true},
			{"GetUser", time.Second, false},
		}},
		{"the all-operations quota applies on top", map[string]int{CategoryUserUpdate: 10}, 2, nil, []req{
			{"InitiateAuth", 0, false},
			{"GetUser", 0, false},
			{"AssociateSoftwareToken", 0, true},
		}},
		{"another reading of an unlisted operation", map[string]int{CategoryUserUpdate: 1, CategoryUserAuthentication: 5}, 0,
			map[string]string{"VerifySoftwareToken": CategoryUserAuthentication}, []req{
				{"AssociateSoftwareToken", 0, false},
				{"VerifySoftwareToken", 0, false},
				{"SetUserMFAPreference", 0, true},
			}},
		{"no quota set", nil, 0, nil, []req{{"AssociateSoftwareToken", 0, false}, {"AssociateSoftwareToken", 0, false}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := New()
			s.SetCategoryQuotas(tc.rps)
			s.SetQuota(tc.all)
			for op, c := range tc.category {
				s.SetOperationCategory(op, c)
			}
			want := 0
			for i, r := range tc.reqs {
				if got := s.quotas.over(r.op, t0.Add(r.at)); got != r.throttled {
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
