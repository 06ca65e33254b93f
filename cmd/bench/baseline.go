package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/totp"
)

// phase is one measured run.
type phase struct {
	Enrollments int                `json:"enrollments"`
	Seconds     float64            `json:"seconds"`
	PerSecond   float64            `json:"perSecond"`
	CallsPer    map[string]float64 `json:"cognitoCallsPerEnrollment"`
}

// baseline enrolls n users with the same Cognito calls the operator makes,
// in the same order, from a bare pool of workers: no Kubernetes at all.
func baseline(ctx context.Context, cog *peer, c config) (*phase, error) {
	_, client, names, err := cog.users(ctx, "base", c.n)
	if err != nil {
		return nil, err
	}
	p, err := cognito.NewProvider(ctx, cognito.Options{Endpoint: cog.endpoint, DefaultRegion: "us-east-1"})
	if err != nil {
		return nil, err
	}
	api := p.ForRegion("us-east-1")
	before := cog.calls()
	jobs := make(chan string)
	errs := make(chan error, c.n)
	var wg sync.WaitGroup
	start := time.Now()
	for range c.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range jobs {
				if err := enrolDirectly(ctx, api, client, name); err != nil {
					errs <- fmt.Errorf("%s: %w", name, err)
				}
			}
		}()
	}
	for _, n := range names {
		jobs <- n
	}
	close(jobs)
	wg.Wait()
	took := time.Since(start)
	close(errs)
	for err := range errs {
		return nil, err
	}
	return &phase{Enrollments: c.n, Seconds: took.Seconds(), PerSecond: float64(c.n) / took.Seconds(),
		CallsPer: perEnrollment(diff(before, cog.calls()), c.n)}, nil
}

func enrolDirectly(ctx context.Context, api cognito.Client, client, user string) error {
	auth, err := api.InitiateAuth(ctx, cognito.SignIn{Client: cognito.AppClient{ID: client}, Username: user, Password: benchPassword})
	if err != nil {
		return err
	}
	// The operator asks GetUser before associating, because a user's token
	// can be invisible at sign-in (see docs/benchmarks.md); the loop does too.
	if _, err := api.GetUser(ctx, auth.AccessToken); err != nil {
		return err
	}
	assoc, err := api.AssociateSoftwareToken(ctx, cognito.Credential{AccessToken: auth.AccessToken})
	if err != nil {
		return err
	}
	code, err := totp.Code(assoc.SecretCode, time.Now())
	if err != nil {
		return err
	}
	if _, err := api.VerifySoftwareToken(ctx, cognito.Verify{Credential: cognito.Credential{AccessToken: auth.AccessToken}, Code: code}); err != nil {
		return err
	}
	return api.SetSoftwareTokenPreference(ctx, auth.AccessToken, cognito.Preference{Enabled: true, Preferred: true})
}

func diff[T int | float64](before, after map[string]T) map[string]T {
	out := map[string]T{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

func perEnrollment[T int | float64](counts map[string]T, n int) map[string]float64 {
	out := map[string]float64{}
	for k, v := range counts {
		out[k] = float64(v) / float64(n)
	}
	return out
}
