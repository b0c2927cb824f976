package butlerimport

import (
	"errors"
	"net/url"
	"strings"
)

// rawURL is a URL split into its parts as written, so that a part can be
// swapped for a ${VAR} reference without re-encoding the rest.
type rawURL struct {
	scheme, user, password, host, path, query, fragment string
	hasUser, hasPassword, hasQuery, hasFragment         bool
}

// splitURL splits an absolute http(s) URL. It checks the URL the way Butler
// (new URL) and Herald's sinks would refuse it: a scheme other than http or
// https, or no host.
func splitURL(s string) (rawURL, error) {
	u, err := url.Parse(s)
	if err != nil {
		// url's message quotes the whole URL, which may hold a secret.
		return rawURL{}, errors.New("is not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return rawURL{}, errors.New("is not an http:// or https:// URL")
	}
	if u.Host == "" {
		return rawURL{}, errors.New("has no host")
	}
	var r rawURL
	var rest string
	r.scheme, rest, _ = strings.Cut(s, "://")
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority := rest[:end]
	rest = rest[end:]
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		r.hasUser = true
		r.user, r.password, r.hasPassword = strings.Cut(authority[:i], ":")
		authority = authority[i+1:]
	}
	r.host = authority
	rest, r.fragment, r.hasFragment = strings.Cut(rest, "#")
	r.path, r.query, r.hasQuery = strings.Cut(rest, "?")
	return r, nil
}

// String reassembles the URL; parts are used as they are (already escaped
// for herald.toml by the caller).
func (r rawURL) String() string {
	var b strings.Builder
	b.WriteString(r.scheme + "://")
	if r.hasUser {
		b.WriteString(r.user)
		if r.hasPassword {
			b.WriteString(":" + r.password)
		}
		b.WriteByte('@')
	}
	b.WriteString(r.host + r.path)
	if r.hasQuery {
		b.WriteString("?" + r.query)
	}
	if r.hasFragment {
		b.WriteString("#" + r.fragment)
	}
	return b.String()
}

// escaped returns r with every part escaped for herald.toml ($ -> $$).
func (r rawURL) escaped() rawURL {
	r.scheme, r.user, r.password = escapeDollar(r.scheme), escapeDollar(r.user), escapeDollar(r.password)
	r.host, r.path = escapeDollar(r.host), escapeDollar(r.path)
	r.query, r.fragment = escapeDollar(r.query), escapeDollar(r.fragment)
	return r
}

// secretParam reports whether a query parameter name usually carries a
// credential: Azure Logic Apps and Power Automate put theirs in sig, Azure
// Functions in code, many services in token, key or api_key.
func secretParam(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "sig", "signature", "key", "apikey", "api_key", "api-key", "code", "auth", "pass", "pwd", "sv_sig":
		return true
	}
	return strings.Contains(n, "token") || strings.Contains(n, "secret") || strings.Contains(n, "password")
}

// envName turns parts into an environment variable name: upper case, with
// anything but letters and digits as "_".
func envName(parts ...string) string {
	s := strings.ToUpper(strings.Join(parts, "_"))
	s = strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
	for strings.Contains(s, "__") {
		s = strings.ReplaceAll(s, "__", "_")
	}
	return strings.Trim(s, "_")
}
