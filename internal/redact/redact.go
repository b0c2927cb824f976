// Package redact keeps secrets carried in URLs (webhook and heartbeat URLs hold
// their credential in the path, query or user info) out of log lines, errors
// and reasons. The sinks (through sinks/internal/httpx) and the agent's
// heartbeat share it.
package redact

import (
	"encoding/base64"
	"net/url"
	"sort"
	"strings"
)

// minSecretLen is the shortest string a Redactor scrubs. Shorter pieces of a
// URL ("v1", "api") carry no secret, and scrubbing them would shred every
// reason that happens to contain them.
const minSecretLen = 4

// Redacted replaces a secret in text shown to people.
const Redacted = "…"

// URL returns the part of a webhook URL that is safe to show: scheme and
// host, followed by "/…" when the URL has a path, query or user info. Webhook
// URLs carry their credential in exactly those places (SIGNL4's team secret,
// Rocket.Chat's token, a Slack-style path), so none of them is ever shown.
func URL(u *url.URL) string {
	if u == nil {
		return ""
	}
	s := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawPath != "" || u.RawQuery != "" || u.User != nil || u.Fragment != "" || u.Opaque != "" {
		s += "/" + Redacted
	}
	return s
}

// Redactor scrubs known secrets from text before it reaches a Result.Reason, an
// error or a log line. It is the last line of defence for text that a sink does
// not compose itself: Go's transport errors quote the whole request URL, and a
// destination's error body may echo the path or the Authorization header back.
type Redactor struct {
	secrets []string // longest first, so a secret is replaced before its parts
}

// New returns a Redactor for the secrets given and for every piece of
// the given URLs that may carry one (user info, path segments, query values),
// in raw and escaped forms. Scheme, host and port are not secret and stay
// visible so that errors still say where a request went.
func New(urls []*url.URL, secrets ...string) *Redactor {
	r := &Redactor{}
	seen := map[string]bool{}
	add := func(s string) {
		if len(s) < minSecretLen || seen[s] {
			return
		}
		seen[s] = true
		r.secrets = append(r.secrets, s)
	}
	addAll := func(s string) {
		add(s)
		add(url.PathEscape(s))
		add(url.QueryEscape(s))
	}
	for _, s := range secrets {
		addAll(s)
	}
	for _, u := range urls {
		if u == nil {
			continue
		}
		addAll(u.String())
		if u.User != nil {
			addAll(u.User.Username())
			if p, ok := u.User.Password(); ok {
				addAll(p)
				// What a server sees and may echo: the Authorization header.
				add(base64.StdEncoding.EncodeToString([]byte(u.User.Username() + ":" + p)))
			}
		}
		for _, p := range []string{u.EscapedPath(), u.Path, u.RawQuery, u.Fragment, u.Opaque} {
			if p != "/" {
				addAll(p)
			}
		}
		for _, seg := range strings.Split(u.Path, "/") {
			addAll(seg)
		}
		for _, seg := range strings.Split(u.EscapedPath(), "/") {
			add(seg)
		}
		for _, vs := range u.Query() {
			for _, v := range vs {
				addAll(v)
			}
		}
	}
	sort.SliceStable(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
	return r
}

// Redact returns s with every known secret replaced by "…".
func (r *Redactor) Redact(s string) string {
	if r == nil {
		return s
	}
	for _, sec := range r.secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, Redacted)
		}
	}
	return s
}
