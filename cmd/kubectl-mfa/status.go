package main

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
)

// status prints what a person needs to tell whether an enrollment works,
// never a secret value.
func (c *cli) status(ctx context.Context, name string) error {
	ste, err := c.enrollment(ctx, name)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("Name:\t%s", ste.Name)
	p("Namespace:\t%s", ste.Namespace)
	p("Created:\t%s (%s ago)", ste.CreationTimestamp.UTC().Format(time.RFC3339), c.age(ste.CreationTimestamp.Time))
	clientID := ste.Spec.ClientID
	if ref := ste.Spec.UserPoolRef; ref != nil {
		// Only the pool's id and client are shown: no client secret namespace is needed.
		if t, err := c.target(ctx, ste, ""); err != nil {
			p("User pool:\tClusterUserPool %s (%v)", ref.Name, err)
		} else {
			p("User pool:\t%s (ClusterUserPool %s)", t.poolID, ref.Name)
			clientID = t.clientID
		}
	} else {
		p("User pool:\t%s", ste.Spec.UserPoolID)
	}
	switch {
	case ste.Spec.CredentialsSecretRef != nil:
		p("Signs in with:\tSecret %q through app client %s", ste.Spec.CredentialsSecretRef.Name, clientID)
	case ste.Spec.AccessTokenSecretRef != nil:
		p("Signs in with:\taccess token in Secret %q, key %q", ste.Spec.AccessTokenSecretRef.Name, ste.Spec.AccessTokenSecretRef.Key)
	}
	p("MFA preference:\t%s", ste.Spec.MFAPreference)
	p("Observed generation:\t%d of %d", ste.Status.ObservedGeneration, ste.Generation)
	p("Conditions:")
	for _, cond := range ste.Status.Conditions {
		p("  %s:\t%s (%s) %s", cond.Type, cond.Status, cond.Reason, cond.Message)
	}
	if ste.Status.FailedAttempts > 0 {
		p("Failed attempts:\t%d", ste.Status.FailedAttempts)
	}
	w.Flush()
	c.secretSummary(ctx, w, ste)
	w.Flush()
	return c.events(ctx, ste)
}

func (c *cli) secretSummary(ctx context.Context, w *tabwriter.Writer, ste *v1alpha1.SoftwareTokenEnrollment) {
	name := v1alpha1.SecretNameOf(ste)
	fmt.Fprintf(w, "Secret:\t%s\n", name)
	s, err := c.secret(ctx, name)
	if apierrors.IsNotFound(err) {
		fmt.Fprintf(w, "  \tnot created yet\n")
		return
	}
	if err != nil {
		fmt.Fprintf(w, "  \tunreadable: %v\n", err)
		return
	}
	keys := make([]string, 0, len(s.Data))
	for k := range s.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(w, "  Keys:\t%s\n", strings.Join(keys, ", "))
	fmt.Fprintf(w, "  Fingerprint:\t%s\n", ste.Status.SecretFingerprint)
	if t := ste.Status.EnrolledTime; t != nil {
		fmt.Fprintf(w, "  Enrolled:\t%s\n", t.UTC().Format(time.RFC3339))
	}
	if slices.Contains(keys, v1alpha1.KeyPendingSecret) {
		fmt.Fprintf(w, "  \ta new secret awaits verification\n")
	}
}

func (c *cli) events(ctx context.Context, ste *v1alpha1.SoftwareTokenEnrollment) error {
	var list corev1.EventList
	if err := c.k8s.List(ctx, &list, client.InNamespace(ste.Namespace), client.MatchingFields{
		"involvedObject.name": ste.Name, "involvedObject.kind": "SoftwareTokenEnrollment"}); err != nil {
		return err
	}
	sort.Slice(list.Items, func(i, j int) bool { return eventTime(list.Items[i]).Before(eventTime(list.Items[j])) })
	w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "Events:")
	if len(list.Items) == 0 {
		fmt.Fprintln(w, "  none")
	} else {
		fmt.Fprintln(w, "  TYPE\tREASON\tAGE\tMESSAGE")
	}
	for _, e := range list.Items {
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\n", e.Type, e.Reason, c.age(eventTime(e)), e.Message)
	}
	return w.Flush()
}

func eventTime(e corev1.Event) time.Time {
	switch {
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	}
	return e.CreationTimestamp.Time
}

func (c *cli) age(t time.Time) string { return duration.HumanDuration(c.now().Sub(t)) }
