// Command kubectl-mfa is a kubectl plugin for SoftwareTokenEnrollments:
// current TOTP codes for automation, a status overview, and MFA sign-ins.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
)

const usage = `kubectl mfa: work with SoftwareTokenEnrollments.

Usage:
  kubectl mfa code NAME [--next SECONDS]   print the current TOTP code from the enrollment's Secret
  kubectl mfa status NAME                  the enrollment, its conditions, its Secret (keys only) and Events
  kubectl mfa login NAME                   sign in with the stored password and a code; print the tokens as JSON
  kubectl mfa rotate NAME                  request one rotation (sets the mfa.cognito-operator.dev/rotate annotation)
  kubectl mfa seeds                        list the seed store (seeds kept after their namespace went, or Disable)
  kubectl mfa seeds delete NAME --yes      delete a stored seed (it may be the only copy a user still needs)
  kubectl mfa seeds adopt NAME --to ENROLLMENT [-n NAMESPACE]
                                           write a stored seed into the enrollment's Secret; the enrollment proves it

Common flags: -n/--namespace, --kubeconfig, --context; --cluster-resource-namespace NS (the manager's: the seed store).
login flags: --cognito-endpoint URL (or AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER), --region (or AWS_REGION),
  --cluster-resource-namespace NS (where a ClusterUserPool's client secret is when it names no namespace).
`

// cli is one invocation: where to read from and where to write.
type cli struct {
	k8s       client.Client
	namespace string
	out       io.Writer
	now       func() time.Time
}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(out, usage)
		return nil
	}
	command := args[0]
	fs := pflag.NewFlagSet("kubectl mfa "+command, pflag.ContinueOnError)
	kube := genericclioptions.NewConfigFlags(true)
	kube.AddFlags(fs)
	next := fs.Int("next", 0, "with code: if fewer than this many seconds of the code's step remain, wait for the next step")
	endpoint := fs.String("cognito-endpoint", os.Getenv("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER"), "with login: Cognito endpoint URL")
	region := fs.String("region", os.Getenv("AWS_REGION"), "with login: region for pool ids that name none")
	clusterNamespace := fs.String("cluster-resource-namespace", "cognito-mfa-operator-system",
		"the manager's --cluster-resource-namespace: the seed store, and where a ClusterUserPool's client secret is when its reference names no namespace")
	to := fs.String("to", "", "with seeds adopt: the enrollment (in the current namespace) that adopts the seed")
	yes := fs.Bool("yes", false, "with seeds delete: delete the stored seed")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if command == "seeds" {
		c, err := newCLI(kube, out)
		if err != nil {
			return err
		}
		return c.seeds(ctx, fs.Args(), *clusterNamespace, *to, *yes)
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%s takes exactly one enrollment name\n\n%s", command, usage)
	}
	c, err := newCLI(kube, out)
	if err != nil {
		return err
	}
	name := fs.Arg(0)
	switch command {
	case "code":
		return c.code(ctx, name, time.Duration(*next)*time.Second)
	case "status":
		return c.status(ctx, name)
	case "login":
		return c.login(ctx, name, *endpoint, *region, *clusterNamespace)
	case "rotate":
		return c.rotate(ctx, name)
	}
	return fmt.Errorf("unknown command %q\n\n%s", command, usage)
}

func newCLI(kube *genericclioptions.ConfigFlags, out io.Writer) (*cli, error) {
	cfg, err := kube.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	ns, _, err := kube.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, err
	}
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	k, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	return &cli{k8s: k, namespace: ns, out: out, now: time.Now}, nil
}

func (c *cli) enrollment(ctx context.Context, name string) (*v1alpha1.SoftwareTokenEnrollment, error) {
	ste := &v1alpha1.SoftwareTokenEnrollment{}
	if err := c.k8s.Get(ctx, types.NamespacedName{Namespace: c.namespace, Name: name}, ste); err != nil {
		return nil, err
	}
	return ste, nil
}

func (c *cli) secret(ctx context.Context, name string) (*corev1.Secret, error) {
	return c.secretIn(ctx, c.namespace, name)
}

func (c *cli) secretIn(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	s := &corev1.Secret{}
	if err := c.k8s.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, s); err != nil {
		return nil, err
	}
	return s, nil
}

// storedSecret is the verified TOTP seed of an enrollment.
func (c *cli) storedSecret(ctx context.Context, ste *v1alpha1.SoftwareTokenEnrollment) (string, error) {
	s, err := c.secret(ctx, v1alpha1.SecretNameOf(ste))
	if err != nil {
		return "", err
	}
	seed := string(s.Data[v1alpha1.KeySecret])
	if seed == "" {
		return "", fmt.Errorf("Secret %q holds no verified TOTP secret yet; see `kubectl mfa status %s`", s.Name, ste.Name)
	}
	return seed, nil
}
