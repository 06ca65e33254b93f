package cognitofake

// ReplaceMode is when a new software token replaces a user's verified one.
// AWS's reference has said both; the controller must be correct under either.
type ReplaceMode int

const (
	// ReplaceOnVerify keeps the verified token working until the new one is
	// verified (today's API reference: "Amazon Cognito disassociates an
	// existing software token when you verify the new token"). The default.
	ReplaceOnVerify ReplaceMode = iota
	// ReplaceImmediately drops the verified token as soon as
	// AssociateSoftwareToken is called with an access token (older reference
	// text: "Calling AssociateSoftwareToken immediately disassociates the
	// existing software token"). Until the new token is verified no
	// SOFTWARE_TOKEN_MFA challenge is asked, a pool with MFA ON sends the user
	// to MFA_SETUP, and enabling TOTP is refused; yet GetUser still reports
	// the old settings, as amplify-js#1226 and #3844 saw.
	ReplaceImmediately
)

// SetReplaceMode chooses when a new software token replaces the verified one.
func (s *Server) SetReplaceMode(m ReplaceMode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replaceMode = m
}
