package cognito

import (
	"errors"
	"testing"
)

func TestCodeMayHaveBeenChecked(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{&Error{Code: "CodeMismatchException"}, true},
		{&Error{Code: "EnableSoftwareTokenMFAException"}, true},
		{&Error{Code: "ExpiredCodeException"}, true},
		{&Error{Code: "InternalErrorException"}, true}, // the answer may be lost after Cognito acted
		{&Error{Code: CodeUnreachable}, true},
		{&Error{Code: CodeCanceled}, true},
		{&Error{Code: "SomethingNewException"}, true}, // unknown: the safe side
		{errors.New("not a Cognito error"), true},
		{&Error{Code: "TooManyRequestsException"}, false},
		{&Error{Code: "InvalidParameterException"}, false},
		{&Error{Code: "NotAuthorizedException"}, false},
		{&Error{Code: "SoftwareTokenMFANotFoundException"}, false},
	}
	for _, tt := range tests {
		if got := CodeMayHaveBeenChecked(tt.err); got != tt.want {
			t.Errorf("CodeMayHaveBeenChecked(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
