// Package cognitofake is a strict, in-process fake of the Cognito user pool
// API, served over HTTP in the JSON protocol the AWS SDK speaks, so tests
// exercise the real aws-sdk-go-v2 client. It models what cognito-local lacks:
// the MFA_SETUP session flow, SECRET_HASH (sign-in aliases included), token
// and session expiry, AWS's exception for each failure, JWT-shaped access
// tokens, one-time TOTP codes, and both documented rules for when a new
// software token replaces the old one. It counts calls per operation.
// docs/cognito-fidelity.md lists each behaviour with its source.
package cognitofake

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

const targetPrefix = "AWSCognitoIdentityProviderService."

// Server is the fake. Its zero value is not usable; call New.
type Server struct {
	mu       sync.Mutex
	now      func() time.Time
	noDate   bool
	pools    map[string]*Pool
	clients  map[string]*AppClient
	sessions map[string]*session
	tokens   map[string]*token
	calls    map[string]int
	faults   map[string][]Fault
	secrets  []string
	signed   int
	seq      int

	hook Hook

	spent map[string]bool // sessions used up: reused, they get their own message
	// reqRegion is the Region an Admin request was signed for.
	reqRegion string

	latency time.Duration

	disableMode        DisableMode
	replaceMode        ReplaceMode
	oneTimeCodes       bool
	reusedVerify       ReusedCodeMode
	noLockout          bool
	verifyStatusErrors []string // users (or "" for any) owed a Status ERROR
	lambdaFaults       []LambdaFault
	texts, emails      int // SMS_MFA and EMAIL_OTP challenges sent

	quotas quotas

	listener net.Listener
	http     *http.Server
}

// New returns a fake whose clock is time.Now.
func New() *Server {
	return &Server{
		now:      time.Now,
		pools:    map[string]*Pool{},
		clients:  map[string]*AppClient{},
		sessions: map[string]*session{},
		tokens:   map[string]*token{},
		spent:    map[string]bool{},
		calls:    map[string]int{},
		faults:   map[string][]Fault{},
	}
}

// SetClock replaces the fake's clock (token expiry and TOTP checks use it).
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// SetDateHeader turns the Date header of the fake's answers on (the
// default, as AWS sends it) or off (an endpoint, a proxy, that drops it).
func (s *Server) SetDateHeader(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noDate = !on
}

// Start serves the fake on a free loopback port.
func (s *Server) Start() error { return s.StartOn("127.0.0.1:0") }

// StartOn serves the fake on a given loopback address.
func (s *Server) StartOn(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s.listener = l
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.http.Serve(l) }()
	return nil
}

// URL is the fake's endpoint, for the SDK's BaseEndpoint.
func (s *Server) URL() string { return "http://" + s.listener.Addr().String() }

// Close stops serving.
func (s *Server) Close() error {
	if s.http == nil {
		return nil
	}
	return s.http.Close()
}

// Calls is how many requests an operation has received.
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// TotalCalls is how many requests the fake has received.
func (s *Server) TotalCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		n += c
	}
	return n
}

// CallCounts is a copy of the per-operation counts.
func (s *Server) CallCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// Hook observes requests: before serving (served=false) and after serving,
// before the reply is written (served=true). A test can crash the caller
// exactly there. Returning true before serving drops the request unserved,
// as if it never arrived. It runs under the fake's lock.
type Hook func(op, user string, served bool) (drop bool)

// SetHook installs a hook; nil removes it.
func (s *Server) SetHook(h Hook) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = h
}

// SetLatency delays every reply, as a remote Cognito would.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// SignedRequests is how many requests to the public operations carried an
// Authorization header: the operations the operator uses are public and
// must go unsigned. (The Admin operations must be signed.)
func (s *Server) SignedRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.signed
}

// Fault is an error the fake returns instead of serving a request.
type Fault struct {
	// User limits the fault to requests made as or for that username.
	User    string
	Code    string
	Message string
	// Status defaults to 400, or 500 for InternalErrorException.
	Status int
	// AfterServing applies the request, then answers with the error: the
	// caller never learns that Cognito acted, as after a crash or lost reply.
	AfterServing bool
}

// InjectFault makes the next request(s) to op fail, once per fault given.
func (s *Server) InjectFault(op string, faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[op] = append(s.faults[op], faults...)
}

// ResetFaults drops every fault still queued for user ("" drops the faults
// not limited to a user).
func (s *Server) ResetFaults(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for op, fs := range s.faults {
		keep := fs[:0]
		for _, f := range fs {
			if f.User != user {
				keep = append(keep, f)
			}
		}
		s.faults[op] = keep
	}
}

// takeFault removes and returns the first fault queued for op that matches the request.
func (s *Server) takeFault(op string, body []byte) (Fault, bool) {
	user := ""
	for i, f := range s.faults[op] {
		if f.User != "" && user == "" {
			user = s.requestUser(body)
		}
		if f.User == "" || f.User == user {
			s.faults[op] = append(s.faults[op][:i:i], s.faults[op][i+1:]...)
			return f, true
		}
	}
	return Fault{}, false
}

// requestUser is the username a request acts as, where the fake can tell.
func (s *Server) requestUser(body []byte) string {
	var in struct {
		AccessToken, Session, ClientId     string
		UserPoolId, Username               string
		AuthParameters, ChallengeResponses map[string]string
	}
	if json.Unmarshal(body, &in) != nil {
		return ""
	}
	switch {
	case s.tokens[in.AccessToken] != nil:
		return s.tokens[in.AccessToken].user.Username
	case s.sessions[in.Session] != nil:
		return s.sessions[in.Session].user.Username
	case in.UserPoolId != "" && in.Username != "" && s.pools[in.UserPoolId] != nil:
		if u := s.pools[in.UserPoolId].lookup(in.Username); u != nil {
			return u.Username
		}
		return in.Username
	case in.AuthParameters["USERNAME"] != "":
		// A sign-in by alias acts as the user it names.
		if c := s.clients[in.ClientId]; c != nil && s.pools[c.PoolID] != nil {
			if u := s.pools[c.PoolID].lookup(in.AuthParameters["USERNAME"]); u != nil {
				return u.Username
			}
		}
		return in.AuthParameters["USERNAME"]
	}
	return in.ChallengeResponses["USERNAME"]
}

type handler func(s *Server, body []byte) (any, *apiError)

var handlers = map[string]handler{
	"InitiateAuth":           (*Server).initiateAuth,
	"RespondToAuthChallenge": (*Server).respondToAuthChallenge,
	"AssociateSoftwareToken": (*Server).associateSoftwareToken,
	"VerifySoftwareToken":    (*Server).verifySoftwareToken,
	"SetUserMFAPreference":   (*Server).setUserMFAPreference,
	"GetUser":                (*Server).getUser,
}

// ServeHTTP speaks the awsJson1_1 protocol: POST /, X-Amz-Target names the operation.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || !json.Valid(body) {
		writeError(w, s.requestID(), &apiError{Code: "SerializationException", Message: "request body is not JSON"})
		return
	}
	s.mu.Lock()
	latency := s.latency
	s.mu.Unlock()
	time.Sleep(latency) // outside the lock: concurrent requests overlap as they would remotely
	s.mu.Lock()
	defer s.mu.Unlock()
	// Every answer, errors included, carries the fake's own time, as AWS's
	// do: the clock TOTP codes and token expiry are checked against.
	if s.noDate {
		w.Header()["Date"] = nil // net/http adds one otherwise
	} else {
		w.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))
	}
	s.calls[op]++
	signed := r.Header.Get("Authorization") != ""
	reqID := s.requestIDLocked()
	h, public := handlers[op]
	admin, isAdmin := adminHandlers[op]
	switch {
	case r.Method != http.MethodPost || !public && !isAdmin:
		writeError(w, reqID, &apiError{Code: "UnknownOperationException", Message: "operation " + op + " is not supported by the fake"})
		return
	case public && signed:
		s.signed++
	case isAdmin && !signed:
		writeError(w, reqID, errUnsigned)
		return
	case isAdmin:
		h, s.reqRegion = admin, regionOf(r.Header.Get("Authorization"))
	}
	var quotaUser string
	if s.quotas.needsUser() {
		quotaUser = s.requestUser(body)
	}
	if s.quotas.over(op, quotaUser, time.Now()) {
		writeError(w, reqID, &apiError{Code: "TooManyRequestsException", Message: "Rate exceeded"})
		return
	}
	var user string
	if s.hook != nil {
		user = s.requestUser(body)
		if s.hook(op, user, false) {
			writeError(w, reqID, &apiError{Code: "InternalErrorException", Message: "dropped by a test hook"})
			return
		}
	}
	f, faulty := s.takeFault(op, body)
	if faulty && !f.AfterServing {
		writeError(w, reqID, &apiError{Code: f.Code, Message: f.Message, Status: f.Status})
		return
	}
	out, apiErr := h(s, body)
	if s.hook != nil {
		_ = s.hook(op, user, true)
	}
	if faulty && apiErr == nil {
		apiErr = &apiError{Code: f.Code, Message: f.Message, Status: f.Status}
	}
	if apiErr != nil {
		writeError(w, reqID, apiErr)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", reqID)
	_ = json.NewEncoder(w).Encode(out)
}

func (s *Server) requestID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requestIDLocked()
}

func (s *Server) requestIDLocked() string {
	s.seq++
	return fmt.Sprintf("fake-%08d", s.seq)
}
