package lifecycle

// Phase is where an enrollment stands, derived from its Secret's record, the
// stored seeds and the status; it is never stored.
type Phase string

const (
	// NoSeed: no seed is stored.
	NoSeed Phase = "NoSeed"
	// Associating: a new seed is staged for a user with no stored seed, and
	// Cognito has not been heard to verify it.
	Associating Phase = "Associating"
	// Held: Cognito verified the staged seed for these inputs; it waits for
	// the step of the operator's code to pass before consumers see it.
	Held Phase = "Held"
	// Rotating: a working seed is stored and a new one staged beside it.
	Rotating Phase = "Rotating"
	// Unresolved: a new token was associated while a seed was stored, and no
	// sign-in has proved since which seed Cognito holds.
	Unresolved Phase = "Unresolved"
	// Unproven: a seed is stored but the record does not vouch for it (it
	// was edited, disproved, or written before identities were recorded).
	Unproven Phase = "Unproven"
	// Active: the record vouches for the stored seed.
	Active Phase = "Active"
	// Retained: the Secret was released by an earlier enrollment of this
	// name; this one adopts it once Cognito proves its seed.
	Retained Phase = "Retained"
	// Foreign: the Secret is someone else's; it is never touched.
	Foreign Phase = "Foreign"
	// Unreadable: the Secret's record cannot be read by this release.
	Unreadable Phase = "Unreadable"
	// Evicted: the enrollment's Secret is being deleted; its seed moves to
	// the seed store and comes back from there.
	Evicted Phase = "Evicted"
	// InStore: no Secret, and the seed store holds this enrollment's seed:
	// it is restored into the namespace, then proven.
	InStore Phase = "InStore"
	// Releasing: the enrollment is being deleted; its deletion policy is
	// being carried out.
	Releasing Phase = "Releasing"
)

// Phases lists every phase, in the order PhaseOf tries them.
var Phases = []Phase{Releasing, Foreign, Unreadable, Evicted, Retained, InStore, Held, Associating, Rotating, NoSeed, Unresolved, Unproven, Active}

// PhaseOf derives the phase of an observation.
func PhaseOf(o *Observation) Phase {
	r := &o.Record
	switch {
	case !o.Enrollment.DeletionTimestamp.IsZero():
		return Releasing
	case o.Ownership == OwnForeign:
		return Foreign
	case o.RecordErr != nil:
		return Unreadable
	case o.SecretDeleting:
		return Evicted
	case o.Ownership == OwnRetained:
		return Retained
	case o.Ownership == OwnNone && o.Stored != nil:
		return InStore
	case heldFor(o):
		return Held
	case o.Pending != "" && o.Active == "":
		return Associating
	case o.Pending != "":
		return Rotating
	case o.Active == "":
		return NoSeed
	case r.Seed.Fingerprint != o.Active || !r.HasIdentity():
		return Unproven
	case r.Associating():
		return Unresolved
	}
	return Active
}

// heldFor says the staged seed is the one Cognito verified for these
// inputs: anything changed while it waited, and it is proven again.
func heldFor(o *Observation) bool {
	v := o.Record.Pending.Verified
	return o.Pending != "" && v != nil && v.Fingerprint == o.Pending && o.Record.HasIdentity() && v.Inputs == o.In.Hash
}
