package cognito

import (
	"regexp"
	"strings"
)

const redacted = "[REDACTED]"

// Patterns of secret-looking material Cognito or a transport might echo even
// when the exact value is not known here: JWTs, long base32 seeds, TOTP codes.
var secretPatterns = []*regexp.Regexp{
	regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`),
	regexp.MustCompile(`\b[A-Z2-7]{16,}={0,6}\b`),
	regexp.MustCompile(`\b[A-Za-z0-9+/_=-]{64,}\b`),
	regexp.MustCompile(`\b\d{6}\b`),
}

// Redact removes every known secret value, and anything shaped like one, from s.
func Redact(s string, secrets ...string) string {
	for _, v := range secrets {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, redacted)
		}
	}
	for _, re := range secretPatterns {
		s = re.ReplaceAllString(s, redacted)
	}
	return s
}
