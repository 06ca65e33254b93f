package cognitofake

// InjectVerifyStatusError makes the next VerifySoftwareToken request made as
// user (any user when empty) answer HTTP 200 with Status ERROR and change
// nothing, once per call. The API reference allows this outcome ("clock skew
// on the user's device and excessive retries") besides the exceptions.
func (s *Server) InjectVerifyStatusError(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.verifyStatusErrors = append(s.verifyStatusErrors, user)
}

// takeVerifyStatusError consumes an injected Status ERROR for user, if one is queued.
func (s *Server) takeVerifyStatusError(user string) bool {
	for i, u := range s.verifyStatusErrors {
		if u == "" || u == user {
			s.verifyStatusErrors = append(s.verifyStatusErrors[:i:i], s.verifyStatusErrors[i+1:]...)
			return true
		}
	}
	return false
}
