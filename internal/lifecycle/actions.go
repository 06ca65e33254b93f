package lifecycle

import (
	"fmt"
	"strings"
	"time"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/conditions"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/totp"
)

// action is what a transition does: a plan or a step, and, for one that
// stops short, the outcome it reports. Actions are named so that the table
// reads as a list of rules.
type action struct {
	plan Plan
	step Step
	why  string
	// reason is the condition reason of an action that stops, for the
	// rendered table (docs/transitions.md); "" when it depends on the status.
	reason string
	// out builds the outcome, when the action stops; retryIn, when it pauses.
	out     func(o *Observation, v *View) error
	retryIn func(o *Observation) time.Duration
}

func stallWith(reason string, msg func(o *Observation, v *View) string) func(*Observation, *View) error {
	return func(o *Observation, v *View) error { return Stall(reason, msg(o, v)) }
}

var (
	upToDate  = &action{plan: PlanUpToDate, why: "the Secret records a proven seed for these inputs"}
	enroll    = &action{plan: PlanEnroll, why: "no seed is stored"}
	resume    = &action{plan: PlanResumePending, why: "a staged seed may already be verified"}
	rotate    = &action{plan: PlanRotate, why: "a rotation is due"}
	repair    = &action{plan: PlanRepair, why: "the record does not vouch for the stored seed and these inputs"}
	adopt     = &action{plan: PlanAdopt, why: "a Secret retained by an earlier enrollment of this name"}
	promoteOK = &action{plan: PlanPromoteVerified, why: "the verified seed's code step has passed"}

	waitForStep = &action{plan: PlanWaitForStep, reason: v1alpha1.ReasonProgressing, why: "the verified seed waits for its code's step to pass",
		out: func(o *Observation, _ *View) error {
			return WaitFor(v1alpha1.ReasonProgressing, holdMessage, o.Record.Pending.Verified.Until.Sub(o.Now))
		}}

	stallPoolRef = &action{plan: PlanStall, why: "an inline pool is refused", reason: v1alpha1.ReasonUserPoolRefRequired, out: stallWith(v1alpha1.ReasonUserPoolRefRequired,
		func(*Observation, *View) string {
			return "the manager requires spec.userPoolRef (--require-user-pool-ref): an enrollment may not name its own user pool and app client; nothing is sent to Cognito"
		})}
	stallNamespace = &action{plan: PlanStall, why: "the pool does not allow the namespace", reason: v1alpha1.ReasonNamespaceNotAllowed, out: stallWith(v1alpha1.ReasonNamespaceNotAllowed,
		func(o *Observation, _ *View) string {
			return fmt.Sprintf("ClusterUserPool %q does not allow namespace %q (spec.allowedNamespaces); nothing is sent to Cognito",
				o.Pool.Name, o.Enrollment.Namespace)
		})}
	stallSecretConflict = &action{plan: PlanStall, why: "the Secret is not this enrollment's", reason: v1alpha1.ReasonSecretConflict, out: stallWith(v1alpha1.ReasonSecretConflict,
		func(o *Observation, _ *View) string {
			if from := o.Record.RetainedFrom; from != "" {
				return fmt.Sprintf("Secret %q was retained by the deleted enrollment %q and may hold the seed a user still signs in with: it is left untouched; re-create that enrollment to adopt it, or choose another spec.secretName",
					o.SecretName, from)
			}
			return fmt.Sprintf("Secret %q exists and is not managed by this enrollment: it is left untouched; choose another spec.secretName (secretName is immutable: re-create the enrollment)", o.SecretName)
		})}
	stallUnreadable = &action{plan: PlanStall, why: "the Secret's record cannot be read", reason: v1alpha1.ReasonRecordUnreadable, out: stallWith(v1alpha1.ReasonRecordUnreadable,
		func(o *Observation, _ *View) string {
			return fmt.Sprintf("Secret %q: %v; nothing is changed. If a newer release wrote it, upgrade again; if it was edited, delete the annotation %s and the operator proves the stored seed again",
				o.SecretName, o.RecordErr, v1alpha1.AnnotationRecord)
		})}
	stallTemplate = &action{plan: PlanStall, why: "the secretTemplate is invalid", reason: v1alpha1.ReasonInvalidSpec, out: stallWith(v1alpha1.ReasonInvalidSpec,
		func(o *Observation, _ *View) string {
			return "spec.secretTemplate: " + strings.Join(TemplateProblems(o.Enrollment.Spec.SecretTemplate), "; ")
		})}
	stallRepeat = &action{plan: PlanStall, why: "stalled on these inputs already", out: func(o *Observation, _ *View) error {
		c := conditions.Get(o.Enrollment.Status.Conditions, v1alpha1.ConditionStalled)
		return Stall(c.Reason, c.Message)
	}}
	backoff = &action{plan: PlanBackoff, why: "waiting for the retry time", out: func(o *Observation, _ *View) error {
		reason, msg := v1alpha1.ReasonProgressing, "retrying"
		for _, t := range []string{v1alpha1.ConditionReconciling, v1alpha1.ConditionRotationFailed, v1alpha1.ConditionReady} {
			if c := conditions.Get(o.Enrollment.Status.Conditions, t); c != nil && c.Status == "True" && c.Reason != v1alpha1.ReasonEnrolled {
				reason, msg = c.Reason, c.Message
				break
			}
		}
		return Retry(reason, msg)
	}, retryIn: func(o *Observation) time.Duration { return o.Enrollment.Status.NextAttemptTime.Sub(o.Now) }}
	// stallPoolChanged refuses to use a seed recorded for another pool: the
	// new pool is another identity, and its seed would overwrite the first
	// user's.
	stallPoolChanged = &action{plan: PlanStall, why: "the spec names another pool", reason: v1alpha1.ReasonIdentityChanged, out: stallWith(v1alpha1.ReasonIdentityChanged,
		func(o *Observation, _ *View) string { return identityChangedMessage(o, Identity{Pool: o.In.Pool.ID}) })}

	gateWait  = &action{plan: PlanWait, why: "a referenced object is missing", out: func(o *Observation, _ *View) error { return o.In.Err }}
	gateStall = &action{plan: PlanStall, why: "a referenced Secret is invalid", out: func(o *Observation, _ *View) error { return o.In.Err }}
	// A pause of a few seconds, like a backoff: no status change, no Event.
	// Until Cognito's step ends: the gate reads that clock too, or a skewed
	// manager would wake in the same window again and again.
	pause = &action{plan: PlanBackoff, why: "the TOTP step ends too soon to prove a stored seed quietly",
		retryIn: func(o *Observation) time.Duration { return totp.Remaining(o.stepNow()) + 50*time.Millisecond }}

	associate = &action{step: StepAssociate, why: "associate a new token"}
	promote   = &action{step: StepPromote, why: "the staged seed is the user's token"}
	keep      = &action{step: StepKeep, why: "the stored seed is the user's token"}

	stallOtherUser = &action{why: "the inputs sign in as another user", reason: v1alpha1.ReasonIdentityChanged, out: stallWith(v1alpha1.ReasonIdentityChanged,
		func(o *Observation, v *View) string { return identityChangedMessage(o, v.ID) })}
	stallUnattributed = &action{why: "a seed with no recorded user is not accepted", reason: v1alpha1.ReasonIdentityChanged, out: stallWith(v1alpha1.ReasonIdentityChanged,
		func(o *Observation, v *View) string {
			return fmt.Sprintf("Secret %q holds a seed with no recorded user (written by an earlier version, or edited) and Cognito does not accept it for %s: "+
				"the operator will not enroll a user it cannot tie to the stored seed; restore the credentials it was enrolled with, or "+
				"delete the seed from the Secret if it is no longer used", o.SecretName, v.ID)
		})}
	stallSetupOtherClient = &action{why: "MFA_SETUP through another client", reason: v1alpha1.ReasonIdentityChanged, out: stallWith(v1alpha1.ReasonIdentityChanged,
		func(o *Observation, _ *View) string {
			return fmt.Sprintf("signing in through app client %q shows a user with no MFA, while Secret %q holds a seed made through another client: "+
				"the operator cannot tell whether this is the same pool; go back to the previous client, or enroll the user with a new enrollment",
				o.In.Pool.ClientID, o.SecretName)
		})}
	stallDuplicate = &action{why: "another enrollment holds the user", reason: v1alpha1.ReasonDuplicateEnrollment, out: stallWith(v1alpha1.ReasonDuplicateEnrollment,
		func(o *Observation, v *View) string {
			if v.Claim.Holder.Namespace == o.Enrollment.Namespace {
				return fmt.Sprintf("enrollment %q already enrolls this user; only one may: delete one of them", v.Claim.Holder.Name)
			}
			return "another enrollment in a different namespace already enrolls this user; only one may"
		})}
	stallAlreadyEnrolled = &action{why: "a token no stored seed answers", reason: v1alpha1.ReasonAlreadyEnrolled, out: stallWith(v1alpha1.ReasonAlreadyEnrolled,
		func(o *Observation, v *View) string {
			if !o.HasSeed() {
				return fmt.Sprintf(
					"%s already has a software token and Secret %q holds no seed for it: the operator will not replace a token it cannot prove; "+
						"if nobody uses that token, an administrator must reset the user's MFA", v.ID, o.SecretName)
			}
			return fmt.Sprintf(
				"%s has a software token that no seed in Secret %q answers (someone else replaced it, or the manager's clock is wrong): "+
					"the stored seeds are kept; an administrator must reset the user's MFA for the operator to enroll it again", v.ID, o.SecretName)
		})}

	waitEvicted = &action{plan: PlanWait, reason: v1alpha1.ReasonSecretDeleting, why: "the Secret is being deleted",
		out: func(o *Observation, _ *View) error {
			return Wait(v1alpha1.ReasonSecretDeleting, fmt.Sprintf(
				"Secret %q is being deleted: its seed is kept in the operator's seed store and written back once the Secret is gone", o.SecretName))
		}}
	restore = &action{plan: PlanRestore, why: "the seed store keeps this enrollment's seed"}
	// The controller comes back at the deletion timeout at the latest.
	holdUntilTimeout = &action{plan: PlanBackoff, why: "Disable failed for good on these inputs: it waits for the deletion timeout, or new inputs"}

	disable        = &action{plan: PlanDisable, why: "deletionPolicy Disable"}
	release        = &action{plan: PlanRelease, why: "deletionPolicy Retain, or nothing to disable"}
	storeRetained  = &action{plan: PlanStoreRetained, why: "deletionPolicy Retain, and the seed cannot stay in the namespace"}
	abandon        = &action{plan: PlanAbandon, why: "Disable did not succeed within the deletion timeout"}
	abandonToStore = &action{plan: PlanAbandonToStore, why: "Disable did not succeed within the deletion timeout, and the seed cannot stay"}
	forget         = &action{plan: PlanForget, why: "no seed of this enrollment's anywhere"}
	gateOut        = &action{plan: PlanStall, why: "Disable cannot sign in", out: func(o *Observation, _ *View) error { return o.In.Err }}
	deleteIt       = &action{step: StepDeleteSeed, why: "Cognito proved the user has no factor: the seed is no one's token"}
	storeDormant   = &action{step: StepStoreDormant, why: "TOTP is off, confirmed; Cognito keeps the registration"}
	storeUnconfirm = &action{step: StepStoreUnconfirmed, why: "TOTP turned off with an access token: nothing can confirm it"}
	turnOff        = &action{step: StepTurnOff, why: "the stored seed answers: turn TOTP off"}

	// MFA_SETUP carries no pool: only the app client the record names, and
	// the user it names, make it proof that this user has no factor.
	retrySetupUnproven = &action{reason: v1alpha1.ReasonDisableUnconfirmed, why: "MFA_SETUP did not prove the recorded user",
		out: func(o *Observation, v *View) error {
			return Retry(v1alpha1.ReasonDisableUnconfirmed, fmt.Sprintf(
				"signing in through app client %q shows a user %q with no MFA, which does not prove the recorded %s has none: the seed is kept; after --deletion-timeout it is retained",
				o.In.Pool.ClientID, v.ID.User, o.Record.Identity))
		}}

	stallDisableOtherUser = &action{why: "the credentials sign in as another user", reason: v1alpha1.ReasonIdentityChanged, out: stallWith(v1alpha1.ReasonIdentityChanged,
		func(*Observation, *View) string {
			return "the credentials now sign in as another user; not turning that user's MFA off"
		})}
	// A rejected code proves nothing under clock skew, nor while an
	// association is pending (VerifySoftwareToken checks that one): keep
	// the seed; after the deletion timeout the Secret is retained.
	retrySeedRefused = &action{reason: v1alpha1.ReasonVerificationFailed, why: "the stored seed was not accepted", out: func(*Observation, *View) error {
		return Retry(v1alpha1.ReasonVerificationFailed,
			"Cognito did not accept the stored seed (clock skew, or an association pending): not turning MFA off, and keeping the Secret")
	}}
	stallDisableRefused = &action{why: "Cognito refuses to turn TOTP off", reason: v1alpha1.ReasonDisableRejected, out: stallWith(v1alpha1.ReasonDisableRejected,
		func(_ *Observation, v *View) string {
			return fmt.Sprintf(
				"Cognito refuses to turn software-token MFA off (does the user pool require MFA?): %s; the Secret is kept. After --deletion-timeout the operator falls back to Retain; set spec.deletionPolicy: Retain to delete the enrollment now and keep the Secret", v.Detail)
		})}
	stallStillChallenged = &action{why: "Cognito still challenges for TOTP", reason: v1alpha1.ReasonDisableRejected, out: stallWith(v1alpha1.ReasonDisableRejected,
		func(*Observation, *View) string {
			return "Cognito accepted turning software-token MFA off, but still challenges the user for it (the pool requires MFA); the Secret is kept. After --deletion-timeout the operator falls back to Retain; set spec.deletionPolicy: Retain to delete the enrollment now"
		})}
)

const holdMessage = "the new secret is verified; it is handed to consumers once the TOTP step the operator used has passed"

// HoldMessage is the Reconciling message while a verified seed is held.
func HoldMessage() string { return holdMessage }

func identityChangedMessage(o *Observation, now Identity) string {
	what := fmt.Sprintf("pool %q", now.Pool)
	if now.User != "" {
		what = now.String()
	}
	return fmt.Sprintf(
		"Secret %q holds the seed of %s, but the enrollment now signs in to %s; the stored seed is kept and nothing is enrolled. "+
			"To go back, restore the previous pool and credentials. To enroll the new user, set deletionPolicy Retain, delete this enrollment "+
			"(Secret %q stays with the first user's seed) and create a new one with another secretName",
		o.SecretName, o.Record.Identity, what, o.SecretName)
}
