package totp

import (
	"strings"
	"testing"
	"time"
)

// RFC 6238 appendix B's SHA-1 seed, base32 encoded ("12345678901234567890").
const rfcSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

func TestCodeMatchesRFC6238Vectors(t *testing.T) {
	for _, tc := range []struct {
		unix int64
		want string // the RFC's 8-digit value, last 6 digits
	}{
		{59, "287082"},
		{1111111109, "081804"},
		{1111111111, "050471"},
		{1234567890, "005924"},
		{2000000000, "279037"},
	} {
		got, err := Code(rfcSecret, time.Unix(tc.unix, 0))
		if err != nil || got != tc.want {
			t.Errorf("Code(t=%d) = %q, %v; want %q", tc.unix, got, err, tc.want)
		}
	}
}

func TestCodeNormalizesSecret(t *testing.T) {
	at := time.Unix(59, 0)
	spaced := strings.ToLower(rfcSecret[:8]) + " " + rfcSecret[8:]
	a, _ := Code(rfcSecret, at)
	b, err := Code(spaced, at)
	if err != nil || a != b {
		t.Fatalf("Code with spaces/lowercase = %q, %v; want %q", b, err, a)
	}
}

func TestCodes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		at        time.Time
		nextFirst bool
	}{
		{"start of a step", time.Unix(60, 0), false},
		{"middle of a step", time.Unix(75, 0), false},
		{"inside the margin", time.Unix(88, 500e6), true},
		{"last instant", time.Unix(89, 999e6), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			codes, err := Codes(rfcSecret, tc.at, 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			now, _ := Code(rfcSecret, tc.at)
			next, _ := Code(rfcSecret, tc.at.Add(Period))
			want := []string{now, next}
			if tc.nextFirst {
				want = []string{next, now}
			}
			if codes[0] != want[0] || codes[1] != want[1] {
				t.Fatalf("Codes = %v, want %v", codes, want)
			}
		})
	}
}

func TestValidAcceptsOneStepOfSkew(t *testing.T) {
	at := time.Unix(1_000_000_020, 0)
	for _, tc := range []struct {
		offset time.Duration
		want   bool
	}{
		{-2 * Period, false}, {-Period, true}, {0, true}, {Period, true}, {2 * Period, false},
	} {
		code, _ := Code(rfcSecret, at.Add(tc.offset))
		if got := Valid(rfcSecret, code, at); got != tc.want {
			t.Errorf("Valid(code at %v) = %v, want %v", tc.offset, got, tc.want)
		}
	}
}

func TestRemaining(t *testing.T) {
	for _, tc := range []struct {
		at   time.Time
		want time.Duration
	}{
		{time.Unix(60, 0), 30 * time.Second},
		{time.Unix(61, 0), 29 * time.Second},
		{time.Unix(89, 500e6), 500 * time.Millisecond},
	} {
		if got := Remaining(tc.at); got != tc.want {
			t.Errorf("Remaining(%v) = %v, want %v", tc.at.Unix(), got, tc.want)
		}
	}
}

func TestCheckSecret(t *testing.T) {
	for _, tc := range []struct {
		secret string
		ok     bool
	}{
		{rfcSecret, true},
		{"JBSWY3DPEHPK3PXP", true},
		{"SHORT", false},
		{"NOT-BASE32-AT-ALL-1890", false},
		{"", false},
	} {
		if err := CheckSecret(tc.secret); (err == nil) != tc.ok {
			t.Errorf("CheckSecret(%q) = %v, want ok=%v", tc.secret, err, tc.ok)
		}
	}
}

func TestURL(t *testing.T) {
	got := URL("us-east-1_AbC", "ci bot", "jbswy3dpehpk3pxp")
	want := "otpauth://totp/us-east-1_AbC:ci%20bot?secret=JBSWY3DPEHPK3PXP&issuer=us-east-1_AbC&algorithm=SHA1&digits=6&period=30"
	if got != want {
		t.Fatalf("URL = %s\nwant  %s", got, want)
	}
}

func TestFingerprintIsStableAndHidesSecret(t *testing.T) {
	a := Fingerprint(rfcSecret)
	if a != Fingerprint(strings.ToLower(rfcSecret)) {
		t.Fatal("fingerprint depends on case")
	}
	if !strings.HasPrefix(a, "sha256:") || len(a) != len("sha256:")+16 || strings.Contains(a, rfcSecret[:6]) {
		t.Fatalf("unexpected fingerprint %q", a)
	}
	if a == Fingerprint("JBSWY3DPEHPK3PXP") {
		t.Fatal("different secrets share a fingerprint")
	}
}
