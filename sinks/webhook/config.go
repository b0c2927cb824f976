package webhook

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"text/template"
	"time"

	"github.com/heraldhq/herald/plugins/sdk"
	"github.com/heraldhq/herald/sinks/internal/amlabels"
	"github.com/heraldhq/herald/sinks/internal/httpx"
)

// Config is the webhook sink's [sink.config].
type Config struct {
	// URL receives the events (required). It is treated as a secret: only its
	// scheme and host are ever shown.
	URL string `json:"url"`
	// Method is POST (default), PUT or GET. GET sends the payload's fields as
	// query parameters; POST and PUT send it as the body.
	Method string `json:"method"`
	// Headers are added to every request. Their values are treated as secrets.
	Headers map[string]string `json:"headers"`
	// BasicAuth sends HTTP Basic credentials; exclusive with BearerToken.
	BasicAuth *BasicAuth `json:"basic_auth"`
	// BearerToken sends "Authorization: Bearer <token>"; exclusive with BasicAuth.
	BearerToken string `json:"bearer_token"`
	// CAFile is a PEM file of CA certificates to trust, for servers with
	// self-signed or private-CA certificates.
	CAFile string `json:"ca_file"`
	// InsecureSkipVerify turns off TLS certificate verification.
	InsecureSkipVerify bool `json:"insecure_skip_verify"`
	// Timeout bounds each request, such as "10s" (the default).
	Timeout string `json:"timeout"`
	// Format is the payload: "herald" (default) or "butler".
	Format string `json:"format"`
	// Template is a Go text/template for the body, executed with the sdk.Event;
	// it replaces Format. POST and PUT only.
	Template string `json:"template"`
	// ContentType is the Content-Type of a templated body; default application/json.
	ContentType string `json:"content_type"`
	// Secret signs requests the Standard Webhooks way; "whsec_<base64>" or any
	// other string used as is.
	Secret string `json:"secret"`
	// Concurrency is how many requests may be in flight at once, from 1
	// (one after another) to MaxConcurrency; default DefaultConcurrency.
	Concurrency *int `json:"concurrency"`
	// MaxAlerts is how many alerts one request carries at most with format
	// alertmanager; default DefaultMaxAlerts.
	MaxAlerts *int `json:"max_alerts"`
	// ExternalURL is the externalURL of an alertmanager payload.
	ExternalURL string `json:"external_url"`
	// GeneratorURL is each alert's generatorURL in an alertmanager payload.
	GeneratorURL string `json:"generator_url"`
	// Labels and KeyLabel shape the labels of an alertmanager payload, as
	// in the alertmanager sink.
	amlabels.Config
}

// DefaultMaxAlerts is how many alerts a request in the alertmanager format
// carries at most unless the config says otherwise.
const DefaultMaxAlerts = 64

// DefaultConcurrency is how many requests the sink has in flight at once
// unless the config says otherwise. The agent never puts two events of one
// alert in the same batch, so the requests of a batch need no order.
const DefaultConcurrency = 8

// MaxConcurrency bounds Config.Concurrency. The agent sends at most 100
// events in a batch; each request in flight holds a connection.
const MaxConcurrency = 64

// BasicAuth is a user name and password for HTTP Basic authentication.
type BasicAuth struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

const (
	formatHerald       = "herald"
	formatButler       = "butler"
	formatAlertmanager = "alertmanager"
)

// reservedHeaders are set by the sink itself; a configured value for one of
// them would be overwritten or would break the request.
var reservedHeaders = map[string]string{
	"Content-Type":      "use content_type (with template)",
	"Content-Length":    "set by the sink",
	"Host":              "part of url",
	"Webhook-Id":        "set by the sink (Standard Webhooks)",
	"Webhook-Timestamp": "set by the sink (Standard Webhooks)",
	"Webhook-Signature": "set by the sink from secret",
}

// settings is a validated Config.
type settings struct {
	url    *url.URL
	target string // url as text, for requests without a query of their own
	method string
	// header holds the headers every request carries: the configured ones,
	// Content-Type, Authorization and User-Agent. It is shared by all
	// requests and never changed after validate.
	header      http.Header
	client      httpx.ClientConfig
	format      string
	tmpl        *template.Template
	contentType string
	key         []byte // Standard Webhooks signing key; nil: unsigned
	// The alertmanager format's settings.
	am *amSettings
}

func (c *Config) validate() (*settings, error) {
	u, err := httpx.ParseURL("url", c.URL)
	if err != nil {
		return nil, err
	}
	s := &settings{url: u, target: u.String(), header: http.Header{}, contentType: "application/json"}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	switch m := strings.ToUpper(c.Method); m {
	case "":
		s.method = http.MethodPost
	case http.MethodPost, http.MethodPut, http.MethodGet:
		s.method = m
	default:
		bad("method: must be POST, PUT or GET, got %q", c.Method)
	}

	for name, value := range c.Headers {
		canon := http.CanonicalHeaderKey(name)
		switch {
		case !validHeaderName(name):
			bad("headers: %q is not a valid header name", name)
		case reservedHeaders[canon] != "":
			bad("headers: %q cannot be set here: %s", name, reservedHeaders[canon])
		case strings.ContainsAny(value, "\r\n\x00"):
			bad("headers: the value of %q contains a line break", name)
		case canon == "Authorization" && (c.BasicAuth != nil || c.BearerToken != "" || u.User != nil):
			bad("headers: %q conflicts with basic_auth, bearer_token or credentials in url", name)
		default:
			s.header.Set(canon, value)
		}
	}

	auths := 0
	if c.BasicAuth != nil {
		auths++
		if c.BasicAuth.Username == "" {
			bad("basic_auth.username: required")
		}
		s.header.Set("Authorization", "Basic "+basicCredentials(c.BasicAuth))
	}
	if c.BearerToken != "" {
		auths++
		s.header.Set("Authorization", "Bearer "+c.BearerToken)
	}
	if u.User != nil {
		auths++
	}
	if auths > 1 {
		bad("basic_auth, bearer_token and credentials in url: set at most one")
	}

	timeout, err := httpx.ParseTimeout("timeout", c.Timeout)
	if err != nil {
		errs = append(errs, err)
	}
	s.client = httpx.ClientConfig{Timeout: timeout, CAFile: c.CAFile, InsecureSkipVerify: c.InsecureSkipVerify,
		Concurrency: DefaultConcurrency}
	if c.Concurrency != nil {
		if n := *c.Concurrency; n < 1 || n > MaxConcurrency {
			bad("concurrency: must be from 1 to %d, got %d", MaxConcurrency, n)
		} else {
			s.client.Concurrency = n
		}
	}

	switch c.Format {
	case "", formatHerald:
		s.format = formatHerald
	case formatButler:
		s.format = formatButler
	case formatAlertmanager:
		s.format = formatAlertmanager
		if s.method == http.MethodGet {
			bad("format: %q needs method POST or PUT", formatAlertmanager)
		}
		am := &amSettings{maxAlerts: DefaultMaxAlerts, externalURL: c.ExternalURL, generatorURL: c.GeneratorURL}
		if c.MaxAlerts != nil {
			if n := *c.MaxAlerts; n < 1 || n > 1000 {
				bad("max_alerts: must be from 1 to 1000, got %d", n)
			} else {
				am.maxAlerts = n
			}
		}
		if am.mapper, err = amlabels.New(c.Config); err != nil {
			errs = append(errs, err)
		}
		s.am = am
	default:
		bad("format: must be %q, %q or %q, got %q", formatHerald, formatButler, formatAlertmanager, c.Format)
	}
	if s.format != formatAlertmanager {
		for key, set := range map[string]bool{"max_alerts": c.MaxAlerts != nil, "external_url": c.ExternalURL != "",
			"generator_url": c.GeneratorURL != "", "labels": c.Labels != nil, "key_label": c.KeyLabel != nil} {
			if set {
				bad("%s: only applies with format = %q", key, formatAlertmanager)
			}
		}
	}

	if c.Template != "" {
		switch {
		case c.Format != "":
			bad("template and format: set one; a template replaces the format")
		case s.method == http.MethodGet:
			bad("template: needs method POST or PUT; GET has no body")
		}
		if s.tmpl, err = parseTemplate(c.Template); err != nil {
			errs = append(errs, err)
		}
	}
	if c.ContentType != "" {
		if c.Template == "" {
			bad("content_type: only applies with template")
		} else if _, _, err := mime.ParseMediaType(c.ContentType); err != nil {
			bad("content_type: %q is not a media type", c.ContentType)
		} else {
			s.contentType = c.ContentType
		}
	}

	if c.Secret != "" {
		if s.key, err = signingKey(c.Secret); err != nil {
			errs = append(errs, err)
		}
	}

	if s.method != http.MethodGet {
		s.header.Set("Content-Type", s.contentType)
	}
	if s.header.Get("User-Agent") == "" {
		s.header.Set("User-Agent", httpx.UserAgent)
	}
	return s, errors.Join(errs...)
}

// basicCredentials is the base64 text HTTP Basic authentication sends, as
// http.Request.SetBasicAuth builds it.
func basicCredentials(b *BasicAuth) string {
	return base64.StdEncoding.EncodeToString([]byte(b.Username + ":" + b.Password))
}

// signingKey decodes a Standard Webhooks secret: "whsec_" followed by the
// base64 key bytes, as the spec's libraries generate them; any other string
// is the key as is.
func signingKey(secret string) ([]byte, error) {
	b64, ok := strings.CutPrefix(secret, "whsec_")
	if !ok {
		return []byte(secret), nil
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(key) == 0 {
		return nil, errors.New("secret: after the whsec_ prefix must come the key in base64")
	}
	return key, nil
}

// parseTemplate parses a body template and executes it once against a sample
// event, so that a misspelt field fails at start-up rather than at 3 a.m.
func parseTemplate(text string) (*template.Template, error) {
	t, err := template.New("body").Funcs(funcs).Option("missingkey=zero").Parse(text)
	if err == nil {
		err = t.Execute(io.Discard, sampleEvent)
	}
	if err != nil {
		return nil, templateError(err)
	}
	return t, nil
}

// templateError names the config key; text/template's own messages start
// with "template: body:<line>:<col>", which then reads naturally.
func templateError(err error) error {
	return fmt.Errorf("template: %s", strings.TrimPrefix(err.Error(), "template: "))
}

var sampleEvent = sdk.Event{
	ID: "sample", Rule: "sample", Status: sdk.StatusFiring, Key: "sample", Severity: "critical",
	Title: "sample", Message: "sample", Fields: map[string]string{"TaskName": "sample"},
	Time: time.Unix(0, 0).UTC(), Host: "sample",
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c >= 0x80 || c <= ' ' || strings.IndexByte("\"(),/:;<=>?@[\\]{}\x7f", c) >= 0 {
			return false
		}
	}
	return true
}
