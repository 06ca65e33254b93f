package cognitofake

import (
	"encoding/json"
	"slices"
)

// MFA factor names, as ChallengeNameType and UserMFASettingList spell them.
const (
	FactorSMS      = "SMS_MFA"
	FactorTOTP     = "SOFTWARE_TOKEN_MFA"
	FactorEmail    = "EMAIL_OTP"
	FactorWebAuthn = "WEB_AUTHN"
)

// factorOrder is the order the fake lists factors in, SMS first as Cognito's
// MFAS_CAN_CHOOSE does (`["SMS_MFA","SOFTWARE_TOKEN_MFA"]`).
var factorOrder = []string{FactorSMS, FactorTOTP, FactorEmail, FactorWebAuthn}

// factors are the MFA types active in the pool.
func (p *Pool) factors() []string {
	return pick(p.SMSMFA, p.SoftwareTokenMFA, p.EmailMFA, p.WebAuthnMFA)
}

// listed is the user's UserMFASettingList: the factors enabled in the user's
// MFA preference. TOTP stays listed under ReplaceImmediately after its token
// was dropped (stale, as amplify-js#1226 saw).
func (u *User) listed() []string { return pick(u.SMSMFA, u.totpEnabled, u.EmailMFA) }

// pick is the factors of factorOrder whose flag is set, flags in that order.
func pick(on ...bool) []string {
	var out []string
	for i, set := range on {
		if set {
			out = append(out, factorOrder[i])
		}
	}
	return out
}

// usable are the listed factors a sign-in can be challenged with: a listed
// TOTP factor needs a registered token.
func (u *User) usable() []string {
	return slices.DeleteFunc(u.listed(), func(f string) bool { return f == FactorTOTP && u.totpSecret == "" })
}

// preferred is the user's PreferredMfaSetting ("" for none).
func (u *User) preferred() string {
	switch {
	case u.SMSPreferred:
		return FactorSMS
	case u.totpPreferred:
		return FactorTOTP
	case u.EmailPreferred:
		return FactorEmail
	}
	return ""
}

// nextStep is what follows a correct password: a challenge name, or "" for
// tokens. The factors the user has enabled come first: the preferred one,
// the only one, or SELECT_MFA_TYPE when several are enabled and none is
// preferred (API reference SetUserMFAPreference). In a pool that requires
// MFA a user with none is still challenged: with a registered software token
// (left registered by MFA_SETUP, or by turning TOTP off: reports in
// docs/cognito-fidelity.md), else by SMS or e-mail when the pool has them and
// the user has a phone number or address (developer guide: they "require no
// additional configuration"), and only then MFA_SETUP.
func (p *Pool) nextStep(u *User) string {
	if p.MFA == MFAOff {
		return ""
	}
	factors := u.usable()
	switch {
	case len(factors) > 1 && slices.Contains(factors, u.preferred()):
		return u.preferred()
	case len(factors) > 1:
		return "SELECT_MFA_TYPE"
	case len(factors) == 1:
		return factors[0]
	case p.MFA != MFAOn:
		return ""
	case u.totpSecret != "":
		return FactorTOTP
	case p.SMSMFA && u.PhoneNumber != "":
		return FactorSMS
	case p.EmailMFA && u.Email != "":
		return FactorEmail
	}
	return "MFA_SETUP"
}

// selectable reports whether a SELECT_MFA_TYPE answer names a factor the
// user can be challenged with.
func (p *Pool) selectable(u *User, factor string) bool {
	switch factor {
	case FactorTOTP:
		return u.totpSecret != ""
	case FactorSMS:
		return u.SMSMFA || p.SMSMFA && u.PhoneNumber != ""
	case FactorEmail:
		return u.EmailMFA || p.EmailMFA && u.Email != ""
	}
	return false
}

func (s *Server) challenge(p *Pool, c *AppClient, u *User, name, stage string) *authResult {
	params := map[string]string{"USER_ID_FOR_SRP": u.Username}
	// The factors on offer, as a JSON list in a string, the way Cognito sends
	// them: every type active in the pool, and the user's own factors.
	switch name {
	case "SELECT_MFA_TYPE":
		params["MFAS_CAN_CHOOSE"] = factorList(append(p.factors(), u.usable()...))
	case "MFA_SETUP":
		if f := p.factors(); len(f) > 0 {
			params["MFAS_CAN_SETUP"] = factorList(f)
		}
	case FactorSMS:
		s.texts++ // each SMS_MFA challenge sends a text message
		params["CODE_DELIVERY_DELIVERY_MEDIUM"] = "SMS"
	case FactorEmail:
		s.emails++ // and each EMAIL_OTP challenge an e-mail
		params["CODE_DELIVERY_DELIVERY_MEDIUM"] = "EMAIL"
	}
	return &authResult{
		ChallengeName:       name,
		ChallengeParameters: params,
		Session:             s.newSession(p, c, u, name, stage),
	}
}

// factorList is a JSON list of the factors, each once, in factorOrder.
func factorList(factors []string) string {
	var out []string
	for _, f := range factorOrder {
		if slices.Contains(factors, f) {
			out = append(out, f)
		}
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// TextsSent and EmailsSent count the SMS_MFA and EMAIL_OTP challenges the
// fake issued: each is a message Cognito sends, and bills, so a client must
// not sign in again and again into one.
func (s *Server) TextsSent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.texts
}

// EmailsSent: see TextsSent.
func (s *Server) EmailsSent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.emails
}
