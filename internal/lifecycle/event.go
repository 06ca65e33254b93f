package lifecycle

import (
	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/conditions"
)

// Event is what a reconcile observes, beyond the phase: a trigger seen in
// the observation, a gate met before signing in, or what a sign-in showed.
type Event string

// Triggers, seen in the observation; DetectTrigger tries them in this order
// and the first that holds is the event.
const (
	PoolRefRequired  Event = "PoolRefRequired"  // --require-user-pool-ref and an inline pool
	NamespaceRefused Event = "NamespaceRefused" // the ClusterUserPool does not allow the namespace
	TemplateInvalid  Event = "TemplateInvalid"  // spec.secretTemplate the API server would refuse
	StalledUnchanged Event = "StalledUnchanged" // stalled on these very inputs already
	RetryNotDue      Event = "RetryNotDue"      // a failed attempt's retry time has not come
	PoolChanged      Event = "PoolChanged"      // the spec names another pool than the stored seed's
	HoldRunning      Event = "HoldRunning"      // the verified seed's code step has not passed
	HoldOver         Event = "HoldOver"         // the verified seed's code step has passed
	RotationDue      Event = "RotationDue"      // a rotate request or the interval asks for a new seed
	SpecChanged      Event = "SpecChanged"      // a spec field that needs Cognito changed
	SignInChanged    Event = "SignInChanged"    // the credentials sign in under another name than recorded
	ClaimTaken       Event = "ClaimTaken"       // another enrollment claims the recorded user
	ClaimMissing     Event = "ClaimMissing"     // the claim on the recorded user is missing
	Observed         Event = "Observed"         // nothing beyond the phase
)

// Gates, met by a plan that would sign in: it waits for complete inputs and
// for a quiet moment of the TOTP step.
const (
	InputsMissing  Event = "InputsMissing"  // a referenced object is missing (watched)
	InputsInvalid  Event = "InputsInvalid"  // a referenced Secret lacks a key
	StepEndingSoon Event = "StepEndingSoon" // a stored seed's proof would race the step's end
)

// Results, what signing in showed (AfterSignIn derives them from a View).
const (
	OtherUser                  Event = "OtherUser"                  // the inputs sign in as another user than the seeds'
	UnattributedSeedRefused    Event = "UnattributedSeedRefused"    // a seed with no recorded user, not accepted
	SetupViaOtherClient        Event = "SetupViaOtherClient"        // MFA_SETUP through another client than the seed's
	ClaimedElsewhere           Event = "ClaimedElsewhere"           // another enrollment holds the user, no seed proven
	PendingAccepted            Event = "PendingAccepted"            // Cognito accepted the staged seed
	ActiveAccepted             Event = "ActiveAccepted"             // Cognito accepted the stored seed
	ActiveAcceptedRotationPlan Event = "ActiveAcceptedRotationPlan" // ...and the plan is to rotate it
	OwnAssociationUnverifiable Event = "OwnAssociationUnverifiable" // only VerifySoftwareToken could ask, after the operator's own association
	TokenNotOurs               Event = "TokenNotOurs"               // the user has a token no stored seed answers
	NoToken                    Event = "NoToken"                    // no token shows: a new one may be associated
)

// Deletion: what the enrollment's deletion policy asks, then what the
// Disable sign-in and the confirmation showed.
const (
	DisableDue             Event = "DisableDue"             // deletionPolicy Disable, a seed of the enrollment's, within the timeout
	DisableTimedOut        Event = "DisableTimedOut"        // deletionPolicy Disable, the timeout ran out; the seed may stay where it is
	DisableTimedOutLeaving Event = "DisableTimedOutLeaving" // ...and the seed cannot stay in the namespace
	ReleaseDue             Event = "ReleaseDue"             // deletionPolicy Retain (or nothing to disable): the Secret stays, released
	ReleaseLeaving         Event = "ReleaseLeaving"         // ...and the seed cannot stay in the namespace
	NothingOwned           Event = "NothingOwned"           // no seed of this enrollment's anywhere
	NoFactor               Event = "NoFactor"               // MFA_SETUP for the very user and client the record names: no factor at all
	SetupUnproven          Event = "SetupUnproven"          // MFA_SETUP, but the sign-in did not prove the record's identity
	SeedRefused            Event = "SeedRefused"            // the user has a token the stored seeds did not answer
	SeedAnswered           Event = "SeedAnswered"           // TOTP can be turned off
	DisableRefused         Event = "DisableRefused"         // Cognito refused to turn TOTP off
	StillChallenged        Event = "StillChallenged"        // Cognito answered, and still challenges for TOTP
	ConfirmedOff           Event = "ConfirmedOff"           // no TOTP challenge after turning it off
	OffUnconfirmed         Event = "OffUnconfirmed"         // TOTP turned off with an access token: no sign-in can confirm it
)

// Events lists every event.
var Events = []Event{PoolRefRequired, NamespaceRefused, TemplateInvalid, StalledUnchanged, RetryNotDue, PoolChanged,
	HoldRunning, HoldOver, RotationDue, SpecChanged, SignInChanged, ClaimTaken, ClaimMissing, Observed,
	InputsMissing, InputsInvalid, StepEndingSoon,
	OtherUser, UnattributedSeedRefused, SetupViaOtherClient, ClaimedElsewhere, PendingAccepted, ActiveAccepted,
	ActiveAcceptedRotationPlan, OwnAssociationUnverifiable, TokenNotOurs, NoToken,
	DisableDue, DisableTimedOut, DisableTimedOutLeaving, ReleaseDue, ReleaseLeaving, NothingOwned, NoFactor, SetupUnproven,
	SeedRefused, SeedAnswered, DisableRefused, StillChallenged, ConfirmedOff, OffUnconfirmed}

// trigger is one check of the observation: it holds, or not.
type trigger struct {
	event Event
	holds func(o *Observation) bool
}

// triggers are tried in order: the first that holds is the event.
var triggers = []trigger{
	{PoolRefRequired, func(o *Observation) bool { return o.RequireUserPoolRef && o.Enrollment.Spec.UserPoolRef == nil }},
	{NamespaceRefused, func(o *Observation) bool {
		return o.Pool != nil && !NamespaceAllowed(o.Pool.Spec.AllowedNamespaces, o.Enrollment.Namespace, o.NamespaceLabels)
	}},
	{TemplateInvalid, func(o *Observation) bool { return len(TemplateProblems(o.Enrollment.Spec.SecretTemplate)) > 0 }},
	{StalledUnchanged, stalledUnchanged},
	{RetryNotDue, retryNotDue},
	{PoolChanged, func(o *Observation) bool {
		now := o.In.Pool.ID
		return o.Ownership != OwnForeign && o.Record.HasIdentity() && now != "" && o.Record.Identity.Pool != now && o.HasSeed()
	}},
	{HoldRunning, func(o *Observation) bool { return heldFor(o) && o.Now.Before(o.Record.Pending.Verified.Until) }},
	{HoldOver, heldFor},
	{RotationDue, (*Observation).RotationDue},
	{SpecChanged, func(o *Observation) bool { return o.Record.Seed.Spec != SpecHash(o.Enrollment, o.In.Pool) }},
	{SignInChanged, func(o *Observation) bool { return !o.SignInMatchesRecord() }},
	{ClaimTaken, func(o *Observation) bool { return o.Claim.Kind == ClaimOther }},
	// A claim is taken only after Cognito proves the seed: a Secret a tenant
	// wrote by hand must not let it claim another tenant's user.
	{ClaimMissing, func(o *Observation) bool { return o.Claim.Kind == ClaimFree }},
}

// DetectTrigger is the first trigger the observation shows, or Observed.
func DetectTrigger(o *Observation) Event {
	for _, t := range triggers {
		if t.holds(o) {
			return t.event
		}
	}
	return Observed
}

// stalledUnchanged: a terminal failure is repeated without calling Cognito
// until the spec or a referenced Secret's contents change.
func stalledUnchanged(o *Observation) bool {
	st := &o.Enrollment.Status
	c := conditions.Get(st.Conditions, v1alpha1.ConditionStalled)
	if c == nil || c.Status != "True" || st.ObservedGeneration != o.Enrollment.Generation || st.InputsFingerprint != o.In.Hash ||
		locallyDerived[c.Reason] {
		return false
	}
	if info, _ := v1alpha1.LookupReason(c.Reason); info.Rechecked && st.LastFailureTime != nil &&
		!o.Now.Before(st.LastFailureTime.Add(o.Recheck)) {
		return false // fixed elsewhere (the other enrollment gone, the trigger fixed): sign in and look again
	}
	return true
}

// locallyDerived are stalls the machine derives afresh from the observation
// on every reconcile, at no cost: they lift as soon as their cause goes.
var locallyDerived = map[string]bool{v1alpha1.ReasonSecretConflict: true, v1alpha1.ReasonInvalidSpec: true,
	v1alpha1.ReasonUserPoolRefRequired: true, v1alpha1.ReasonNamespaceNotAllowed: true, v1alpha1.ReasonRecordUnreadable: true}

// retryNotDue holds every trigger (a watch event, the operator's own
// writes) until the recorded retry time, unless the inputs changed: after a
// failure, and while the user's code budget is spent (a wait that only time
// ends).
func retryNotDue(o *Observation) bool {
	st := &o.Enrollment.Status
	c := conditions.Get(st.Conditions, v1alpha1.ConditionReconciling)
	held := st.FailedAttempts > 0 || c != nil && c.Status == "True" && c.Reason == v1alpha1.ReasonCodeBudget
	return held && st.NextAttemptTime != nil && st.InputsFingerprint == o.In.Hash &&
		st.ObservedGeneration == o.Enrollment.Generation && o.Now.Before(st.NextAttemptTime.Time)
}
