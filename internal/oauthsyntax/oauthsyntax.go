// Package oauthsyntax holds the character rules of RFC 6749's Appendix A
// that both OAuth servers of the gateway (the mobile app's, in web, and
// SCIM's client credentials, in sso/scim) apply to what clients send.
package oauthsyntax

// VSChar reports whether s is 1..max characters of %x20-7E (RFC 6749
// Appendix A, VSCHAR: client_id, client_secret, state, error_description).
func VSChar(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
