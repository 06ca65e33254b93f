package lifecycle

import (
	"crypto/sha256"
	"encoding/hex"
)

// SeedState says what a seed kept in the seed store is to Cognito.
type SeedState string

const (
	// SeedRetained: the user may still be challenged for it (Retain, or a
	// Disable that could not be confirmed): it may be the only working copy.
	SeedRetained SeedState = "Retained"
	// SeedDormant: Disable turned TOTP off and a sign-in confirmed it, but
	// Cognito keeps the registration (SetUserMFAPreference does not reset
	// it): re-enabling TOTP brings this seed back.
	SeedDormant SeedState = "Dormant"
)

// StoredSeed is what the seed store in the operator's namespace holds for an
// enrollment: its seeds' fingerprints and its record, and in what state.
type StoredSeed struct {
	Name   string
	State  SeedState
	Record Record
	// Active and Pending are the fingerprints of the stored seeds.
	Active, Pending string
}

// Origin says where a stored seed came from: the namespace (by name and
// UID, since a namespace of the same name later is not the same one) and
// the enrollment, with the user it belongs to.
type Origin struct {
	Namespace     string `json:"namespace"`
	NamespaceUID  string `json:"namespaceUID"`
	Enrollment    string `json:"enrollment"`
	EnrollmentUID string `json:"enrollmentUID"`
	User          string `json:"user,omitempty"`
	Pool          string `json:"pool,omitempty"`
}

// StoreName is the name of the stored seed of the enrollment name in the
// namespace whose UID is namespaceUID: the same enrollment re-created in
// the same namespace finds it; one in a namespace re-created under the same
// name does not (an administrator adopts it there).
func StoreName(namespaceUID, name string) string {
	sum := sha256.Sum256([]byte(namespaceUID + "/" + name))
	return "stored-seed-" + hex.EncodeToString(sum[:12])
}
