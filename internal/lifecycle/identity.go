package lifecycle

import "fmt"

// Identity is a Cognito user as a sign-in showed it, or as the record names
// the owner of the stored seeds: the pool, Cognito's canonical username,
// the user's sub once tokens were seen, and the app client signed in through.
type Identity struct {
	Pool string `json:"pool,omitempty"`
	User string `json:"user,omitempty"`
	Sub  string `json:"sub,omitempty"`
	// Client is the app client the seed was proven through; it names a
	// second part of the claim on the user.
	Client string `json:"client,omitempty"`
	// SignInName is the username typed in the credentials Secret (an alias,
	// perhaps) when the seed was promoted. It is not part of who the user is.
	SignInName string `json:"signInName,omitempty"`
}

func (id Identity) String() string {
	s := fmt.Sprintf("user %q of pool %q", id.User, id.Pool)
	if id.Sub != "" {
		s += " (sub " + id.Sub + ")"
	}
	return s
}

// Known says the identity names a user of a pool.
func (id Identity) Known() bool { return id.Pool != "" && id.User != "" }

// SameUser says two identities are one user: the sub decides when both know
// it; otherwise the canonical username, which Cognito never changes.
func (id Identity) SameUser(other Identity) bool {
	if id.Pool != other.Pool {
		return false
	}
	if id.Sub != "" && other.Sub != "" {
		return id.Sub == other.Sub
	}
	return id.User == other.User
}
