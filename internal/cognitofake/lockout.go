package cognitofake

import "time"

// Cognito's lockout after failed sign-ins (developer guide, "Authentication
// flow lockout behavior"; docs/cognito-fidelity.md): after five failed
// attempts, whether passwords or MFA codes, each further failure locks the
// user for 2^(n−5) seconds, up to about 15 minutes. Attempts during a lockout
// are refused with NotAuthorizedException "Password attempts exceeded" and
// not counted; 15 minutes without a failure start the count again. The fake's
// clock drives it.
const (
	lockoutThreshold = 5
	lockoutMax       = 15 * time.Minute
)

// lockout is one user's count of failed attempts.
type lockout struct {
	failures   int
	lastFailed time.Time
	until      time.Time
}

// SetLockout turns the lockout on (the default) or off.
func (s *Server) SetLockout(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noLockout = !on
}

// lockedOut refuses an attempt made during the user's lockout.
func (s *Server) lockedOut(u *User) *apiError {
	if s.noLockout || !s.now().Before(u.lockout.until) {
		return nil
	}
	return errLockedOut
}

// failedAttempt counts a wrong password or MFA code.
func (s *Server) failedAttempt(u *User) {
	now := s.now()
	l := &u.lockout
	if now.Sub(l.lastFailed) >= lockoutMax {
		l.failures = 0
	}
	l.failures++
	l.lastFailed = now
	if l.failures >= lockoutThreshold {
		l.until = now.Add(lockoutDuration(l.failures))
	}
}

// lockoutDuration is 2^(n−5) seconds, at most lockoutMax.
func lockoutDuration(failures int) time.Duration {
	if n := failures - lockoutThreshold; n < 10 { // 2^10 s is past the maximum
		return min(time.Duration(1<<n)*time.Second, lockoutMax)
	}
	return lockoutMax
}
