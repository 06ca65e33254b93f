package localenv

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
)

// codeOnce is the rule real Cognito applies and cognito-local lacks: a TOTP
// code accepted once for a user is refused afterwards with
// ExpiredCodeException ("Your software token has already been used once.";
// amplify-swift's MFASignInTests waits 30 s after verifying for this
// reason). It sits in the counting proxy in front of cognito-local and
// covers VerifySoftwareToken with an access token and the
// SOFTWARE_TOKEN_MFA answer.
type codeOnce struct {
	mu   sync.Mutex
	used map[string]bool
}

func newCodeOnce() *codeOnce { return &codeOnce{used: map[string]bool{}} }

func (c *codeOnce) wrap(op string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		key := codeKey(op, body)
		if key != "" {
			c.mu.Lock()
			seen := c.used[key]
			c.mu.Unlock()
			if seen {
				w.Header().Set("Content-Type", "application/x-amz-json-1.1")
				w.Header().Set("X-Amzn-Errortype", "ExpiredCodeException")
				w.WriteHeader(http.StatusBadRequest)
				_ = json.NewEncoder(w).Encode(map[string]string{"__type": "ExpiredCodeException",
					"message": "Your software token has already been used once."})
				return
			}
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		if key != "" && rec.status == http.StatusOK {
			c.mu.Lock()
			c.used[key] = true
			c.mu.Unlock()
		}
	})
}

// codeKey is user+code for the requests that spend a code, or "".
func codeKey(op string, body []byte) string {
	var in struct {
		AccessToken, UserCode, ChallengeName string
		ChallengeResponses                   map[string]string
	}
	if json.Unmarshal(body, &in) != nil {
		return ""
	}
	switch {
	case op == "VerifySoftwareToken" && in.AccessToken != "" && in.UserCode != "":
		return tokenUser(in.AccessToken) + "\x00" + in.UserCode
	case op == "RespondToAuthChallenge" && in.ChallengeName == "SOFTWARE_TOKEN_MFA":
		return in.ChallengeResponses["USERNAME"] + "\x00" + in.ChallengeResponses["SOFTWARE_TOKEN_MFA_CODE"]
	}
	return ""
}

// tokenUser is the username a cognito-local access token (a JWT) names.
func tokenUser(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return token
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return token
	}
	var claims struct {
		Username string `json:"username"`
		Sub      string `json:"sub"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return token
	}
	return claims.Username
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
