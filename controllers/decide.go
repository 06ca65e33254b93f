package controllers

import (
	"fmt"
	"sort"
	"strings"
	"time"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/totp"
)

// planName names what a reconcile sets out to do.
type planName string

const (
	// planUpToDate: the Secret records a proven seed for these inputs;
	// nothing is asked of Cognito, at most metadata is repaired.
	planUpToDate planName = "UpToDate"
	// planWait: a referenced Secret is missing; it is watched.
	planWait planName = "Wait"
	// planStall: a terminal problem no Cognito call can fix.
	planStall planName = "Stall"
	// planBackoff: an earlier attempt failed and its retry time has not come.
	planBackoff planName = "BackingOff"
	// planEnroll: no seed is stored; enroll the user.
	planEnroll planName = "Enroll"
	// planResumePending: a staged seed may have been verified before a
	// crash or a lost reply; prove it before anything else.
	planResumePending planName = "ResumePending"
	// planRotate: replace a working seed with a new one.
	planRotate planName = "Rotate"
	// planRepair: a stored seed exists but its record does not match the
	// inputs (a spec change that needs Cognito, a new sign-in name, a
	// Secret written by an earlier version); prove it, then re-record it.
	planRepair planName = "Repair"
	// planPromoteVerified: Cognito verified the staged seed and the step of
	// the code the operator used has passed: promote it, no Cognito call.
	planPromoteVerified planName = "PromoteVerified"
	// planWaitForStep: the staged seed is verified; wait (by requeue) for
	// the step of the operator's code to pass before consumers see it.
	planWaitForStep planName = "WaitForStep"
	// planAdopt: take over a Secret retained by an earlier enrollment of
	// this name, once Cognito proves its seed.
	planAdopt planName = "Adopt"
)

// plan is decide's verdict: a name, and for the plans that stop short of
// Cognito the outcome to report.
type plan struct {
	name planName
	// why explains the choice, for the log.
	why string
	// err is the outcome of planWait, planStall and planBackoff.
	err error
	// retryIn is when planBackoff comes back.
	retryIn time.Duration
}

// needsCognito says the plan signs in.
func (p plan) needsCognito() bool {
	switch p.name {
	case planEnroll, planResumePending, planRotate, planRepair, planAdopt:
		return true
	}
	return false
}

// policy is one check of the chain: it fires with a plan, or returns nil.
type policy func(o *observation) *plan

// policies are checked in order; the first that fires decides. Nothing in
// the chain writes or calls out: it is a pure function of the observation.
var policies = []policy{
	inlinePoolRefused,
	namespaceNotAllowed,
	secretNotOurs,
	invalidTemplate,
	stalledOnSameInputs,
	backingOff,
	poolChanged,
	retainedSecret,
	verifiedPending,
	pendingSeed,
	noSeed,
	// A rotation proves the stored seed and records everything anew, so it
	// covers a record mismatch; the other way round it would be dropped.
	rotationRequested,
	recordMismatch,
}

// decide runs the chain. A plan that needs Cognito waits (or stalls) on
// incomplete inputs; one that does not goes ahead without them, so that a
// pruned credentials Secret does not make a working enrollment unready.
func decide(o *observation) plan {
	for _, p := range policies {
		if pl := p(o); pl != nil {
			if pl.needsCognito() {
				if in := incompleteInputs(o); in != nil {
					return *in
				}
				if w := stepEndingSoon(o); w != nil {
					return *w
				}
			}
			return *pl
		}
	}
	return plan{name: planUpToDate, why: "the Secret records a proven seed for these inputs"}
}

func stallPlan(reason, msg string) *plan {
	return &plan{name: planStall, why: reason, err: stall(reason, msg)}
}

// inlinePoolRefused enforces --require-user-pool-ref: a tenant who may
// choose the app client could send a password to one that hands it on.
func inlinePoolRefused(o *observation) *plan {
	if !o.requireUserPoolRef || o.ste.Spec.UserPoolRef != nil {
		return nil
	}
	return stallPlan(v1alpha1.ReasonUserPoolRefRequired,
		"the manager requires spec.userPoolRef (--require-user-pool-ref): an enrollment may not name its own user pool and app client; nothing is sent to Cognito")
}

// namespaceNotAllowed enforces the ClusterUserPool's allowedNamespaces.
func namespaceNotAllowed(o *observation) *plan {
	if o.pool == nil || namespaceAllowed(o.pool.Spec.AllowedNamespaces, o.ste.Namespace, o.nsLabels) {
		return nil
	}
	return stallPlan(v1alpha1.ReasonNamespaceNotAllowed, fmt.Sprintf(
		"ClusterUserPool %q does not allow namespace %q (spec.allowedNamespaces); nothing is sent to Cognito", o.pool.Name, o.ste.Namespace))
}

func secretNotOurs(o *observation) *plan {
	if o.ownership != ownForeign {
		return nil
	}
	name := o.target.Name
	if from := o.rec.retainedFrom; from != "" {
		return stallPlan(v1alpha1.ReasonSecretConflict, fmt.Sprintf(
			"Secret %q was retained by the deleted enrollment %q and may hold the seed a user still signs in with: it is left untouched; re-create that enrollment to adopt it, or choose another spec.secretName",
			name, from))
	}
	return stallPlan(v1alpha1.ReasonSecretConflict, fmt.Sprintf(
		"Secret %q exists and is not managed by this enrollment: it is left untouched; choose another spec.secretName (secretName is immutable: re-create the enrollment)", name))
}

func invalidTemplate(o *observation) *plan {
	t := o.ste.Spec.SecretTemplate
	if t == nil {
		return nil
	}
	var problems []string
	for _, k := range sortedKeys(t.Labels) {
		if isOperatorKey(k) {
			problems = append(problems, fmt.Sprintf("label %q is the operator's own", k))
		}
		for _, e := range validation.IsQualifiedName(k) {
			problems = append(problems, fmt.Sprintf("label key %q: %s", k, e))
		}
		for _, e := range validation.IsValidLabelValue(t.Labels[k]) {
			problems = append(problems, fmt.Sprintf("label %q value: %s", k, e))
		}
	}
	// The annotations' total size counts too: past the API server's limit
	// the Secret write would fail only after Cognito was asked (the margin
	// leaves room for the operator's own annotations).
	if size := apivalidation.TotalAnnotationSizeLimitB - templateAnnotationMargin; annotationsSize(t.Annotations) > size {
		problems = append(problems, fmt.Sprintf("annotations total more than %d bytes", size))
	}
	for _, k := range sortedKeys(t.Annotations) {
		if isOperatorKey(k) {
			problems = append(problems, fmt.Sprintf("annotation %q is the operator's own", k))
		}
		for _, e := range validation.IsQualifiedName(k) {
			problems = append(problems, fmt.Sprintf("annotation key %q: %s", k, e))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return stallPlan(v1alpha1.ReasonInvalidSpec, "spec.secretTemplate: "+strings.Join(problems, "; "))
}

// templateAnnotationMargin is room for the operator's own annotations.
const templateAnnotationMargin = 16 << 10

func annotationsSize(m map[string]string) int {
	n := 0
	for k, v := range m {
		n += len(k) + len(v)
	}
	return n
}

func isOperatorKey(k string) bool {
	return strings.HasPrefix(k, v1alpha1.OperatorPrefix) || k == v1alpha1.LabelManagedBy
}

func incompleteInputs(o *observation) *plan {
	if o.in.err == nil {
		return nil
	}
	if asOutcome(o.in.err).waiting {
		return &plan{name: planWait, why: "a referenced Secret is missing", err: o.in.err}
	}
	return &plan{name: planStall, why: "a referenced Secret is invalid", err: o.in.err}
}

// stalledOnSameInputs repeats a terminal failure without calling Cognito
// until the spec or a referenced Secret's contents change.
func stalledOnSameInputs(o *observation) *plan {
	st := &o.ste.Status
	c := findCondition(st.Conditions, v1alpha1.ConditionStalled)
	if c == nil || c.Status != "True" || st.ObservedGeneration != o.ste.Generation || st.InputsFingerprint != o.in.hash ||
		locallyDerived[c.Reason] {
		return nil
	}
	if c.Reason == v1alpha1.ReasonDuplicateEnrollment && st.LastFailureTime != nil &&
		!o.now.Before(st.LastFailureTime.Add(o.recheckDuplicate)) {
		return nil // the other enrollment may be gone: sign in and look again
	}
	return &plan{name: planStall, why: "stalled on these inputs already", err: stall(c.Reason, c.Message)}
}

// locallyDerived are stalls the chain derives afresh from the observation
// on every reconcile, at no cost: they lift as soon as their cause goes.
var locallyDerived = map[string]bool{v1alpha1.ReasonSecretConflict: true, v1alpha1.ReasonInvalidSpec: true,
	v1alpha1.ReasonUserPoolRefRequired: true, v1alpha1.ReasonNamespaceNotAllowed: true}

// backingOff holds every trigger (a watch event, the operator's own writes)
// until the recorded retry time, unless the inputs changed.
func backingOff(o *observation) *plan {
	st := &o.ste.Status
	if st.FailedAttempts == 0 || st.NextAttemptTime == nil || st.InputsFingerprint != o.in.hash ||
		st.ObservedGeneration != o.ste.Generation || !o.now.Before(st.NextAttemptTime.Time) {
		return nil
	}
	reason, msg := v1alpha1.ReasonProgressing, "retrying"
	for _, t := range []string{v1alpha1.ConditionReconciling, v1alpha1.ConditionRotationFailed, v1alpha1.ConditionReady} {
		if c := findCondition(st.Conditions, t); c != nil && c.Status == "True" && c.Reason != v1alpha1.ReasonEnrolled {
			reason, msg = c.Reason, c.Message
			break
		}
	}
	return &plan{name: planBackoff, why: "waiting for the retry time", err: retry(reason, msg),
		retryIn: st.NextAttemptTime.Sub(o.now)}
}

// poolChanged refuses to use a seed recorded for another pool: the new pool
// is another identity, and its seed would overwrite the first user's. A
// pool not known yet (its ClusterUserPool missing) is no evidence.
func poolChanged(o *observation) *plan {
	now := o.in.pool.id
	if o.ownership == ownForeign || !o.rec.hasIdentity() || now == "" || o.rec.pool == now ||
		(o.secret == "" && o.pending == "") {
		return nil
	}
	return stallPlan(v1alpha1.ReasonIdentityChanged, identityChangedMessage(o, identity{pool: now}))
}

func identityChangedMessage(o *observation, now identity) string {
	what := fmt.Sprintf("pool %q", now.pool)
	if now.user != "" {
		what = now.String()
	}
	return fmt.Sprintf(
		"Secret %q holds the seed of %s, but the enrollment now signs in to %s; the stored seed is kept and nothing is enrolled. "+
			"To go back, restore the previous pool and credentials. To enroll the new user, set deletionPolicy Retain, delete this enrollment "+
			"(Secret %q stays with the first user's seed) and create a new one with another secretName",
		o.target.Name, o.rec.identity(), what, o.target.Name)
}

func retainedSecret(o *observation) *plan {
	if o.ownership != ownRetained {
		return nil
	}
	return &plan{name: planAdopt, why: "a Secret retained by an earlier enrollment of this name"}
}

// verifiedPending promotes a staged seed Cognito already verified once the
// step of the code the operator used has passed: Cognito accepts a code
// once, so a consumer reading the seed the moment the enrollment turns Ready
// must not be handed the step the operator just spent.
func verifiedPending(o *observation) *plan {
	until := o.rec.pendingVerifiedUntil
	if o.pending == "" || until == nil || o.rec.pendingFingerprint != totp.Fingerprint(o.pending) || !o.rec.hasIdentity() ||
		o.rec.pendingInputs != o.in.hash {
		return nil // anything changed while it waited: prove it again
	}
	if o.now.Before(*until) {
		return &plan{name: planWaitForStep, why: "the verified seed waits for its code's step to pass",
			err: waitFor(v1alpha1.ReasonProgressing, "the new secret is verified; it is handed to consumers once the TOTP step the operator used has passed", until.Sub(o.now))}
	}
	return &plan{name: planPromoteVerified, why: "the verified seed's code step has passed"}
}

// stepEndingSoon holds a proof of a stored seed, which consumers may be
// using, when the TOTP step is about to end: the previous step's code then
// goes stale, and the current one is the code a consumer signs in with.
// The wait is a requeue of at most a few seconds.
func stepEndingSoon(o *observation) *plan {
	if o.secret == "" && o.pending == "" {
		return nil
	}
	left := totp.Remaining(o.now)
	if left >= cognito.CodeMargin {
		return nil
	}
	// A pause of a few seconds, like a backoff: no status change, no Event.
	return &plan{name: planBackoff, why: "the TOTP step ends too soon to prove a stored seed quietly", retryIn: left + 50*time.Millisecond}
}

func pendingSeed(o *observation) *plan {
	if o.pending == "" {
		return nil
	}
	return &plan{name: planResumePending, why: "a staged seed may already be verified"}
}

func noSeed(o *observation) *plan {
	if o.secret != "" {
		return nil
	}
	return &plan{name: planEnroll, why: "no seed is stored"}
}

// recordMismatch sends the enrollment to Cognito when the Secret's record
// does not vouch for the current inputs.
func recordMismatch(o *observation) *plan {
	var why string
	switch {
	case o.rec.fingerprint != totp.Fingerprint(o.secret):
		why = "the stored seed is not the one recorded (or Cognito disproved it)"
	case o.rec.associating:
		why = "a token was associated and no sign-in has proved since which seed Cognito holds"
	case !o.rec.hasIdentity():
		why = "the Secret records no identity (written by an earlier version)"
	case o.rec.spec != cognitoSpecHash(o.ste, o.in.pool):
		why = "a spec field that needs Cognito changed"
	case !o.signInMatchesRecord():
		why = "the credentials sign in under another name than recorded"
	case o.claim.state == claimOther:
		why = "another enrollment claims this user"
	case o.claim.state == claimFree:
		// A claim is taken only after Cognito proves the seed: a Secret a
		// tenant wrote by hand must not let it claim another tenant's user.
		why = "the claim on the user is missing"
	default:
		return nil
	}
	return &plan{name: planRepair, why: why}
}

func rotationRequested(o *observation) *plan {
	if !o.rotationDue() {
		return nil
	}
	return &plan{name: planRotate, why: "a rotation is due"}
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
