// Package conformance is one test suite of the Cognito behaviours the
// operator relies on, run against up to three targets. Each behaviour is a
// subtest named for it (TestConformance/<target>/<behaviour>), and each names
// in a comment its source row in docs/cognito-fidelity.md. The calls go
// through the real aws-sdk-go-v2 Cognito client, unsigned as the operator
// sends them, never through internal/cognito: the suite tests Cognito (or a
// stand-in for it), not the operator's wrapper. Codes come from pquerna/otp.
//
// # Targets
//
//   - fake: internal/cognitofake served on loopback, in its strictest modes
//     (one-time codes on; where the fake has modes for what the documents
//     leave open — token replacement, turning TOTP off where MFA is
//     required, a reused code on VerifySoftwareToken — each tested one after
//     the other). Every behaviour must pass: the fake is the model of AWS that the
//     controller tests trust.
//   - cognito-local: the npm emulator pinned in hack/cognito-local, started by
//     internal/localenv, and reached directly (not through localenv's proxy,
//     which may add shims of AWS behaviour for other tests). It needs
//     `make cognito-local` (the test skips and says so when
//     hack/cognito-local/node_modules is missing). What it lacks
//     is declared once, in cognitoLocalGaps (gaps_test.go), and for each gap
//     the suite asserts that the behaviour is still ABSENT, so an upgrade
//     that adds one fails the test with a message to update the list.
//   - real: a real Amazon Cognito user pool, in TestConformanceReal. The
//     same path — provisioning through the Admin API, every behaviour as
//     against AWS, teardown, the recording — runs in every `go test` against
//     the fake (default modes, one-time codes on), reached by an explicit
//     endpoint: TestConformanceRealPathOnFake, and TestRealEndToEndOnFake
//     for make e2e-aws's manager run. An AWS_ENDPOINT_URL… variable (or an
//     endpoint_url in the AWS profile) fails a real run rather than turning
//     it into an emulator run.
//
// `go test ./test/conformance/` runs fake and cognito-local (in parallel).
// COGNITO_CONFORMANCE_TARGET=fake or =cognito-local (or both, comma-separated)
// narrows that. The real target runs, in addition, when
// COGNITO_CONFORMANCE_REGION is set and the default AWS credential chain
// (environment, AWS_PROFILE, SSO, instance role…) yields credentials; with
// the region but no credentials it skips and says why:
//
//	COGNITO_CONFORMANCE_REGION=eu-west-1 AWS_PROFILE=sandbox \
//	    go test ./test/conformance/ -run Real -v -count=1
//
// Behaviours AWS does not document are logged as "RECORDED: …" on the real
// target rather than failed; read them from the -v output. Where reports
// word a message several ways, any known wording passes.
//
// # What AWS answered
//
// A real run writes every answer it observed (each behaviour's exception
// codes and messages, challenges and lists; the date, the region and
// "target": "aws") to testdata/aws-<date>-<region>.json. Commit it:
// TestConformanceRealPathOnFake replays the newest one against the fake and
// fails, naming the behaviour, wherever the fake answers otherwise (it
// skips, saying so, while there is none). The run itself is the way to turn
// the fake's guesses into facts, and a later change of AWS into a diff.
//
// # Fake only
//
// Some behaviours need what the free-tier real run does not provision, and
// run on the fake alone (the other targets skip them, saying why):
// SelectMFAType (an SMS factor: an SNS role, a phone number, billable
// texts), FactorsInsteadOfSetup (SMS MFA, and e-mail MFA, which needs the
// Essentials plan), TokenWithoutAdminScope (access-token customization:
// Essentials and a pre token generation Lambda), LambdaTriggerFaults (a
// failing Lambda trigger), VerifyStatusError (not provokable on demand) and
// Throttling (it would throttle the whole account). Threat protection
// (Plus) is not exercised anywhere: docs/cognito-fidelity.md says what it
// means for the operator.
//
// # The real target
//
// It creates throw-away user pools named cognito-mfa-conformance-<kind>-<random>
// (tagged purpose=cognito-mfa-operator-conformance, deletion protection off,
// feature plan Lite, UsernameConfiguration stated: case-sensitive but for
// one): MFA OPTIONAL with TOTP, MFA ON with TOTP, e-mail as username
// (case-sensitive, case-insensitive, and with MFA ON for make e2e-aws), and
// TOTP disabled, plus a pool of their own for the behaviours that change
// their pool (TOTPOffWhereRequired requires MFA after enrolling); app
// clients with and without a secret allowing USER_PASSWORD_AUTH; users through AdminCreateUser (MessageAction SUPPRESS:
// no message is sent) and AdminSetUserPassword (Permanent). Users are deleted
// after each behaviour and every pool at the end, failures included
// (t.Cleanup); a pool that could not be deleted is reported with its id. Only
// an interrupted run (kill, Ctrl-C) leaves pools behind: find them by name or
// tag. The provisioning code is the same that sets up the cognito-local
// target, with a SigV4-signed client there, so it is exercised by every
// `make test`.
//
// IAM permissions the credentials need (TestIAMPolicyCoversAdminCallsInTheCode
// and the real path on the fake check that every Admin call is here; the public operations — InitiateAuth,
// RespondToAuthChallenge, AssociateSoftwareToken, VerifySoftwareToken,
// SetUserMFAPreference, GetUser — are not IAM-authorised and are sent unsigned):
//
//	{"Effect": "Allow", "Resource": "*", "Action": [
//	  "cognito-idp:CreateUserPool", "cognito-idp:TagResource",
//	  "cognito-idp:SetUserPoolMfaConfig", "cognito-idp:CreateUserPoolClient",
//	  "cognito-idp:AdminCreateUser", "cognito-idp:AdminSetUserPassword",
//	  "cognito-idp:AdminGetUser", "cognito-idp:AdminDeleteUser",
//	  "cognito-idp:DescribeUserPool", "cognito-idp:DeleteUserPool"]}
//
// (TagResource is there because the pools are tagged when created. Resource
// can be narrowed to arn:aws:cognito-idp:<region>:<account>:userpool/* for
// everything but CreateUserPool.)
//
// Cost: nothing beyond the free tier. User pools and app clients are free;
// Cognito bills monthly active users, and a run signs in a few dozen users
// (far inside the 10,000 MAUs a month the Lite and Essentials plans include)
// with a few hundred requests, far below the request-rate quotas. No SMS or
// e-mail is sent (see "Fake only"). The Lockout behaviour locks one
// throw-away user for a second or two, with eight wrong passwords at most.
package conformance
