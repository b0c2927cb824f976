// Package webhook is Herald's generic webhook sink: it sends each event as an
// HTTP request, in Herald's own JSON, in Butler's reload-failed shape, or in a
// body of the user's own template, optionally signed the Standard Webhooks way.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"text/template"
	"time"

	"github.com/heraldhq/herald/plugins/sdk"
	"github.com/heraldhq/herald/sinks/internal/httpx"
)

// Name is the sink's plugin name in herald.toml.
const Name = "webhook"

//go:embed sample.toml
var sample []byte

// SampleConfig returns an example [[sink]] for this sink, as documented in its README.
func SampleConfig() []byte { return bytes.Clone(sample) }

// Sink sends events to a webhook. Build it with New, then Configure it.
type Sink struct {
	log    *slog.Logger
	set    *settings
	client *httpx.Client
	now    func() time.Time
}

// New returns an unconfigured webhook sink.
func New() *Sink { return &Sink{now: time.Now} }

// Configure validates the config and prepares the HTTP client. It reads
// ca_file but does not contact the destination.
func (s *Sink) Configure(_ context.Context, cfg sdk.Config) error {
	s.log = cfg.Logger
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	var c Config
	if err := sdk.DecodeConfig(cfg.Raw, &c); err != nil {
		return err
	}
	set, err := c.validate()
	if err != nil {
		return err
	}
	secrets := []string{c.BearerToken, c.Secret}
	for _, v := range c.Headers {
		secrets = append(secrets, v)
	}
	if c.BasicAuth != nil {
		secrets = append(secrets, c.BasicAuth.Password, basicCredentials(c.BasicAuth))
	}
	set.client.Redactor = httpx.NewRedactor([]*url.URL{set.url}, secrets...)
	client, err := httpx.NewClient(set.client)
	if err != nil {
		return err
	}
	s.set, s.client = set, client
	if set.am != nil {
		set.am.receiver = cfg.Name
	}

	if c.InsecureSkipVerify {
		s.log.Warn("webhook: TLS certificate verification is off (insecure_skip_verify); anyone on the path can read and change alerts",
			"url", httpx.RedactURL(set.url))
	}
	format := set.format
	if set.tmpl != nil {
		format = "template"
	}
	s.log.Info("webhook sink configured", "url", httpx.RedactURL(set.url), "method", set.method,
		"format", format, "signed", set.key != nil, "timeout", client.Timeout().String(),
		"concurrency", set.client.Concurrency)
	return nil
}

// Send delivers each event with one request, with up to the configured
// concurrency in flight, and returns one result per event in the events' order.
func (s *Sink) Send(ctx context.Context, events []sdk.Event) []sdk.Result {
	if s.set.am != nil {
		return s.sendAlertmanager(ctx, events)
	}
	return httpx.SendConcurrently(ctx, events, s.set.client.Concurrency, s.send)
}

func (s *Sink) send(ctx context.Context, ev sdk.Event) sdk.Result {
	body, query, ok, err := s.payload(ev)
	switch {
	case err != nil:
		return sdk.Reject(s.client.Redact(err.Error()))
	case !ok:
		s.log.Debug("webhook: event not sent: the butler format has only failures and aborts", "id", ev.ID, "status", ev.Status)
		return sdk.Accept("")
	}

	target := s.set.target
	if query != nil {
		u := *s.set.url
		q := u.Query()
		for k, vs := range query {
			q[k] = append(q[k], vs...)
		}
		u.RawQuery = q.Encode()
		target = u.String()
	}
	return s.do(ctx, target, ev.ID, body)
}

// do sends one request with body to target, id its webhook-id, and
// classifies the answer.
func (s *Sink) do(ctx context.Context, target, id string, body []byte) sdk.Result {
	req, err := http.NewRequestWithContext(ctx, s.set.method, target, bytes.NewReader(body))
	if err != nil {
		return sdk.Reject(s.client.Redact("building the request: " + err.Error()))
	}
	// The configured headers are shared, not copied: nothing on the way
	// changes a request's header values.
	h := make(http.Header, len(s.set.header)+3)
	maps.Copy(h, s.set.header)
	// Standard Webhooks headers: webhook-id is the event id, stable across
	// retries, so a receiver can drop duplicates even of unsigned requests.
	ts := strconv.FormatInt(s.now().Unix(), 10)
	vals := []string{id, ts} // one allocation for both
	h["Webhook-Id"], h["Webhook-Timestamp"] = vals[0:1:1], vals[1:2:2]
	if s.set.key != nil {
		h["Webhook-Signature"] = []string{Sign(s.set.key, id, ts, body)}
	}
	req.Header = h

	resp, err := s.client.Do(req)
	if err != nil {
		s.log.Debug("webhook: no answer", "id", id, "err", err)
		return s.client.Failed(err)
	}
	if s.log.Enabled(ctx, slog.LevelDebug) { // spares boxing the arguments of every request
		s.log.Debug("webhook: answered", "id", id, "status", resp.StatusCode)
	}
	if resp.OK() {
		return sdk.Accept("")
	}
	return s.client.Refused(resp, httpx.BodyText(resp.Body))
}

// payload returns the body (POST, PUT) or the query (GET) for ev; ok is
// false for an event the format has no form for.
func (s *Sink) payload(ev sdk.Event) (body []byte, query url.Values, ok bool, err error) {
	if s.set.tmpl != nil {
		var b bytes.Buffer
		if err := s.set.tmpl.Execute(&b, ev); err != nil {
			return nil, nil, false, templateError(err)
		}
		return b.Bytes(), nil, true, nil
	}
	if s.set.format == formatButler {
		b, ok := butlerPayload(ev)
		switch {
		case !ok:
			return nil, nil, false, nil
		case s.set.method == http.MethodGet:
			return nil, b.query(), true, nil
		}
		return appendButler(make([]byte, 0, butlerSize(b)), b), nil, true, nil
	}
	if s.set.method == http.MethodGet {
		return nil, heraldPayload(ev).query(), true, nil
	}
	body, err = appendHerald(make([]byte, 0, heraldSize(ev)), ev)
	return body, nil, err == nil, err
}

// Sign computes a Standard Webhooks v1 signature: "v1," followed by the base64
// HMAC-SHA256, under key, of id "." timestamp "." body.
func Sign(key []byte, id, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + timestamp + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

var funcs = template.FuncMap{
	// json writes v as JSON, so that a template can build a valid JSON body
	// from text that may hold quotes or line breaks: {"text": {{json .Message}}}.
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
}

var _ sdk.Sink = (*Sink)(nil)
