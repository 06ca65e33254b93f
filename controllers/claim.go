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
// token, an enrollment creates a Lease named for the pool and the user's
// canonical username in the operator's namespace. Create-if-absent is
// atomic in the API server, so two reconciles, or two managers, cannot both
// win. The canonical username is the key because it is the only identity
// Cognito shows before an MFA_SETUP enrollment completes; it never changes,
// and maps one to one to the user's sub within a pool.

type claimStateKind int

const (
	// claimFree: no claim, or one whose enrollment is gone.
	claimFree claimStateKind = iota
	claimMine
	// claimOther: a live enrollment holds it.
	claimOther
)

type claimState struct {
	state  claimStateKind
	holder types.NamespacedName
	lease  *coordinationv1.Lease
}

// Annotations on a claim Lease, naming the user and the holder.
const (
	claimAnnotationPool      = v1alpha1.OperatorPrefix + "user-pool"
	claimAnnotationUser      = v1alpha1.OperatorPrefix + "user"
	claimAnnotationHolder    = v1alpha1.OperatorPrefix + "enrollment"
	claimAnnotationHolderUID = v1alpha1.OperatorPrefix + "enrollment-uid"
)

func claimName(id identity) string {
	sum := sha256.Sum256([]byte(id.pool + "\x00" + id.user))
	return "ste-claim-" + hex.EncodeToString(sum[:16])
}

func holderOf(ste *v1alpha1.SoftwareTokenEnrollment) string {
	return ste.Namespace + "/" + ste.Name
}

// readClaim reads the claim on id and whether its holder is alive.
func (r *Reconciler) readClaim(ctx context.Context, id identity, ste *v1alpha1.SoftwareTokenEnrollment) (claimState, error) {
	var l coordinationv1.Lease
	err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: r.ClaimNamespace, Name: claimName(id)}, &l)
	if apierrors.IsNotFound(err) {
		return claimState{state: claimFree}, nil
	}
	if err != nil {
		return claimState{}, retry(v1alpha1.ReasonKubernetesAPIError, fmt.Sprintf("reading the claim on %s: %v", id, err))
	}
	st := claimState{lease: &l}
	uid := l.Annotations[claimAnnotationHolderUID]
	if uid == string(ste.UID) {
		st.state = claimMine
		return st, nil
	}
	ns, name, _ := strings.Cut(l.Annotations[claimAnnotationHolder], "/")
	st.holder = types.NamespacedName{Namespace: ns, Name: name}
	var holder v1alpha1.SoftwareTokenEnrollment
	err = r.APIReader.Get(ctx, st.holder, &holder)
	switch {
	case apierrors.IsNotFound(err):
		st.state = claimFree
	case err != nil:
		return claimState{}, retry(v1alpha1.ReasonKubernetesAPIError, fmt.Sprintf("reading enrollment %s: %v", st.holder, err))
	case string(holder.UID) != uid:
		st.state = claimFree
	default:
		st.state = claimOther
	}
	return st, nil
}

// takeClaim makes the enrollment the holder of the claim on id: it creates
// the Lease, or takes over one whose holder is gone (or whose holder's seed
// Cognito just disproved), with the Lease's resourceVersion as a lock.
func (r *Reconciler) takeClaim(ctx context.Context, id identity, ste *v1alpha1.SoftwareTokenEnrollment, st claimState) error {
	if st.state == claimMine {
		return nil
	}
	holder := holderOf(ste)
	annotations := map[string]string{claimAnnotationPool: id.pool, claimAnnotationUser: id.user,
		claimAnnotationHolder: holder, claimAnnotationHolderUID: string(ste.UID)}
	var err error
	if st.lease == nil {
		l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: r.ClaimNamespace, Name: claimName(id),
			Labels: map[string]string{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue}, Annotations: annotations},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder}}
		err = r.Create(ctx, l)
		if apierrors.IsAlreadyExists(err) {
			return retry(v1alpha1.ReasonProgressing, "another reconcile claimed this user at the same moment; looking again")
		}
	} else {
		l := st.lease.DeepCopy()
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
	return nil
}

// releaseClaim deletes the claim on id if the enrollment holds it.
func (r *Reconciler) releaseClaim(ctx context.Context, id identity, ste *v1alpha1.SoftwareTokenEnrollment) error {
	if id.user == "" {
		return nil
	}
	st, err := r.readClaim(ctx, id, ste)
	if err != nil || st.state != claimMine {
		return err
	}
	err = r.Delete(ctx, st.lease, client.Preconditions{ResourceVersion: &st.lease.ResourceVersion})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return retry(v1alpha1.ReasonKubernetesAPIError, fmt.Sprintf("releasing the claim on the user: %v", err))
	}
	return nil
}
