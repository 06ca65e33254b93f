package v1alpha1

import "testing"

func TestRegionOf(t *testing.T) {
	for _, tc := range []struct{ pool, explicit, fallback, want string }{
		{"us-east-1_AbCdEf123", "", "eu-west-1", "us-east-1"},
		{"us-gov-west-1_AbC", "", "", "us-gov-west-1"},
		{"ap-southeast-2_X", "eu-central-1", "", "eu-central-1"},
		{"local_AbCd1234", "", "us-east-1", "us-east-1"},
		{"local_AbCd1234", "", "", ""},
		{"nounderscore", "", "eu-west-1", "eu-west-1"},
	} {
		if got := RegionOf(tc.pool, tc.explicit, tc.fallback); got != tc.want {
			t.Errorf("RegionOf(%q, %q, %q) = %q, want %q", tc.pool, tc.explicit, tc.fallback, got, tc.want)
		}
	}
}
