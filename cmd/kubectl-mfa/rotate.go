package main

import (
	"context"
	"fmt"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
)

// rotate asks for one rotation by setting the rotate annotation to a new
// value, the same thing a GitOps user commits.
func (c *cli) rotate(ctx context.Context, name string) error {
	ste, err := c.enrollment(ctx, name)
	if err != nil {
		return err
	}
	value := c.now().UTC().Format(time.RFC3339Nano)
	patch := client.MergeFrom(ste.DeepCopy())
	if ste.Annotations == nil {
		ste.Annotations = map[string]string{}
	}
	ste.Annotations[v1alpha1.AnnotationRotate] = value
	if err := c.k8s.Patch(ctx, ste, patch); err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.out, "rotation requested: %s=%s\n", v1alpha1.AnnotationRotate, value)
	return err
}
