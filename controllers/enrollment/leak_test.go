package enrollment_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	eventsv1 "k8s.io/api/events/v1"
)

var sixDigits = regexp.MustCompile(`^\d{6}$`)

// scanForLeaks searches everything the operator wrote for people to read (its
// log, Events, and every enrollment's status) for the secret material the
// fake handed out or received. TOTP codes are six digits and would collide
// with ordinary numbers in the log, so they are looked for in Events and
// status only.
func scanForLeaks() error {
	var events eventsv1.EventList
	if err := k8s.List(ctx(), &events); err != nil {
		return err
	}
	var readable strings.Builder
	for _, e := range events.Items {
		readable.WriteString(e.Reason + " " + e.Note + "\n")
	}
	for _, s := range finalStatuses {
		b, _ := json.Marshal(s.Status)
		readable.Write(b)
	}
	logText := logSink.String()
	secrets := fake.Secrets()
	if len(secrets) == 0 || len(logText) == 0 {
		return fmt.Errorf("leak scan has nothing to scan: %d secrets, %d events, %d log bytes", len(secrets), len(events.Items), len(logText))
	}
	hits := 0
	text := readable.String()
	for _, s := range secrets {
		// A code is a six-digit word; as a substring it also turns up inside
		// request ids and hexadecimal fingerprints by chance.
		inText := strings.Contains(text, s)
		if sixDigits.MatchString(s) {
			inText = regexp.MustCompile(`\b` + s + `\b`).MatchString(text)
		}
		if inText || (!sixDigits.MatchString(s) && strings.Contains(logText, s)) {
			hits++
			fmt.Printf("leak: a secret of %d characters appears in the operator's output\n", len(s))
		}
	}
	fmt.Printf("leak scan: %d secrets against %d log bytes, %d events, %d statuses: %d hits\n",
		len(secrets), len(logText), len(events.Items), len(finalStatuses), hits)
	if hits > 0 {
		return fmt.Errorf("%d secrets leaked", hits)
	}
	// The operator needs no IAM permissions: it never signs a request.
	if n := fake.SignedRequests(); n > 0 {
		return fmt.Errorf("%d Cognito requests were signed; the public operations must go unsigned", n)
	}
	return nil
}
