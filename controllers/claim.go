package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
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

type claimStateKind int

const (
	// claimFree: no claim, or one whose enrollment is gone.
	claimFree claimStateKind = iota
	claimMine
	// claimOther: a live enrollment holds it.
	claimOther
)

// claimPart is one of the Leases that make up a claim.
type claimPart struct {
	name   string
	state  claimStateKind
	holder types.NamespacedName
	lease  *coordinationv1.Lease
}

// claimState is the claim on a user: other when any part is another live
// enrollment's, else free when any part is free, else mine.
type claimState struct {
	state  claimStateKind
	holder types.NamespacedName
	parts  []claimPart
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
func claimNames(id identity) []string {
	names := []string{claimName(id.pool + "\x00" + id.user)}
	if id.client != "" {
		names = append(names, claimName("client\x00"+id.client+"\x00"+id.user))
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
func (r *Reconciler) readClaim(ctx context.Context, id identity, ste *v1alpha1.SoftwareTokenEnrollment) (claimState, error) {
	st := claimState{state: claimMine}
	for _, name := range claimNames(id) {
		part, err := r.readClaimPart(ctx, name, id, ste)
		if err != nil {
			return claimState{}, err
		}
		st.parts = append(st.parts, part)
		switch {
		case part.state == claimOther:
			st.state, st.holder = claimOther, part.holder
		case part.state == claimFree && st.state == claimMine:
			st.state = claimFree
		}
	}
	return st, nil
}

func (r *Reconciler) readClaimPart(ctx context.Context, name string, id identity, ste *v1alpha1.SoftwareTokenEnrollment) (claimPart, error) {
	part := claimPart{name: name}
	var l coordinationv1.Lease
	err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: r.ClaimNamespace, Name: name}, &l)
	if apierrors.IsNotFound(err) {
		part.state = claimFree
		return part, nil
	}
	if err != nil {
		return part, retry(v1alpha1.ReasonKubernetesAPIError, fmt.Sprintf("reading the claim on %s: %v", id, err))
	}
	part.lease = &l
	uid := l.Annotations[claimAnnotationHolderUID]
	if uid == string(ste.UID) {
		part.state = claimMine
		return part, nil
	}
	ns, holderName, _ := strings.Cut(l.Annotations[claimAnnotationHolder], "/")
	part.holder = types.NamespacedName{Namespace: ns, Name: holderName}
	var holder v1alpha1.SoftwareTokenEnrollment
	err = r.APIReader.Get(ctx, part.holder, &holder)
	switch {
	case apierrors.IsNotFound(err):
		part.state = claimFree
	case err != nil:
		return part, retry(v1alpha1.ReasonKubernetesAPIError, fmt.Sprintf("reading enrollment %s: %v", part.holder, err))
	case string(holder.UID) != uid:
		part.state = claimFree
	default:
		part.state = claimOther
	}
	return part, nil
}

// takeClaim makes the enrollment the holder of every part of the claim on
// id: it creates each Lease, or takes over one whose holder is gone (or
// whose holder's seed Cognito just disproved), with the Lease's
// resourceVersion as a lock.
func (r *Reconciler) takeClaim(ctx context.Context, id identity, ste *v1alpha1.SoftwareTokenEnrollment, st claimState) error {
	holder := holderOf(ste)
	annotations := map[string]string{claimAnnotationPool: id.pool, claimAnnotationUser: id.user, claimAnnotationClient: id.client,
		claimAnnotationHolder: holder, claimAnnotationHolderUID: string(ste.UID)}
	for _, part := range st.parts {
		if part.state == claimMine {
			continue
		}
		var err error
		if part.lease == nil {
			l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: r.ClaimNamespace, Name: part.name,
				Labels: map[string]string{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue}, Annotations: annotations},
				Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder}}
			err = r.Create(ctx, l)
			if apierrors.IsAlreadyExists(err) {
				return retry(v1alpha1.ReasonProgressing, "another reconcile claimed this user at the same moment; looking again")
			}
		} else {
			l := part.lease.DeepCopy()
			l.Annotations = annotations
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
	}
	return nil
}

// releaseClaim deletes the parts of the claim on id that the enrollment holds.
func (r *Reconciler) releaseClaim(ctx context.Context, id identity, ste *v1alpha1.SoftwareTokenEnrollment) error {
	if id.user == "" {
		return nil
	}
	st, err := r.readClaim(ctx, id, ste)
	if err != nil {
		return err
	}
	for _, part := range st.parts {
		if part.state != claimMine {
			continue
		}
		err = r.Delete(ctx, part.lease, client.Preconditions{ResourceVersion: &part.lease.ResourceVersion})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return retry(v1alpha1.ReasonKubernetesAPIError, fmt.Sprintf("releasing the claim on the user: %v", err))
		}
	}
	return nil
}
