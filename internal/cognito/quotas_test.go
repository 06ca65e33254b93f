package cognito_test

import (
	"context"
	"testing"
	"time"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognito"
	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

func TestCategoryRatesAreAShareOfTheQuotas(t *testing.T) {
	got := cognito.CategoryRates(0.5, map[string]float64{cognito.CategoryUserAuthentication: 200},
		map[string]float64{cognito.CategoryUserRead: 7})
	want := map[string]float64{cognito.CategoryUserAuthentication: 100, cognito.CategoryRespondToAuthChallenge: 180,
		cognito.CategoryUserUpdate: 12.5, cognito.CategoryUserRead: 7}
	for c, w := range want {
		if got[c] != w {
			t.Errorf("%s: %v, want %v", c, got[c], w)
		}
	}
	for _, op := range []string{"InitiateAuth", "RespondToAuthChallenge", "AssociateSoftwareToken", "VerifySoftwareToken", "SetUserMFAPreference", "GetUser"} {
		if cognito.CategoryOf(op) == "" {
			t.Errorf("%s has no quota category", op)
		}
	}
}

func TestParseRatesRefusesUnknownCategories(t *testing.T) {
	if _, err := cognito.ParseRates("UserUpdates=10"); err == nil {
		t.Fatal("a typo was accepted")
	}
	if _, err := cognito.ParseRates("UserUpdate=-1"); err == nil {
		t.Fatal("a negative rate was accepted")
	}
	got, err := cognito.ParseRates("UserUpdate=10, UserRead=2.5")
	if err != nil || got[cognito.CategoryUserUpdate] != 10 || got[cognito.CategoryUserRead] != 2.5 {
		t.Fatalf("%v %v", got, err)
	}
}

// Each category has its own bucket: UserUpdate calls wait for theirs while
// a UserRead call goes through at once; QPS 0 turns all pacing off.
func TestPacingPerCategory(t *testing.T) {
	fake := cognitofake.New()
	if err := fake.Start(); err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	rates := map[string]float64{cognito.CategoryUserUpdate: 5, cognito.CategoryUserRead: 1000}
	p, err := cognito.NewProvider(context.Background(), cognito.Options{Endpoint: fake.URL(), DefaultRegion: "us-east-1",
		MaxAttempts: 1, QPS: -1, Burst: 1, CategoryRates: rates})
	if err != nil {
		t.Fatal(err)
	}
	api := p.ForRegion("us-east-1")
	start := time.Now()
	for range 6 {
		_, _ = api.AssociateSoftwareToken(context.Background(), cognito.Credential{AccessToken: "tok"})
	}
	if elapsed := time.Since(start); elapsed < 900*time.Millisecond {
		t.Fatalf("6 UserUpdate calls at 5/s took only %s", elapsed)
	}
	start = time.Now()
	for range 6 {
		_, _ = api.GetUser(context.Background(), "tok")
	}
	if elapsed := time.Since(start); elapsed > 500*time.Millisecond {
		t.Fatalf("UserRead calls waited for another category's bucket: %s", elapsed)
	}

	off, err := cognito.NewProvider(context.Background(), cognito.Options{Endpoint: fake.URL(), DefaultRegion: "us-east-1",
		MaxAttempts: 1, QPS: 0, Burst: 1, CategoryRates: rates})
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	for range 6 {
		_, _ = off.ForRegion("us-east-1").AssociateSoftwareToken(context.Background(), cognito.Credential{AccessToken: "tok"})
	}
	if elapsed := time.Since(start); elapsed > 500*time.Millisecond {
		t.Fatalf("--cognito-qps 0 still paced: %s", elapsed)
	}
}
