package enrollment

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"strings"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/lifecycle"
)

// A claim makes "one enrollment per user" atomic: before it associates a
// token, an enrollment creates Leases named for the user in the operator's
// namespace. Create-if-absent is atomic in the API server, so two
// reconciles, or two managers, cannot both win.
//
// The user is named by its canonical username, the only identity Cognito
// shows before an MFA_SETUP enrollment completes (it never changes, and maps
// one to one to the user's sub within a pool), together with the pool id the
// spec gives and, separately, the app client signed in through: before any
// token exists nothing proves which pool a client belongs to, so two
// enrollments naming one client with different pool ids collide on the
// client's claim.

// claimPart is one of the Leases that make up a claim.
type claimPart struct {
	name   string
	state  lifecycle.ClaimKind
	holder lifecycle.Holder
	lease  *coordinationv1.Lease
	// created: this reconcile created the Lease.
	created bool
}

// claimState is the claim on a user, summed over its parts, and the parts.
type claimState struct {
	lifecycle.Claim
	parts []claimPart
}

// Annotations on a claim Lease, naming the user and the holder.
const (
	claimAnnotationPool      = v1alpha1.OperatorPrefix + "user-pool"
	claimAnnotationUser      = v1alpha1.OperatorPrefix + "user"
	claimAnnotationClient    = v1alpha1.OperatorPrefix + "client-id"
	claimAnnotationHolder    = v1alpha1.OperatorPrefix + "enrollment"
	claimAnnotationHolderUID = v1alpha1.OperatorPrefix + "enrollment-uid"
)

// claimNames are the Leases of the claim on id.
func claimNames(id lifecycle.Identity) []string {
	names := []string{claimName(id.Pool + "\x00" + id.User)}
	if id.Client != "" {
		names = append(names, claimName("client\x00"+id.Client+"\x00"+id.User))
	}
	return names
}

func claimName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "ste-claim-" + hex.EncodeToString(sum[:16])
}

func holderOf(ste *v1alpha1.SoftwareTokenEnrollment) string {
	return ste.Namespace + "/" + ste.Name
}

// readClaim reads the claim on id and whether its holders are alive.
func (r *Reconciler) readClaim(ctx context.Context, id lifecycle.Identity, ste *v1alpha1.SoftwareTokenEnrollment) (claimState, error) {
	names := claimNames(id)
	st := claimState{parts: make([]claimPart, len(names))}
	steps := make([]func() error, len(names))
	for i, name := range names {
		steps[i] = func() (err error) {
			st.parts[i], err = r.readClaimPart(ctx, name, id, ste)
			return err
		}
	}
	err := together(steps...)
	st.sum()
	return st, err
}

// createClaim creates the Leases of the claim on id that do not exist, and
// reads those that do: for a user nobody holds (the common case) one round
// trip per part instead of a read and then a create. Parts it created are
// marked created, for releaseCreated when the reconcile does not go on to
// enroll. Like takeClaim it goes in order and creates a part only while it
// holds all before it, so that two enrollments never split a claim.
func (r *Reconciler) createClaim(ctx context.Context, id lifecycle.Identity, ste *v1alpha1.SoftwareTokenEnrollment) (claimState, error) {
	st := claimState{Claim: lifecycle.Claim{Kind: lifecycle.ClaimMine}}
	holding := true
	for _, name := range claimNames(id) {
		part, err := r.createClaimPart(ctx, name, id, ste, holding)
		st.parts = append(st.parts, part)
		if err != nil {
			return st, err
		}
		holding = holding && part.state == lifecycle.ClaimMine
	}
	st.sum()
	return st, nil
}

func (r *Reconciler) createClaimPart(ctx context.Context, name string, id lifecycle.Identity, ste *v1alpha1.SoftwareTokenEnrollment, create bool) (claimPart, error) {
	if !create {
		return r.readClaimPart(ctx, name, id, ste)
	}
	part := claimPart{name: name, state: lifecycle.ClaimFree}
	err := r.takeClaimPart(ctx, &part, holderOf(ste), claimAnnotations(id, ste))
	switch {
	case err == nil:
		part.state, part.created = lifecycle.ClaimMine, true
		return part, nil
	case asOutcome(err).Reason == v1alpha1.ReasonProgressing:
		return r.readClaimPart(ctx, name, id, ste) // it exists: whose is it?
	}
	return part, err
}

// sum sets the claim's state from its parts: other when any part is another
// live enrollment's, else free when any part is free, else mine.
func (st *claimState) sum() {
	st.Kind = lifecycle.ClaimMine
	for _, part := range st.parts {
		switch {
		case part.state == lifecycle.ClaimOther:
			st.Kind, st.Holder = lifecycle.ClaimOther, part.holder
		case part.state == lifecycle.ClaimFree && st.Kind == lifecycle.ClaimMine:
			st.Kind = lifecycle.ClaimFree
		}
	}
}

// releaseCreated deletes the parts of st that this reconcile created, when
// it does not enroll after all: a claim is held only by an enrollment that
// goes on to associate. Best effort: a claim left behind is one a stalled
// enrollment holds, which a proven seed takes over and deletion releases.
func (r *Reconciler) releaseCreated(ctx context.Context, st claimState) {
	for _, part := range st.parts {
		if part.created && part.lease != nil {
			_ = r.Delete(ctx, part.lease, client.Preconditions{ResourceVersion: &part.lease.ResourceVersion})
		}
	}
}

func (r *Reconciler) readClaimPart(ctx context.Context, name string, id lifecycle.Identity, ste *v1alpha1.SoftwareTokenEnrollment) (claimPart, error) {
	part := claimPart{name: name}
	var l coordinationv1.Lease
	err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: r.ClaimNamespace, Name: name}, &l)
	if apierrors.IsNotFound(err) {
		part.state = lifecycle.ClaimFree
		return part, nil
	}
	if err != nil {
		return part, retry(v1alpha1.ReasonKubernetesAPIError, fmt.Sprintf("reading the claim on %s: %v", id, err))
	}
	part.lease = &l
	uid := l.Annotations[claimAnnotationHolderUID]
	if uid == string(ste.UID) {
		part.state = lifecycle.ClaimMine
		return part, nil
	}
	ns, holderName, _ := strings.Cut(l.Annotations[claimAnnotationHolder], "/")
	part.holder = lifecycle.Holder{Namespace: ns, Name: holderName}
	var holder v1alpha1.SoftwareTokenEnrollment
	err = r.APIReader.Get(ctx, types.NamespacedName{Namespace: ns, Name: holderName}, &holder)
	switch {
	case apierrors.IsNotFound(err):
		part.state = lifecycle.ClaimFree
	case err != nil:
		return part, retry(v1alpha1.ReasonKubernetesAPIError, fmt.Sprintf("reading enrollment %s: %v", part.holder, err))
	case string(holder.UID) != uid:
		part.state = lifecycle.ClaimFree
	default:
		part.state = lifecycle.ClaimOther
	}
	return part, nil
}

// takeClaim makes the enrollment the holder of every part of the claim on
// id: it creates each Lease, or takes over one whose holder is gone (or
// whose holder's seed Cognito just disproved), with the Lease's
// resourceVersion as a lock.
func (r *Reconciler) takeClaim(ctx context.Context, id lifecycle.Identity, ste *v1alpha1.SoftwareTokenEnrollment, st claimState) error {
	holder, annotations := holderOf(ste), claimAnnotations(id, ste)
	// One part after the other, in the same order for everyone: two
	// enrollments each winning one part would both stall for good.
	for _, part := range st.parts {
		if part.state == lifecycle.ClaimMine {
			continue
		}
		if err := r.takeClaimPart(ctx, &part, holder, annotations); err != nil {
			return err
		}
	}
	return nil
}

func claimAnnotations(id lifecycle.Identity, ste *v1alpha1.SoftwareTokenEnrollment) map[string]string {
	return map[string]string{claimAnnotationPool: id.Pool, claimAnnotationUser: id.User, claimAnnotationClient: id.Client,
		claimAnnotationHolder: holderOf(ste), claimAnnotationHolderUID: string(ste.UID)}
}

// takeClaimPart creates one Lease of a claim, or takes it over. Each gets
// its own copy of the annotations: the client decodes the reply into them.
func (r *Reconciler) takeClaimPart(ctx context.Context, part *claimPart, holder string, annotations map[string]string) error {
	var err error
	if part.lease == nil {
		l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: r.ClaimNamespace, Name: part.name,
			Labels: map[string]string{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue}, Annotations: maps.Clone(annotations)},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder}}
		err = r.Create(ctx, l)
		if apierrors.IsAlreadyExists(err) {
			return retry(v1alpha1.ReasonProgressing, "another reconcile claimed this user at the same moment; looking again")
		}
		if err == nil {
			part.lease = l
		}
	} else {
		l := part.lease.DeepCopy()
		l.Annotations = maps.Clone(annotations)
		l.Spec.HolderIdentity = &holder
		err = r.Update(ctx, l)
		if apierrors.IsConflict(err) {
			return retry(v1alpha1.ReasonProgressing, "the claim on this user changed meanwhile; looking again")
		}
	}
	if apierrors.IsNotFound(err) {
		return retry(v1alpha1.ReasonKubernetesAPIError, fmt.Sprintf(
			"claiming the user: the operator's namespace %q does not exist (--cluster-resource-namespace)", r.ClaimNamespace))
	}
	if err != nil {
		return retry(v1alpha1.ReasonKubernetesAPIError, fmt.Sprintf("claiming the user: %v", err))
	}
	return nil
}

// releaseClaim deletes the parts of the claim on id that the enrollment holds.
func (r *Reconciler) releaseClaim(ctx context.Context, id lifecycle.Identity, ste *v1alpha1.SoftwareTokenEnrollment) error {
	if id.User == "" {
		return nil
	}
	st, err := r.readClaim(ctx, id, ste)
	if err != nil {
		return err
	}
	for _, part := range st.parts {
		if part.state != lifecycle.ClaimMine {
			continue
		}
		err = r.Delete(ctx, part.lease, client.Preconditions{ResourceVersion: &part.lease.ResourceVersion})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return retry(v1alpha1.ReasonKubernetesAPIError, fmt.Sprintf("releasing the claim on the user: %v", err))
		}
	}
	return nil
}
