package enrollment

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/kube"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/lifecycle"
)

// restore writes the seed the store keeps for this enrollment back into its
// namespace, as a Secret retained for it: the next reconcile adopts it
// through Cognito (a proof, no association), and the stored copy is deleted
// only after that proof. Nothing is asked of Cognito here.
func (x *run) restore(ctx context.Context) error {
	o := x.o
	s := kube.RestoredSecret(o.stored, o.Enrollment.Namespace, o.SecretName, o.Enrollment.Name)
	if err := x.r.Create(ctx, s); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return retry(v1alpha1.ReasonProgressing, "the Secret appeared while its seed was being restored; looking again")
		}
		return kubeError(fmt.Sprintf("restoring Secret %q from the seed store", s.Name), err)
	}
	x.r.Recorder.Eventf(o.Enrollment, nil, corev1.EventTypeNormal, "SeedRestored", "Restore",
		"Wrote the seed the seed store kept for this enrollment back into Secret %q; it is proven before it is used", s.Name)
	o.setTarget(s)
	// Not Ready on the word of the store: the next reconcile proves the
	// seed with Cognito (a dormant one may no longer be asked for at all).
	x.distrusted = true
	return waitFor(v1alpha1.ReasonProgressing, fmt.Sprintf(
		"wrote the seed the seed store kept back into Secret %q; proving it with Cognito before it is used", s.Name), time.Millisecond)
}

// finishRestore deletes the stored copy of a seed written back from the
// store, once Cognito has proven it here, then forgets where it came from.
func (x *run) finishRestore(ctx context.Context) error {
	if readRecordOf(x.o.target).RestoredFrom == "" || x.o.Ownership != lifecycle.OwnOwned {
		return nil
	}
	if x.o.stored != nil {
		if err := x.r.store().Delete(ctx, x.o.stored); err != nil {
			return err
		}
	}
	return x.writeSecret(ctx, func(_ *corev1.Secret, rec *lifecycle.Record) { rec.RestoredFrom = "" })
}
