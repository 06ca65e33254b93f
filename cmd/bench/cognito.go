package main

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/localenv"
)

// peer is the Cognito endpoint under measurement: the fake or cognito-local.
type peer struct {
	endpoint string
	// users creates n users in a fresh pool with an app client.
	users func(ctx context.Context, prefix string, n int) (pool, client string, names []string, err error)
	calls func() map[string]int
	// throttled is how many requests each quota category refused (the fake
	// only; cognito-local enforces none).
	throttled func() map[string]int
	// pid is cognito-local's process, 0 for the in-process fake.
	pid  int
	stop func()
}

const benchPassword = "Bench-Passw0rd!"

func newCognito(root, work string, c config) (*peer, error) {
	if !c.cognitoLocal {
		fake := cognitofake.New()
		if err := fake.Start(); err != nil {
			return nil, err
		}
		fake.SetLatency(c.latency)
		if c.quota {
			// One account in one Region at AWS's defaults: the manager's
			// default pacing must keep under them on its own.
			fake.SetCategoryQuotas(cognitofake.DocumentedQuotas)
		}
		seq := 0
		return &peer{endpoint: fake.URL(), calls: fake.CallCounts, throttled: fake.ThrottledBy, stop: func() { fake.Close() },
			users: func(_ context.Context, prefix string, n int) (string, string, []string, error) {
				seq++
				pool, client := fmt.Sprintf("us-east-1_Bench%d", seq), fmt.Sprintf("benchclient%d", seq)
				fake.CreatePool(pool, cognitofake.MFAOptional, true)
				fake.CreateClient(cognitofake.AppClient{ID: client, PoolID: pool})
				names := make([]string, n)
				for i := range names {
					names[i] = fmt.Sprintf("%s%05d", prefix, i)
					fake.CreateUser(pool, cognitofake.User{Username: names[i], Password: benchPassword})
				}
				return pool, client, names, nil
			}}, nil
	}
	cl, err := localenv.StartCognitoLocal(root, work)
	if err != nil {
		return nil, err
	}
	return &peer{endpoint: cl.URL, calls: cl.CallCounts, throttled: func() map[string]int { return nil }, pid: cl.Pid(), stop: cl.Stop,
		users: func(ctx context.Context, prefix string, n int) (string, string, []string, error) {
			pool, err := cl.CreatePool(ctx, prefix, types.UserPoolMfaTypeOptional)
			if err != nil {
				return "", "", nil, err
			}
			client, _, err := cl.CreateClient(ctx, pool, prefix, false)
			if err != nil {
				return "", "", nil, err
			}
			names := make([]string, n)
			for i := range names {
				names[i] = fmt.Sprintf("%s%05d", prefix, i)
				if err := cl.CreateUser(ctx, pool, names[i], benchPassword); err != nil {
					return "", "", nil, err
				}
			}
			return pool, client, names, nil
		}}, nil
}
