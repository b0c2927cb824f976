package httpx

import (
	"net/url"

	"github.com/heraldhq/herald/internal/redact"
)

// Redacted replaces a secret in text shown to people.
const Redacted = redact.Redacted

// Redactor scrubs known secrets from text; see redact.Redactor.
type Redactor = redact.Redactor

// RedactURL returns the part of a webhook URL that is safe to show; see
// redact.URL.
func RedactURL(u *url.URL) string { return redact.URL(u) }

// NewRedactor returns a Redactor for the secrets given and the pieces of urls
// that may carry one; see redact.New.
func NewRedactor(urls []*url.URL, secrets ...string) *Redactor { return redact.New(urls, secrets...) }
