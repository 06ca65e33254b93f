package cognitofake_test

import (
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestUsersHaveASub(t *testing.T) {
	fake, api := start(t)
	fake.CreatePool("us-east-1_Subs", cognitofake.MFAOff, true)
	fake.CreateClient(cognitofake.AppClient{ID: "app", PoolID: "us-east-1_Subs"})
	fake.CreateUser("us-east-1_Subs", cognitofake.User{Username: "a", Password: "pw-a-123456", Email: "a@example.com"})
	fake.CreateUser("us-east-1_Subs", cognitofake.User{Username: "b", Password: "pw-b-123456"})
	fake.CreateUser("us-east-1_Subs", cognitofake.User{Username: "c", Password: "pw-c-123456", Sub: "given-sub"})

	a, b := fake.User("us-east-1_Subs", "a").Sub, fake.User("us-east-1_Subs", "b").Sub
	if !uuidV4.MatchString(a) || !uuidV4.MatchString(b) || a == b {
		t.Fatalf("generated subs %q and %q: want two distinct UUIDv4s", a, b)
	}
	if got := fake.User("us-east-1_Subs", "c").Sub; got != "given-sub" {
		t.Fatalf("a given Sub was replaced by %q", got)
	}

	// GetUser carries it as the sub attribute, with the e-mail when there is one.
	out, err := api.GetUser(ctx, &cip.GetUserInput{AccessToken: aws.String(fake.IssueAccessToken("app", "a"))})
	if err != nil {
		t.Fatal(err)
	}
	attrs := map[string]string{}
	for _, at := range out.UserAttributes {
		attrs[aws.ToString(at.Name)] = aws.ToString(at.Value)
	}
	if aws.ToString(out.Username) != "a" || attrs["sub"] != a || attrs["email"] != "a@example.com" {
		t.Fatalf("GetUser = %s %v, want a, sub %s, email a@example.com", aws.ToString(out.Username), attrs, a)
	}
}
