package enrollment

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/lifecycle"
)

// The code ledger (lifecycle.CodeLedger) lives in one Lease per user in the
// operator's namespace, as JSON in one annotation, written with its
// resourceVersion as a lock so that two reconciles (or two managers) never
// both spend the last code of the budget or the same step's code.
//
// It is keyed like the setup lock, by the region and the case-folded
// username: codes go to whichever user Cognito resolves the name to, and
// until tokens show the pool, neither the spec's pool id nor its case can be
// trusted to name that user. Two users of one name in two pools of a region
// share a budget: slower under failures, never a lockout.

// ledgerAnnotation holds the ledger's JSON.
const ledgerAnnotation = v1alpha1.OperatorPrefix + "codes"

// ledgerTries bounds the read-modify-write loop against other writers.
const ledgerTries = 5

func ledgerName(region, user string) string {
	sum := sha256.Sum256([]byte("codes\x00" + region + "\x00" + strings.ToLower(user)))
	return "ste-codes-" + hex.EncodeToString(sum[:16])
}

// ledgerUser is the name the codes of this reconcile go to: the canonical
// username the sign-in showed (an alias and the canonical name must share
// one ledger; after an identity edit the record names the previous user),
// else the recorded one, else the spec's.
func (x *run) ledgerUser() string {
	switch {
	case x.view != nil && x.view.ID.User != "":
		return x.view.ID.User
	case x.o.Record.Identity.User != "":
		return x.o.Record.Identity.User
	}
	return x.o.In.Username
}

// updateLedger applies change to the user's ledger and writes it, reading
// again when another writer won. change returns false to write nothing.
func (x *run) updateLedger(ctx context.Context, change func(*lifecycle.CodeLedger) (bool, error)) error {
	name := ledgerName(x.o.In.Region, x.ledgerUser())
	for range ledgerTries {
		var lease coordinationv1.Lease
		err := x.r.APIReader.Get(ctx, types.NamespacedName{Namespace: x.r.ClaimNamespace, Name: name}, &lease)
		exists := err == nil
		if err != nil && !apierrors.IsNotFound(err) {
			return retry(v1alpha1.ReasonKubernetesAPIError, fmt.Sprintf("reading the code ledger of the user: %v", err))
		}
		var l lifecycle.CodeLedger
		if raw := lease.Annotations[ledgerAnnotation]; raw != "" {
			if err := json.Unmarshal([]byte(raw), &l); err != nil {
				// Not overwritten: what it held may be open codes.
				return retry(v1alpha1.ReasonKubernetesAPIError, fmt.Sprintf(
					"the code ledger Lease %s/%s cannot be read (%v); delete it to start it afresh", x.r.ClaimNamespace, name, err))
			}
		}
		write, err := change(&l)
		if err != nil || !write {
			return err
		}
		raw, err := json.Marshal(&l)
		if err != nil {
			return err
		}
		if !exists {
			lease = coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: x.r.ClaimNamespace, Name: name,
				Labels: map[string]string{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue}}}
		}
		if lease.Annotations == nil {
			lease.Annotations = map[string]string{}
		}
		lease.Annotations[ledgerAnnotation] = string(raw)
		if exists {
			err = x.r.Update(ctx, &lease)
		} else {
			err = x.r.Create(ctx, &lease)
		}
		switch {
		case apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err):
			continue // another writer: read again, decide again
		case err != nil:
			return retry(v1alpha1.ReasonKubernetesAPIError, fmt.Sprintf("writing the code ledger of the user: %v", err))
		}
		return nil
	}
	return retry(v1alpha1.ReasonProgressing, "the code ledger of the user changed under every attempt to write it; looking again")
}
