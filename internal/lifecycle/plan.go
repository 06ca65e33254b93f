package lifecycle

import "time"

// Plan names what a reconcile sets out to do.
type Plan string

const (
	// PlanUpToDate: the Secret records a proven seed for these inputs;
	// nothing is asked of Cognito, at most metadata is repaired.
	PlanUpToDate Plan = "UpToDate"
	// PlanWait: a referenced object is missing; it is watched.
	PlanWait Plan = "Wait"
	// PlanStall: a terminal problem no Cognito call can fix.
	PlanStall Plan = "Stall"
	// PlanBackoff: an earlier attempt failed and its retry time has not
	// come, or the TOTP step ends too soon to prove a stored seed quietly.
	PlanBackoff Plan = "BackingOff"
	// PlanEnroll: no seed is stored; enroll the user.
	PlanEnroll Plan = "Enroll"
	// PlanResumePending: a staged seed may have been verified before a
	// crash or a lost reply; prove it before anything else.
	PlanResumePending Plan = "ResumePending"
	// PlanRotate: replace a working seed with a new one.
	PlanRotate Plan = "Rotate"
	// PlanRepair: a stored seed exists but its record does not match the
	// inputs (a spec change that needs Cognito, a new sign-in name, a
	// Secret written by an earlier version); prove it, then re-record it.
	PlanRepair Plan = "Repair"
	// PlanPromoteVerified: Cognito verified the staged seed and the step of
	// the code the operator used has passed: promote it, no Cognito call.
	PlanPromoteVerified Plan = "PromoteVerified"
	// PlanWaitForStep: the staged seed is verified; wait (by requeue) for
	// the step of the operator's code to pass before consumers see it.
	PlanWaitForStep Plan = "WaitForStep"
	// PlanAdopt: take over a Secret retained by an earlier enrollment of
	// this name, once Cognito proves its seed.
	PlanAdopt Plan = "Adopt"
	// PlanRestore: write the seed the store keeps for this enrollment back
	// into its namespace, as a retained Secret that the next reconcile
	// adopts. No Cognito call.
	PlanRestore Plan = "Restore"

	// PlanDisable: sign in and turn software-token MFA off, then delete the Secret.
	PlanDisable Plan = "Disable"
	// PlanRelease: keep the Secret, released, and the user's MFA (Retain).
	PlanRelease Plan = "Release"
	// PlanAbandon: Disable did not succeed within the deletion timeout; keep
	// the Secret as Retain does, with a Warning.
	PlanAbandon Plan = "Abandon"
	// PlanAbandonToStore: as PlanAbandon, where the seed cannot stay: it is
	// kept in the seed store, retained.
	PlanAbandonToStore Plan = "AbandonToStore"
	// PlanStoreRetained: Retain where the seed cannot stay in the namespace:
	// it is kept in the seed store, retained.
	PlanStoreRetained Plan = "StoreRetained"
	// PlanForget: nothing of the enrollment's to keep or delete.
	PlanForget Plan = "Forget"

	// PlanImpossible: the table calls the observed pair impossible. Nothing
	// is done; the outcome is a retryable failure, backed off.
	PlanImpossible Plan = "Impossible"
)

// SignsIn says the plan asks Cognito.
func (p Plan) SignsIn() bool {
	switch p {
	case PlanEnroll, PlanResumePending, PlanRotate, PlanRepair, PlanAdopt, PlanDisable:
		return true
	}
	return false
}

// Step is what a plan that signed in does once Cognito has been heard.
type Step string

const (
	// StepAssociate: associate a new token (enroll or rotate).
	StepAssociate Step = "Associate"
	// StepPromote: the staged seed is the user's token; promote it.
	StepPromote Step = "Promote"
	// StepKeep: the stored secret is the user's token; re-apply the
	// preference and re-record it.
	StepKeep Step = "Keep"
	// StepTurnOff: turn software-token MFA off and confirm it (Disable).
	StepTurnOff Step = "TurnOff"
	// StepDeleteSeed: Cognito proved the user has no factor at all: the
	// stored seed is no one's token; delete the Secret and any stored copy.
	StepDeleteSeed Step = "DeleteSeed"
	// StepStoreDormant: TOTP is off, confirmed; Cognito keeps the
	// registration, so the seed goes to the store as dormant, then the
	// Secret is deleted.
	StepStoreDormant Step = "StoreDormant"
	// StepStoreUnconfirmed: TOTP was turned off with an access token, and
	// GetUser is no witness of it (where MFA is required it lists nothing
	// while sign-in still asks): the seed goes to the store as retained,
	// then the Secret is deleted.
	StepStoreUnconfirmed Step = "StoreUnconfirmed"
)

// Transition is what the table says for the (phase, event) a reconcile
// observed: the plan (for a trigger or a gate) or the step (for what a
// sign-in showed), and, when it stops short of its work, the outcome.
type Transition struct {
	Phase Phase
	Event Event
	Plan  Plan
	Step  Step
	// Err is the outcome of a plan or step that stops (a stall, a wait, a
	// backoff); nil when the work goes on.
	Err error
	// RetryIn is when a backoff comes back.
	RetryIn time.Duration
	// Why explains the choice, for the log.
	Why string
	// Impossible is set when the table calls the pair impossible: a bug,
	// never a way to skip work. The transition then retries with backoff.
	Impossible string
}
