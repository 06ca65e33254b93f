package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/kube"
)

// seeds lists the seed store, or deletes or adopts one stored seed.
func (c *cli) seeds(ctx context.Context, args []string, storeNS, to string, yes bool) error {
	switch {
	case len(args) == 0:
		return c.listSeeds(ctx, storeNS)
	case len(args) == 2 && args[0] == "delete":
		return c.deleteSeed(ctx, storeNS, args[1], yes)
	case len(args) == 2 && args[0] == "adopt":
		return c.adoptSeed(ctx, storeNS, args[1], to)
	}
	return fmt.Errorf("seeds takes no argument, or delete NAME, or adopt NAME --to ENROLLMENT\n\n%s", usage)
}

func (c *cli) listSeeds(ctx context.Context, storeNS string) error {
	var list corev1.SecretList
	if err := c.k8s.List(ctx, &list, client.InNamespace(storeNS), client.HasLabels{v1alpha1.LabelSeedState}); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tNAMESPACE\tENROLLMENT\tUSER\tPOOL\tSTORED")
	for i := range list.Items {
		s := &list.Items[i]
		o := kube.OriginOf(s)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.Labels[v1alpha1.LabelSeedState], o.Namespace, o.Enrollment,
			o.User, o.Pool, storedAt(s))
	}
	return tw.Flush()
}

// deleteSeed deletes a stored seed: it may be the only copy of a seed a
// user is still asked for, so it takes --yes.
func (c *cli) deleteSeed(ctx context.Context, storeNS, name string, yes bool) error {
	s, err := c.secretIn(ctx, storeNS, name)
	if err != nil {
		return err
	}
	if !yes {
		return fmt.Errorf("stored seed %s is %s for user %q: if the user is still asked for it, deleting it locks them out; repeat with --yes to delete it",
			name, s.Labels[v1alpha1.LabelSeedState], kube.OriginOf(s).User)
	}
	if err := c.k8s.Delete(ctx, s); err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.out, "stored seed %s deleted\n", name)
	return err
}

// adoptSeed writes a stored seed into the Secret of the enrollment to (in
// the current namespace), retained for it: the enrollment proves the seed
// through Cognito before it takes it over, and the stored copy is deleted
// only after that proof. An enrollment whose credentials sign in as another
// user than the seed's stalls IdentityChanged, and the seed is kept.
func (c *cli) adoptSeed(ctx context.Context, storeNS, name, to string) error {
	if to == "" {
		return fmt.Errorf("adopt needs --to ENROLLMENT, an enrollment of namespace %q", c.namespace)
	}
	stored, err := c.secretIn(ctx, storeNS, name)
	if err != nil {
		return err
	}
	ste, err := c.enrollment(ctx, to)
	if err != nil {
		return err
	}
	secretName := v1alpha1.SecretNameOf(ste)
	err = c.k8s.Get(ctx, types.NamespacedName{Namespace: c.namespace, Name: secretName}, &corev1.Secret{})
	switch {
	case err == nil:
		return fmt.Errorf("enrollment %q already has Secret %q: adopt into an enrollment whose Secret does not exist", to, secretName)
	case !apierrors.IsNotFound(err):
		return err
	}
	if err := c.k8s.Create(ctx, kube.RestoredSecret(stored, c.namespace, secretName, to)); err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.out, "stored seed %s written to Secret %s/%s; enrollment %q proves it with Cognito before it uses it (kubectl mfa status %s)\n",
		name, c.namespace, secretName, to, to)
	return err
}

// storedAt formats when a seed was stored, for people.
func storedAt(s *corev1.Secret) string {
	t, err := time.Parse(time.RFC3339, s.Annotations[v1alpha1.AnnotationStoredAt])
	if err != nil {
		return ""
	}
	return t.Format(time.RFC3339)
}
