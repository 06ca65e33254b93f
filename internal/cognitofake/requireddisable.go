package cognitofake

// SetIgnoreDisableWhereRequired chooses what SetUserMFAPreference does when
// asked to turn TOTP off in a pool that requires MFA: refuse with
// InvalidParameterException (false, the default), or answer 200 and change
// nothing (true). The API reference says only "You can't turn off TOTP MFA
// for any of your users when MFA is required"; field reports describe the
// silent answer. The operator must be right under both.
func (s *Server) SetIgnoreDisableWhereRequired(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ignoreRequiredDisable = on
}
