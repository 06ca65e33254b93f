package cognitofake

// mfaSettings is one factor's part of a SetUserMFAPreference request.
type mfaSettings struct{ Enabled, PreferredMfa bool }

// mfaPreference is what SetUserMFAPreference and AdminSetUserMFAPreference share.
type mfaPreference struct {
	SMSMfaSettings, SoftwareTokenMfaSettings, EmailMfaSettings *mfaSettings
}

func (s *Server) setUserMFAPreference(body []byte) (any, *apiError) {
	var in struct {
		AccessToken string
		mfaPreference
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	t, e := s.userToken(in.AccessToken)
	if e != nil {
		return nil, e
	}
	return map[string]string{}, s.applyMFAPreference(t.pool, t.user, in.mfaPreference, false)
}

// applyMFAPreference checks the whole request, then applies it: a refused
// request changes nothing (assumed). Enabling a factor the user cannot
// receive is refused; the wording differs between the user's API ("User has
// not set up / verified software token mfa": amplify-js#944, #1875, #3844 and
// Amplify's own constants) and the Admin API ("User does not have delivery
// config set to turn on SOFTWARE_TOKEN_MFA": aws/aws-sdk-js-v3#4645).
func (s *Server) applyMFAPreference(p *Pool, u *User, in mfaPreference, admin bool) *apiError {
	st := in.SoftwareTokenMfaSettings
	if st != nil && st.Enabled && u.totpSecret == "" {
		switch {
		case admin:
			return errNoDeliveryConfig(FactorTOTP)
		case u.pendingSecret == "":
			return errTOTPNotSetUp
		}
		return errTOTPNotVerified
	}
	if in.SMSMfaSettings != nil && in.SMSMfaSettings.Enabled && u.PhoneNumber == "" {
		return errNoDeliveryConfig(FactorSMS) // assumed by analogy with the TOTP wording
	}
	if in.EmailMfaSettings != nil && in.EmailMfaSettings.Enabled && u.Email == "" {
		return errNoDeliveryConfig(FactorEmail)
	}
	next := *u
	set := func(in *mfaSettings, enabled, preferred *bool) {
		if in == nil {
			return
		}
		*enabled, *preferred = in.Enabled, in.Enabled && in.PreferredMfa
		if *preferred { // one preferred factor at most
			next.SMSPreferred, next.totpPreferred, next.EmailPreferred = false, false, false
			*preferred = true
		}
	}
	set(in.SMSMfaSettings, &next.SMSMFA, &next.SMSPreferred)
	set(in.EmailMfaSettings, &next.EmailMFA, &next.EmailPreferred)
	set(st, &next.totpEnabled, &next.totpPreferred)
	turnsOffOnlyFactor := st != nil && !st.Enabled && p.MFA == MFAOn && u.totpSecret != "" && !next.SMSMFA && !next.EmailMFA
	if turnsOffOnlyFactor {
		switch s.disableMode {
		case DisableRefused:
			return invalidParameter("MFA is required for this user pool: software token MFA cannot be disabled")
		case DisableIgnored:
			return nil
		}
		// DisableEmptiesList: applied below; the token stays registered, so
		// nextStep still challenges it.
	}
	u.SMSMFA, u.SMSPreferred, u.EmailMFA, u.EmailPreferred = next.SMSMFA, next.SMSPreferred, next.EmailMFA, next.EmailPreferred
	u.totpEnabled, u.totpPreferred = next.totpEnabled, next.totpPreferred
	return nil
}
