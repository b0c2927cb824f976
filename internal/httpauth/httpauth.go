// Package httpauth finds the token of an HTTP request and compares it with a
// secret in constant time, the same way for Herald's hooks and /alerts.
package httpauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// Where a token was found.
const (
	FromHeader = "header" // Authorization: Bearer TOKEN
	FromQuery  = "query"  // ?token=TOKEN
)

// RequestToken returns the token of r and where it was: a bearer token in the
// Authorization header (the scheme is case-insensitive, RFC 7235), else the
// query parameter token. An empty value counts as absent, so an empty
// ?token= does not hide a header; a header of another scheme is no token.
// It returns "", "" when r carries none.
func RequestToken(r *http.Request) (tok, from string) {
	if scheme, cred, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		if cred = strings.TrimSpace(cred); cred != "" {
			return cred, FromHeader
		}
	}
	if q := r.URL.Query().Get("token"); q != "" {
		return q, FromQuery
	}
	return "", ""
}

// Secret is a token to compare requests' tokens with. The zero Secret
// matches nothing.
type Secret struct {
	sum [sha256.Size]byte
	set bool
}

// NewSecret returns the Secret of token; an empty token matches nothing.
func NewSecret(token string) Secret {
	return Secret{sum: sha256.Sum256([]byte(token)), set: token != ""}
}

// Matches reports whether tok is the secret, in time independent of both
// values and lengths (both are hashed before a constant-time compare).
func (s Secret) Matches(tok string) bool {
	sum := sha256.Sum256([]byte(tok))
	return subtle.ConstantTimeCompare(sum[:], s.sum[:]) == 1 && s.set && tok != ""
}
