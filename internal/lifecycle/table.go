package lifecycle

// The transitions table: for every (phase, event), the action it leads to,
// or why the pair cannot happen. TestTableIsComplete checks that every pair
// is one or the other; TestReachable samples observations and checks that
// every pair the table calls possible is reached and none it calls
// impossible is; the property harness fails on any impossible pair the
// controller meets. Read it by event: the rows follow the order in which
// the triggers are tried, so a row says what an event means in each phase.

// entry is one cell: an action, or the reason none is possible.
type entry struct {
	do         *action
	impossible string
}

type row struct {
	events []Event
	phases []Phase
	do     *action
	// impossible is the reason, when do is nil.
	impossible string
}

var (
	live = []Phase{Foreign, Unreadable, Evicted, Retained, InStore, Held, Associating, Rotating, NoSeed, Unresolved, Unproven, Active}
	// ours are the live phases whose Secret the enrollment may write.
	ours = []Phase{Retained, Held, Associating, Rotating, NoSeed, Unresolved, Unproven, Active}
	// stored are the phases with a seed the record names a user for, or may.
	stored   = []Phase{Unresolved, Unproven, Active}
	staged   = []Phase{Associating, Rotating}
	signedIn = []Phase{Retained, Associating, Rotating, NoSeed, Unresolved, Unproven, Active}

	laterEvents = []Event{RotationDue, SpecChanged, SignInChanged, ClaimTaken, ClaimMissing, Observed}
	recordDrift = []Event{SpecChanged, SignInChanged, ClaimTaken, ClaimMissing}
	gateEvents  = []Event{InputsMissing, InputsInvalid, StepEndingSoon}
	// results starts with OtherUser, which a deletion's sign-in shows too.
	results = []Event{OtherUser, UnattributedSeedRefused, SetupViaOtherClient, ClaimedElsewhere, PendingAccepted,
		ActiveAccepted, ActiveAcceptedRotationPlan, OwnAssociationUnverifiable, TokenNotOurs, NoToken}
	deletionEvents = []Event{DisableDue, DisableTimedOut, DisableTimedOutLeaving, ReleaseDue, ReleaseLeaving, NothingOwned,
		NoFactor, SetupUnproven, SeedRefused, SeedAnswered, DisableRefused, StillChallenged, ConfirmedOff, OffUnconfirmed}
)

func one(e Event) []Event   { return []Event{e} }
func ph(p ...Phase) []Phase { return p }

var rows = []row{
	// Policies that hold before anything is read of the Secret.
	{one(PoolRefRequired), live, stallPoolRef, ""},
	{one(NamespaceRefused), live, stallNamespace, ""},
	// A Secret that is not the enrollment's is never touched, whatever else holds.
	{[]Event{TemplateInvalid, StalledUnchanged, RetryNotDue, HoldRunning, HoldOver, RotationDue, SpecChanged, SignInChanged,
		ClaimTaken, ClaimMissing, Observed}, ph(Foreign), stallSecretConflict, ""},
	{one(PoolChanged), ph(Foreign), nil, "PoolChanged is never detected for a Secret that is not the enrollment's"},
	// An unreadable record counts as empty: its spec hash never matches.
	{[]Event{TemplateInvalid, StalledUnchanged, RetryNotDue, RotationDue, SpecChanged}, ph(Unreadable), stallUnreadable, ""},
	{[]Event{PoolChanged, HoldRunning, HoldOver}, ph(Unreadable), nil, "an unreadable record names no user and no hold"},
	// A Secret being deleted is left to the seed store's guardian, which
	// keeps its seed; the enrollment waits for it to come back.
	{[]Event{TemplateInvalid, StalledUnchanged, RetryNotDue, PoolChanged, HoldRunning, HoldOver, RotationDue, SpecChanged,
		SignInChanged, ClaimTaken, ClaimMissing, Observed}, ph(Evicted), waitEvicted, ""},
	{gateEvents, ph(Evicted), nil, "no plan of this phase signs in"},
	{results, ph(Evicted), nil, "no plan of this phase signs in"},
	// A seed the store keeps for this enrollment is written back, then adopted.
	{one(TemplateInvalid), ph(InStore), stallTemplate, ""},
	{one(StalledUnchanged), ph(InStore), stallRepeat, ""},
	{one(RetryNotDue), ph(InStore), backoff, ""},
	{[]Event{RotationDue, SpecChanged}, ph(InStore), restore, ""},
	{[]Event{SignInChanged, ClaimTaken, ClaimMissing, Observed}, ph(InStore), nil,
		"with no Secret there is no spec hash, so SpecChanged always holds first"},
	{[]Event{PoolChanged, HoldRunning, HoldOver}, ph(InStore), nil, "no Secret, so no record names a pool or a hold"},
	{gateEvents, ph(InStore), nil, "restoring from the store signs in to nothing"},
	{results, ph(InStore), nil, "restoring from the store signs in to nothing"},
	{[]Event{SignInChanged, ClaimTaken, ClaimMissing, Observed}, ph(Unreadable), nil,
		"an unreadable record has no spec hash, so SpecChanged always holds first"},

	{one(TemplateInvalid), ours, stallTemplate, ""},
	{one(StalledUnchanged), ours, stallRepeat, ""},
	{one(RetryNotDue), ours, backoff, ""},

	{one(PoolChanged), ph(Retained, Held, Associating, Rotating, Unresolved, Unproven, Active), stallPoolChanged, ""},
	{one(PoolChanged), ph(NoSeed), nil, "PoolChanged needs a stored seed"},

	// A retained Secret is adopted once its seed is proven, whatever it holds.
	{[]Event{HoldRunning, HoldOver, RotationDue, SpecChanged, SignInChanged, ClaimTaken, ClaimMissing, Observed}, ph(Retained), adopt, ""},

	{one(HoldRunning), ph(Held), waitForStep, ""},
	{one(HoldOver), ph(Held), promoteOK, ""},
	{[]Event{HoldRunning, HoldOver}, ph(Associating, Rotating, NoSeed, Unresolved, Unproven, Active), nil,
		"a verified hold of these inputs is the Held phase"},
	{laterEvents, ph(Held), nil, "a Held enrollment always shows HoldRunning or HoldOver, which are tried first"},

	// A staged seed is proven before anything else; an absent one enrolled.
	{laterEvents, staged, resume, ""},
	{laterEvents, ph(NoSeed), enroll, ""},
	// A rotation proves the stored seed and records everything anew, so it
	// covers record drift; the other way round it would be dropped.
	{one(RotationDue), stored, rotate, ""},
	{recordDrift, stored, repair, ""},
	{one(Observed), ph(Unresolved, Unproven), repair, ""},
	{one(Observed), ph(Active), upToDate, ""},

	// Gates of a plan that signs in: complete inputs, and a quiet moment of
	// the TOTP step when a stored seed is proven.
	{one(InputsMissing), signedIn, gateWait, ""},
	{one(InputsInvalid), signedIn, gateStall, ""},
	{one(StepEndingSoon), ph(Retained, Associating, Rotating, Unresolved, Unproven, Active), pause, ""},
	{one(StepEndingSoon), ph(NoSeed), nil, "no stored seed is proven, so no step can end too soon"},
	{gateEvents, ph(Foreign, Unreadable, Held), nil, "no plan of this phase signs in"},

	// What the sign-in showed.
	{one(OtherUser), ph(Retained, Associating, Rotating, Unresolved, Unproven, Active), stallOtherUser, ""},
	{one(OtherUser), ph(NoSeed), nil, "another user is another identity than the stored seed's: there is none"},
	{one(UnattributedSeedRefused), ph(Retained, Associating, Rotating, Unproven), stallUnattributed, ""},
	{one(UnattributedSeedRefused), ph(NoSeed), nil, "no seed is stored"},
	{one(UnattributedSeedRefused), ph(Unresolved, Active), nil, "the record names the seed's user in this phase"},
	{one(SetupViaOtherClient), ph(Retained, Rotating, Unresolved, Unproven, Active, Associating), stallSetupOtherClient, ""},
	{one(SetupViaOtherClient), ph(NoSeed), nil, "no seed is stored to have come through a client"},
	{one(ClaimedElsewhere), signedIn, stallDuplicate, ""},
	{one(PendingAccepted), ph(Retained, Associating, Rotating), promote, ""},
	{one(PendingAccepted), ph(NoSeed, Unresolved, Unproven, Active), nil, "no seed is staged"},
	{one(ActiveAccepted), ph(Retained, Rotating, Unresolved, Unproven, Active), keep, ""},
	{one(ActiveAccepted), ph(Associating, NoSeed), nil, "no seed is stored under the secret key"},
	{one(ActiveAcceptedRotationPlan), stored, associate, ""},
	{one(ActiveAcceptedRotationPlan), ph(Retained, Associating, Rotating, NoSeed), nil, "this phase never plans a rotation"},
	{one(OwnAssociationUnverifiable), ph(Retained, Associating, Rotating, NoSeed, Unresolved, Unproven), associate, ""},
	{one(OwnAssociationUnverifiable), ph(Active), nil, "an Active record has no association in flight"},
	{one(TokenNotOurs), signedIn, stallAlreadyEnrolled, ""},
	{one(NoToken), signedIn, associate, ""},
	{results, ph(Foreign, Unreadable, Held), nil, "no plan of this phase signs in"},

	// Deletion is decided in the Releasing phase alone.
	{deletionEvents, live, nil, "only an enrollment being deleted carries out its deletion policy"},
	{[]Event{TemplateInvalid, PoolChanged, HoldRunning, HoldOver, RotationDue, SpecChanged, SignInChanged,
		ClaimTaken, ClaimMissing, Observed}, ph(Releasing), nil, "a deletion is decided by its policy, not by the triggers of a live enrollment"},
	{one(StalledUnchanged), ph(Releasing), holdUntilTimeout, ""},
	{one(RetryNotDue), ph(Releasing), backoff, ""},
	{one(StepEndingSoon), ph(Releasing), nil, "Disable does not wait for the step: its proof is the sign-in it must make anyway"},
	{results[1:], ph(Releasing), nil, "a deletion's sign-in shows the deletion results"},
	{one(DisableDue), ph(Releasing), disable, ""},
	{one(DisableTimedOut), ph(Releasing), abandon, ""},
	{one(DisableTimedOutLeaving), ph(Releasing), abandonToStore, ""},
	{one(ReleaseDue), ph(Releasing), release, ""},
	{one(ReleaseLeaving), ph(Releasing), storeRetained, ""},
	{one(NothingOwned), ph(Releasing), forget, ""},
	// Disable signs in with the pool's policies and complete inputs.
	{one(PoolRefRequired), ph(Releasing), stallPoolRef, ""},
	{one(NamespaceRefused), ph(Releasing), stallNamespace, ""},
	{[]Event{InputsMissing, InputsInvalid}, ph(Releasing), gateOut, ""},
	{one(NoFactor), ph(Releasing), deleteIt, ""},
	{one(SetupUnproven), ph(Releasing), retrySetupUnproven, ""},
	{one(OtherUser), ph(Releasing), stallDisableOtherUser, ""},
	{one(SeedRefused), ph(Releasing), retrySeedRefused, ""},
	{one(SeedAnswered), ph(Releasing), turnOff, ""},
	{one(DisableRefused), ph(Releasing), stallDisableRefused, ""},
	{one(StillChallenged), ph(Releasing), stallStillChallenged, ""},
	{one(ConfirmedOff), ph(Releasing), storeDormant, ""},
	{one(OffUnconfirmed), ph(Releasing), storeUnconfirm, ""},
}

// table is rows by phase and event; a pair two rows claim is a bug the
// completeness test reports.
var table, overlaps = build(rows)

func build(rows []row) (map[Phase]map[Event]entry, []string) {
	t := map[Phase]map[Event]entry{}
	var dup []string
	for _, r := range rows {
		for _, p := range r.phases {
			if t[p] == nil {
				t[p] = map[Event]entry{}
			}
			for _, e := range r.events {
				if _, ok := t[p][e]; ok {
					dup = append(dup, string(p)+"×"+string(e))
				}
				t[p][e] = entry{do: r.do, impossible: r.impossible}
			}
		}
	}
	return t, dup
}
