package v1alpha1

// Condition types, with kstatus semantics: GitOps tools read Ready for done,
// Reconciling for in progress and Stalled for failed. Ready is always
// present; Reconciling and Stalled are present only while True.
const (
	ConditionReady       = "Ready"
	ConditionReconciling = "Reconciling"
	ConditionStalled     = "Stalled"
	// ConditionRotationFailed is True when the last rotation failed before
	// anything new was associated: the old secret is still in place and
	// Ready stays True.
	ConditionRotationFailed = "RotationFailed"
)

// ChallengeReason names the Stalled reason for a sign-in challenge the
// controller cannot answer, e.g. NEW_PASSWORD_REQUIRED -> ChallengeNewPasswordRequired.
func ChallengeReason(challenge string) string {
	reason := []byte("Challenge")
	upper := true
	for i := 0; i < len(challenge); i++ {
		c := challenge[i]
		switch {
		case c == '_':
			upper = true
			continue
		case upper && c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		case !upper && c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		upper = false
		reason = append(reason, c)
	}
	return string(reason)
}
