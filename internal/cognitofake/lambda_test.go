package cognitofake_test

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// A failing trigger answers its exception where it runs (pre authentication
// on InitiateAuth, pre token generation wherever tokens are issued), for the
// user or pool it names only; the SDK decodes each into its typed error.
func TestLambdaFaults(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fault   cognitofake.LambdaFault
		initErr string // InitiateAuth as "ivy"
		respErr string // the SOFTWARE_TOKEN_MFA answer as "ivy"
		msg     string
	}{
		{"pre authentication refuses", cognitofake.LambdaFault{Trigger: cognitofake.TriggerPreAuthentication, Code: cognitofake.LambdaRejected},
			"UserLambdaValidationException", "", "PreAuthentication failed with error"},
		{"pre token generation answers garbage", cognitofake.LambdaFault{Trigger: cognitofake.TriggerPreTokenGeneration, Code: cognitofake.LambdaBadResponse},
			"", "InvalidLambdaResponseException", "Unrecognizable lambda output"},
		{"pre token generation times out", cognitofake.LambdaFault{Trigger: cognitofake.TriggerPreTokenGeneration, Code: cognitofake.LambdaInvokeFailed},
			"", "UnexpectedLambdaException", "PreTokenGeneration invocation failed due to error"},
		{"another user's fault", cognitofake.LambdaFault{User: "other", Trigger: cognitofake.TriggerPreAuthentication, Code: cognitofake.LambdaRejected},
			"", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, api := start(t)
			clk := newClock(fake)
			addPool(fake, "us-east-1_T", cognitofake.MFAOn, cognitofake.User{Username: "ivy", Password: "pw-ivy-1234"})
			fake.SetVerifiedToken("us-east-1_T", "ivy", oldSecret)
			f := tc.fault
			f.PoolID = "us-east-1_T"
			fake.SetLambdaFault(f)
			out, err := signIn(api, "app", "", "ivy", "pw-ivy-1234")
			if tc.initErr != "" {
				wantAPIError(t, err, tc.initErr, tc.msg)
				wantTyped(t, err, tc.initErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, err = answerTOTP(api, "app", *out.Session, "ivy", code(t, oldSecret, clk.Now()))
			if tc.respErr == "" {
				if err != nil {
					t.Fatalf("no fault for ivy: %v", err)
				}
				return
			}
			wantAPIError(t, err, tc.respErr, tc.msg)
			wantTyped(t, err, tc.respErr)
			fake.ClearLambdaFaults()
			out, err = signIn(api, "app", "", "ivy", "pw-ivy-1234")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := answerTOTP(api, "app", *out.Session, "ivy", code(t, oldSecret, clk.Now().Add(30e9))); err != nil {
				t.Fatalf("after ClearLambdaFaults: %v", err)
			}
		})
	}
}

// wantTyped fails unless the SDK decoded err into the typed exception of that name.
func wantTyped(t *testing.T, err error, code string) {
	t.Helper()
	var ok bool
	switch code {
	case "UserLambdaValidationException":
		var e *types.UserLambdaValidationException
		ok = errors.As(err, &e)
	case "InvalidLambdaResponseException":
		var e *types.InvalidLambdaResponseException
		ok = errors.As(err, &e)
	case "UnexpectedLambdaException":
		var e *types.UnexpectedLambdaException
		ok = errors.As(err, &e)
	}
	if !ok {
		t.Fatalf("%v: the SDK did not decode it as %s", err, code)
	}
}
