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
	regexp.MustCompile(`\b\d{6}\b`),
}

// longToken is a long run of token characters; it is redacted only when it
// mixes upper and lower case, as base64 tokens (refresh tokens, sessions)
// do: a Kubernetes name of 64 characters or more, all lower case, stays.
var longToken = regexp.MustCompile(`\b[A-Za-z0-9+/_=-]{64,}\b`)

func tokenLike(s string) bool {
	return strings.ToLower(s) != s && strings.ToUpper(s) != s
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
	return longToken.ReplaceAllStringFunc(s, func(m string) string {
		if tokenLike(m) {
			return redacted
		}
		return m
	})
}
