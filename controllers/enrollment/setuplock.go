package enrollment

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/lifecycle"
)

// The setup lock. An MFA_SETUP challenge names no pool: until the tokens
// its answer brings show the pool (their iss), the claim on (the spec's
// pool, user) proves nothing, and two enrollments naming one user through
// different pool strings or app clients hold disjoint claims and both
// associate. So an enrollment that associates in MFA_SETUP first takes one
// more Lease, keyed only by what Cognito's answer does show: the region the
// client signed in to and the username, case-folded (pools match usernames
// case-insensitively when so configured; folding is right either way, at
// the cost of serialising two users whose names differ only in case, or who
// share a name in two pools of one region). It is let go once the answer to
// MFA_SETUP has shown the pool, or when the reconcile fails before it
// associated, and with a claim it made when that pool is not the
// enrollment's.

// setupLockValidity is the longest an MFA_SETUP session lives (an app
// client's AuthSessionValidity is 3 to 15 minutes): a lock not renewed for
// that long guards a setup that can no longer complete, so it is anyone's.
const setupLockValidity = 15 * time.Minute

// setupLockSince records when the lock was last taken, on the API server's clock.
const setupLockSince = v1alpha1.OperatorPrefix + "setup-since"

func setupLockName(region, user string) string {
	sum := sha256.Sum256([]byte("setup\x00" + region + "\x00" + strings.ToLower(user)))
	return "ste-setup-" + hex.EncodeToString(sum[:16])
}

// takeSetupLock takes (or renews) the setup lock for the user this
// MFA_SETUP sign-in showed, or stalls DuplicateEnrollment (looked at again
// every RetryMax) while another live enrollment holds it.
func (x *run) takeSetupLock(ctx context.Context) error {
	ste, id := x.o.Enrollment, x.view.ID
	part, err := x.r.readClaimPart(ctx, setupLockName(x.o.In.Region, id.User), id, ste)
	if err != nil {
		return err
	}
	if part.state == lifecycle.ClaimOther && !x.setupLockExpired(part) {
		msg := "another enrollment in a different namespace is setting up MFA for a user of this name in this region"
		if part.holder.Namespace == ste.Namespace {
			msg = fmt.Sprintf("enrollment %q is setting up MFA for a user of this name in this region", part.holder.Name)
		}
		return stall(v1alpha1.ReasonDuplicateEnrollment, msg+
			" (an MFA_SETUP challenge names no pool, so only one may at a time); looking again later")
	}
	annotations := claimAnnotations(id, ste)
	annotations[setupLockSince] = x.r.serverNow().UTC().Format(time.RFC3339)
	holder := holderOf(ste)
	l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: x.r.ClaimNamespace, Name: part.name,
		Labels: map[string]string{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue}, Annotations: annotations},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder}}
	if part.lease == nil {
		err = x.r.Create(ctx, l)
	} else {
		// Renewed by its holder, or taken over: the resourceVersion makes
		// two takers of an expired lock collide.
		next := part.lease.DeepCopy()
		next.Annotations, next.Spec.HolderIdentity = maps.Clone(annotations), &holder
		l, err = next, x.r.Update(ctx, next)
	}
	switch {
	case apierrors.IsAlreadyExists(err) || apierrors.IsConflict(err):
		return retry(v1alpha1.ReasonProgressing, "another reconcile took the setup lock on this user at the same moment; looking again")
	case err != nil:
		return retry(v1alpha1.ReasonKubernetesAPIError, fmt.Sprintf("taking the setup lock on the user: %v", err))
	}
	part.lease, part.state = l, lifecycle.ClaimMine
	x.setupLock = &part
	return nil
}

// setupLockExpired says another's setup lock outlived any MFA_SETUP session.
func (x *run) setupLockExpired(part claimPart) bool {
	since, err := time.Parse(time.RFC3339, part.lease.Annotations[setupLockSince])
	return err == nil && x.r.serverNow().Sub(since) > setupLockValidity
}

// releaseSetupLock lets the setup lock this reconcile took go, unless
// someone took it over since (best effort: a lock left behind is one its
// live holder renews or releases, or anyone's once it expires).
func (x *run) releaseSetupLock(ctx context.Context) {
	if x.setupLock == nil || x.setupLock.lease == nil {
		return
	}
	l := x.setupLock.lease
	err := x.r.Delete(ctx, l, client.Preconditions{UID: &l.UID, ResourceVersion: &l.ResourceVersion})
	if err == nil || apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		x.setupLock = nil
	}
}

// setupShowedPool handles learnSub's failure after MFA_SETUP: tokens of
// another pool mean the enrollment holds nothing of its own pool's (the
// lock goes, and the claim too when this is its first enrollment, so the
// claim was made for this setup); a failure to read the tokens keeps both,
// since the pool is still unknown.
func (x *run) setupShowedPool(ctx context.Context, err error) error {
	if asOutcome(err).Reason != v1alpha1.ReasonUserPoolMismatch {
		return err
	}
	if x.o.Record.Identity.User == "" {
		if rerr := x.r.releaseClaim(ctx, x.view.ID, x.o.Enrollment); rerr != nil {
			return rerr
		}
	}
	x.releaseSetupLock(ctx)
	return err
}

// releaseSetupLockOf lets go of a setup lock the enrollment still holds from
// an earlier reconcile (a crash, or tokens that could not be read, between
// the association and the pool the answer showed): on deletion, and when a
// staged seed is promoted.
func (r *Reconciler) releaseSetupLockOf(ctx context.Context, region string, id lifecycle.Identity, ste *v1alpha1.SoftwareTokenEnrollment) error {
	if id.User == "" || region == "" {
		return nil
	}
	part, err := r.readClaimPart(ctx, setupLockName(region, id.User), id, ste)
	if err != nil || part.state != lifecycle.ClaimMine {
		return err
	}
	err = r.Delete(ctx, part.lease, client.Preconditions{UID: &part.lease.UID, ResourceVersion: &part.lease.ResourceVersion})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return retry(v1alpha1.ReasonKubernetesAPIError, fmt.Sprintf("releasing the setup lock on the user: %v", err))
	}
	return nil
}
