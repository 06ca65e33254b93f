package localenv

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// ServiceAccountKubeconfig writes to path a kubeconfig that authenticates as
// the ServiceAccount namespace/name with a token the API server issues for
// it (TokenRequest, through `kubectl create token`): what a pod running as
// that ServiceAccount would hold. It keeps the admin kubeconfig's server and
// CA and nothing of its credentials, so whoever uses it has exactly the
// rights RBAC grants the ServiceAccount.
func (c *ControlPlane) ServiceAccountKubeconfig(ctx context.Context, namespace, name, path string) error {
	out, err := c.Kubectl(ctx, "create", "token", name, "-n", namespace, "--duration", "2h")
	if err != nil {
		return err
	}
	token := strings.TrimSpace(out)
	if token == "" {
		return fmt.Errorf("kubectl create token %s -n %s printed no token", name, namespace)
	}
	return c.TokenKubeconfig(token, path)
}

// TokenKubeconfig writes to path a kubeconfig for the control plane that
// authenticates with the bearer token alone.
func (c *ControlPlane) TokenKubeconfig(token, path string) error {
	admin, err := clientcmd.LoadFromFile(c.Kubeconfig)
	if err != nil {
		return err
	}
	current, ok := admin.Contexts[admin.CurrentContext]
	if !ok {
		return fmt.Errorf("%s has no current context", c.Kubeconfig)
	}
	cluster, ok := admin.Clusters[current.Cluster]
	if !ok {
		return fmt.Errorf("%s has no cluster %q", c.Kubeconfig, current.Cluster)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: cluster.Server,
		CertificateAuthorityData: cluster.CertificateAuthorityData, CertificateAuthority: cluster.CertificateAuthority}
	cfg.AuthInfos["token"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "token"}
	cfg.CurrentContext = "local"
	return clientcmd.WriteToFile(*cfg, path)
}
