package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// The seed store, as an operator's administrator uses it: a retained
// Secret deleted by hand has its seed kept in the store (the manager as a
// process, cognito-local as Cognito); kubectl mfa seeds lists it, refuses
// to delete it without --yes, and adopts it into another enrollment of the
// same user, which proves the seed and takes it over with no association.
func TestSeedStoreKeepsAndAdopts(t *testing.T) {
	const ns, store = "e2e", "default" // localenv's --cluster-resource-namespace
	for _, n := range []string{ns} {
		if _, err := cp.Kubectl(ctx(), "create", "namespace", n); err != nil && !strings.Contains(err.Error(), "AlreadyExists") {
			t.Fatal(err)
		}
	}
	p := newPool(t, "seeds", types.UserPoolMfaTypeOptional)
	password := p.user(t, "keeper")
	apply(t, credentialsManifest(ns, "keeper-creds", "keeper", password))
	apply(t, enrollmentManifest(ns, "keeper", "  userPoolID: "+p.id+"\n  clientID: "+p.client+"\n  credentialsSecretRef: {name: keeper-creds}\n"))
	waitReady(t, ns, "keeper")
	seed := storedSecret(t, ns, "keeper-totp")
	kubectl(t, "delete", "softwaretokenenrollment", "keeper", "-n", ns, "--timeout=60s")
	kubectl(t, "delete", "secret", "keeper-totp", "-n", ns, "--timeout=60s")

	var name string
	for deadline := time.Now().Add(30 * time.Second); name == ""; time.Sleep(200 * time.Millisecond) {
		for _, line := range strings.Split(kubectl(t, "mfa", "seeds", "--cluster-resource-namespace", store), "\n") {
			if f := strings.Fields(line); len(f) >= 4 && f[1] == "Retained" && f[2] == ns && f[3] == "keeper" {
				name = f[0]
			}
		}
		if name == "" && time.Now().After(deadline) {
			t.Log(kubectl(t, "mfa", "seeds", "--cluster-resource-namespace", store))
			t.Fatal("kubectl mfa seeds never listed the retained seed of the deleted Secret")
		}
	}
	if _, err := cp.Kubectl(ctx(), "mfa", "seeds", "delete", name, "--cluster-resource-namespace", store); err == nil ||
		!strings.Contains(err.Error(), "--yes") {
		t.Fatalf("seeds delete without --yes: %v", err)
	}

	// The adopting enrollment waits for its credentials, so it makes no
	// Cognito call before the seed is in its Secret.
	apply(t, enrollmentManifest(ns, "adopter", "  userPoolID: "+p.id+"\n  clientID: "+p.client+"\n  credentialsSecretRef: {name: adopter-creds}\n"))
	waitCondition(t, ns, "adopter", "Reconciling", "True", "CredentialsSecretNotFound")
	out := kubectl(t, "mfa", "seeds", "adopt", name, "--to", "adopter", "-n", ns, "--cluster-resource-namespace", store)
	if !strings.Contains(out, "adopter-totp") {
		t.Fatalf("adopt said %q", out)
	}
	before := cognito.CallCounts()
	apply(t, credentialsManifest(ns, "adopter-creds", "keeper", password))
	waitReady(t, ns, "adopter")
	if n := cognito.CallCounts()["AssociateSoftwareToken"] - before["AssociateSoftwareToken"]; n != 0 {
		t.Fatalf("adoption made %d associations", n)
	}
	if got := storedSecret(t, ns, "adopter-totp"); got != seed {
		t.Fatal("the adopted Secret does not hold the stored seed")
	}
	proveMFA(t, p.client, "", "keeper", password, seed)
	for deadline := time.Now().Add(30 * time.Second); strings.Contains(kubectl(t, "mfa", "seeds", "--cluster-resource-namespace", store), name); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the stored copy outlived the adoption")
		}
	}
}
