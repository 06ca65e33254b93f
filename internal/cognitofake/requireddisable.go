package cognitofake

// DisableMode is what SetUserMFAPreference does when asked to turn TOTP off
// for a user whose only factor it is, in a pool that requires MFA. The API
// reference says only "You can't turn off TOTP MFA for any of your users
// when MFA is required"; users report the first mode.
type DisableMode int

const (
	// DisableEmptiesList answers 200 and drops TOTP from UserMFASettingList
	// (and PreferredMfaSetting), yet the registered token stays and the next
	// sign-in is still challenged with SOFTWARE_TOKEN_MFA
	// (aws/aws-sdk-js-v3#7961, aws/aws-sdk#693, amplify-flutter#5716,
	// amplify-js#11260). The default: GetUser then says "off" while Cognito
	// still demands the code, so only a sign-in tells.
	DisableEmptiesList DisableMode = iota
	// DisableRefused answers InvalidParameterException and changes nothing.
	DisableRefused
	// DisableIgnored answers 200 and changes nothing (older reports).
	DisableIgnored
)

// SetDisableWhereRequired chooses the DisableMode.
func (s *Server) SetDisableWhereRequired(m DisableMode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.disableMode = m
}

// SetIgnoreDisableWhereRequired(true) is SetDisableWhereRequired(DisableIgnored);
// false restores the default, DisableEmptiesList. Kept for existing callers.
func (s *Server) SetIgnoreDisableWhereRequired(on bool) {
	m := DisableEmptiesList
	if on {
		m = DisableIgnored
	}
	s.SetDisableWhereRequired(m)
}
