package enrollment_test

import (
	"testing"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/cognitofake"
)

// A reconcile cut short between any two steps, whether or not Cognito acted
// on the last call, ends Ready with the verified secret stored, and only the
// steps that were lost are repeated.
func TestInterruptedEnrollmentResumes(t *testing.T) {
	lost := func(op string) (string, cognitofake.Fault) {
		return op, cognitofake.Fault{Code: "InternalErrorException", Message: "connection reset", AfterServing: true}
	}
	failed := func(op string) (string, cognitofake.Fault) {
		return op, cognitofake.Fault{Code: "InternalErrorException", Message: "unavailable"}
	}
	for _, tc := range []struct {
		name       string
		mfa        string
		fault      func(string) (string, cognitofake.Fault)
		op         string
		associates int
	}{
		{"association lost", cognitofake.MFAOptional, lost, "AssociateSoftwareToken", 2},
		{"stored, verify never sent", cognitofake.MFAOptional, failed, "VerifySoftwareToken", 1},
		{"verified, reply lost", cognitofake.MFAOptional, lost, "VerifySoftwareToken", 1},
		{"preference set, reply lost", cognitofake.MFAOptional, lost, "SetUserMFAPreference", 1},
		{"MFA_SETUP association lost", cognitofake.MFAOn, lost, "AssociateSoftwareToken", 2},
		{"MFA_SETUP stored, verify never sent", cognitofake.MFAOn, failed, "VerifySoftwareToken", 2},
		{"MFA_SETUP verified, reply lost", cognitofake.MFAOn, lost, "VerifySoftwareToken", 1},
		{"MFA_SETUP challenge answered, reply lost", cognitofake.MFAOn, lost, "RespondToAuthChallenge", 1},
		{"MFA_SETUP preference set, reply lost", cognitofake.MFAOn, lost, "SetUserMFAPreference", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, tc.mfa)
			w.credentials()
			op, fault := tc.fault(tc.op)
			fault.User = w.username
			fake.InjectFault(op, fault)
			before := fake.CallCounts()
			w.enrollment("resume")
			w.expectEnrolled("resume", true)
			if got := callsSince(before)["AssociateSoftwareToken"]; got != tc.associates {
				t.Fatalf("AssociateSoftwareToken called %d times, want %d", got, tc.associates)
			}
		})
	}
}
