// Package totp generates the RFC 6238 codes Cognito expects from a software
// token (SHA-1, 6 digits, 30-second steps) and the otpauth URI for a secret.
package totp

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

const (
	// CodeMargin is how close to a step boundary a code is not trusted to
	// arrive in time.
	CodeMargin = 3 * time.Second
	// Period is the length of one TOTP step.
	Period = 30 * time.Second
	// Digits is the length of a code.
	Digits = 6
)

var opts = totp.ValidateOpts{Period: uint(Period / time.Second), Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// Code is the code for the step that contains t.
func Code(secret string, t time.Time) (string, error) {
	code, err := totp.GenerateCodeCustom(normalize(secret), t, opts)
	if err != nil {
		// pquerna's error would quote nothing secret, but keep the text fixed.
		return "", fmt.Errorf("TOTP secret is not valid base32")
	}
	return code, nil
}

// Valid reports whether a code is accepted at t with Cognito's tolerance of
// one step either side.
func Valid(secret, code string, t time.Time) bool {
	o := opts
	o.Skew = 1
	ok, err := totp.ValidateCustom(code, normalize(secret), t, o)
	return err == nil && ok
}

// Remaining is the time left in the step that contains t.
func Remaining(t time.Time) time.Duration {
	return Period - time.Duration(t.UnixNano())%Period
}

// Codes returns the codes worth trying at t, best first: the current step's,
// then the next step's (accepted by Cognito's skew, and the one that still
// holds if the request lands after the step boundary). Within margin of the
// boundary the next step's code goes first.
func Codes(secret string, t time.Time, margin time.Duration) ([]string, error) {
	now, err := Code(secret, t)
	if err != nil {
		return nil, err
	}
	next, err := Code(secret, t.Add(Period))
	if err != nil {
		return nil, err
	}
	if Remaining(t) < margin {
		return []string{next, now}, nil
	}
	return []string{now, next}, nil
}

// StepOf is the number of the step that contains t.
func StepOf(t time.Time) int64 { return t.Unix() / int64(Period/time.Second) }

// StepEnd is when step ends.
func StepEnd(step int64) time.Time { return time.Unix((step+1)*int64(Period/time.Second), 0) }

// StepCode is a code and the step it belongs to.
type StepCode struct {
	Code string
	Step int64
}

// QuietCodes returns the codes worth trying at t for a request whose code
// nobody else should be using: the previous step's first (Cognito accepts a
// step either side, and a consumer signing in now uses the current one, so
// the operator's use of it, which Cognito remembers, spoils nothing), then
// the current one. Within margin of the step's end the previous step is too
// old to trust: the current and the next go instead.
func QuietCodes(secret string, t time.Time, margin time.Duration) ([]StepCode, error) {
	steps := []int64{StepOf(t) - 1, StepOf(t)}
	if Remaining(t) < margin {
		steps = []int64{StepOf(t), StepOf(t) + 1}
	}
	out := make([]StepCode, 0, len(steps))
	for _, st := range steps {
		code, err := CodeOfStep(secret, st)
		if err != nil {
			return nil, err
		}
		out = append(out, StepCode{Code: code, Step: st})
	}
	return out, nil
}

// CheckSecret reports whether secret is a usable base32 seed.
func CheckSecret(secret string) error {
	s := normalize(secret)
	if len(s) < 16 {
		return fmt.Errorf("TOTP secret is shorter than 16 characters")
	}
	if _, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.TrimRight(s, "=")); err != nil {
		return fmt.Errorf("TOTP secret is not valid base32")
	}
	return nil
}

// URL is the otpauth URI authenticator apps import, with parameters in the
// conventional order.
func URL(issuer, account, secret string) string {
	label := url.PathEscape(issuer)
	if account != "" {
		label += ":" + url.PathEscape(account)
	}
	return fmt.Sprintf("otpauth://totp/%s?secret=%s&issuer=%s&algorithm=SHA1&digits=%d&period=%d",
		label, url.QueryEscape(normalize(secret)), url.QueryEscape(issuer), Digits, int(Period/time.Second))
}

// Fingerprint is a short, non-reversible identifier of a secret, safe to show.
func Fingerprint(secret string) string {
	sum := sha256.Sum256([]byte(normalize(secret)))
	return "sha256:" + hex.EncodeToString(sum[:8])
}

func normalize(secret string) string {
	return strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(secret), " ", ""))
}

// CodeOfStep is secret's code for TOTP step step.
func CodeOfStep(secret string, step int64) (string, error) {
	return Code(secret, time.Unix(step*int64(Period/time.Second), 0))
}
