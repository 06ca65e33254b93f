package cognitofake

// Lambda triggers: Cognito declares UserLambdaValidationException,
// InvalidLambdaResponseException and UnexpectedLambdaException on
// InitiateAuth and RespondToAuthChallenge ([SDK]); the fake answers them as
// fault modes, as a pool's broken or refusing trigger would.
const (
	// TriggerPreAuthentication runs on InitiateAuth, before the password is checked.
	TriggerPreAuthentication = "PreAuthentication"
	// TriggerPreTokenGeneration runs wherever tokens are issued: InitiateAuth
	// without a challenge, or the RespondToAuthChallenge that ends one.
	TriggerPreTokenGeneration = "PreTokenGeneration"
)

// The exceptions a trigger causes.
const (
	LambdaRejected     = "UserLambdaValidationException"  // the function refused the user
	LambdaBadResponse  = "InvalidLambdaResponseException" // it answered something Cognito cannot read
	LambdaInvokeFailed = "UnexpectedLambdaException"      // it could not be invoked, or timed out
)

// LambdaFault makes a trigger fail for a pool's users, or one of them, until
// ClearLambdaFaults.
type LambdaFault struct {
	PoolID string
	// User limits the fault to one username ("" for every user of the pool).
	User    string
	Trigger string
	// Code is one of LambdaRejected, LambdaBadResponse, LambdaInvokeFailed.
	Code string
	// Message defaults to the wording users report for the code.
	Message string
}

// SetLambdaFault adds a failing trigger.
func (s *Server) SetLambdaFault(f LambdaFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lambdaFaults = append(s.lambdaFaults, f)
}

// ClearLambdaFaults makes every trigger succeed again.
func (s *Server) ClearLambdaFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lambdaFaults = nil
}

// lambdaFault is the error of a failing trigger for u, if one is set.
func (s *Server) lambdaFault(p *Pool, u *User, trigger string) *apiError {
	for _, f := range s.lambdaFaults {
		if f.PoolID == p.ID && f.Trigger == trigger && (f.User == "" || f.User == u.Username) {
			return errf(f.Code, lambdaMessage(f))
		}
	}
	return nil
}

// lambdaMessage: "<Trigger> failed with error <text>." (UserLambdaValidation),
// "Unrecognizable lambda output" (amazon-cognito-identity-js#167,
// aws-sdk-android-samples#165), "<Trigger> invocation failed due to error
// <text>." (amazon-cognito-identity-dart-2#204).
func lambdaMessage(f LambdaFault) string {
	switch {
	case f.Message != "":
		return f.Message
	case f.Code == LambdaRejected:
		return f.Trigger + " failed with error Access denied."
	case f.Code == LambdaBadResponse:
		return "Unrecognizable lambda output"
	}
	return f.Trigger + " invocation failed due to error Socket timeout while invoking Lambda function."
}
