// Package alertmanager is Herald's Prometheus Alertmanager sink. It posts
// each event as an alert to Alertmanager's API (POST /api/v2/alerts) of
// every configured instance, as Prometheus does, and lets Alertmanager
// group, deduplicate, silence, inhibit and route it to its receivers.
//
// Alertmanager resolves an alert that is not posted again within its
// resolve_timeout. The sink is stateless; the agent re-sends open alerts
// (the [[sink]] key resend_interval), and a resolution posts the alert with
// endsAt, which resolves it at once.
package alertmanager

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/heraldhq/herald/plugins/sdk"
	"github.com/heraldhq/herald/sinks/internal/httpx"
)

// Name is the sink's plugin name in herald.toml.
const Name = "alertmanager"

//go:embed sample.toml
var sample []byte

// SampleConfig returns an example [[sink]] for this sink, as documented in its README.
func SampleConfig() []byte { return bytes.Clone(sample) }

// concurrency is how many events are in flight at once; each posts to every
// URL at the same time.
const concurrency = 8

// Sink posts events to Alertmanager. Build it with New, then Configure it.
type Sink struct {
	log    *slog.Logger
	set    *settings
	client *httpx.Client
}

// New returns an unconfigured alertmanager sink.
func New() *Sink { return &Sink{} }

// Configure validates the config and prepares the HTTP client. It does not
// contact Alertmanager.
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
	// Alertmanager URLs carry no secret in their host; only credentials in
	// them, or a path prefix, are scrubbed (a whole base URL as a secret
	// would scrub every host name from every reason).
	var secretURLs []*url.URL
	for _, u := range set.urls() {
		if u.User != nil || strings.Trim(u.Path, "/") != "" {
			secretURLs = append(secretURLs, u)
		}
	}
	client, err := httpx.NewClient(httpx.ClientConfig{
		Timeout: set.timeout, CAFile: c.CAFile, InsecureSkipVerify: c.InsecureSkipVerify,
		Concurrency: concurrency * len(set.targets),
		Redactor:    httpx.NewRedactor(secretURLs, set.secrets...),
	})
	if err != nil {
		return err
	}
	s.set, s.client = set, client
	shown := make([]string, len(set.targets))
	for i, t := range set.targets {
		shown[i] = httpx.RedactURL(t.base)
	}
	if c.InsecureSkipVerify {
		s.log.Warn("alertmanager: TLS certificate verification is off (insecure_skip_verify)")
	}
	s.log.Info("alertmanager sink configured", "urls", strings.Join(shown, ","), "timeout", set.timeout.String())
	return nil
}

// Send posts each event to every Alertmanager, up to 8 events at once, and
// returns one result per event in the events' order.
func (s *Sink) Send(ctx context.Context, events []sdk.Event) []sdk.Result {
	return httpx.SendConcurrently(ctx, events, concurrency, s.send)
}

// postableAlert is an alert as Alertmanager's API v2 takes it
// (api/v2/models/postable_alert.go).
type postableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     *time.Time        `json:"startsAt,omitempty"`
	EndsAt       *time.Time        `json:"endsAt,omitempty"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// alert is ev as Alertmanager takes it, or ok false for an event that has no
// Alertmanager form.
func (s *Sink) alert(ev sdk.Event) (postableAlert, bool) {
	a := postableAlert{Labels: s.set.mapper.Labels(ev), Annotations: s.set.mapper.Annotations(ev), GeneratorURL: s.set.generator}
	t := ev.Time
	switch ev.Status {
	case sdk.StatusFiring:
		// No endsAt: Alertmanager keeps the alert for resolve_timeout after
		// each post; the agent posts it again before that (resend_interval).
		if !t.IsZero() {
			a.StartsAt = &t
		}
	case sdk.StatusResolved:
		// The same labels with endsAt resolve it. startsAt is left to
		// Alertmanager, which keeps the one it has.
		if t.IsZero() {
			t = time.Now()
		}
		a.EndsAt = &t
	default:
		return postableAlert{}, false
	}
	return a, true
}

func (s *Sink) send(ctx context.Context, ev sdk.Event) sdk.Result {
	if len(s.set.mapper.Labels(ev)) == 0 {
		return sdk.Reject("the event gives no label: Alertmanager needs at least one")
	}
	a, ok := s.alert(ev)
	if !ok {
		// Alertmanager has no acknowledgement or note; silences are its way.
		s.log.Debug("alertmanager: event not sent: Alertmanager has no such status", "id", ev.ID, "status", ev.Status)
		return sdk.Accept("")
	}
	body, err := json.Marshal([]postableAlert{a})
	if err != nil {
		return sdk.Reject("encoding the alert: " + err.Error())
	}

	results := make([]sdk.Result, len(s.set.targets))
	if len(results) == 1 {
		results[0] = s.post(ctx, s.set.targets[0], ev, body)
	} else {
		var wg sync.WaitGroup
		for i, t := range s.set.targets {
			wg.Go(func() { results[i] = s.post(ctx, t, ev, body) })
		}
		wg.Wait()
	}
	return s.combine(ev, results)
}

// combine makes one result of the answers of every Alertmanager. One that
// accepted is enough: the cluster gossips the alert to the others, and the
// next post (a re-send or the resolution) reaches the rest. Then the
// failures are logged as warnings, naming each URL. When none accepted, the
// event is retried if any failure is worth retrying (not before the latest
// time any of them asked for), else it is rejected; the reason lists every
// URL's.
func (s *Sink) combine(ev sdk.Event, results []sdk.Result) sdk.Result {
	var failed []string
	accepted, retry := false, false
	var at time.Time
	for i, r := range results {
		switch r.Outcome {
		case sdk.Accepted:
			accepted = true
			continue
		case sdk.Retryable:
			retry = true
			if r.RetryAt.After(at) {
				at = r.RetryAt
			}
		}
		reason := r.Reason
		if len(results) > 1 && !strings.Contains(reason, httpx.RedactURL(s.set.targets[i].base)) {
			reason = httpx.RedactURL(s.set.targets[i].base) + ": " + reason
		}
		failed = append(failed, reason)
	}
	switch {
	case accepted && len(failed) > 0:
		s.log.Warn("alertmanager: accepted by some Alertmanagers, not by others; the cluster shares it, the next post retries the others",
			"id", ev.ID, "key", ev.Key, "status", ev.Status, "failed", strings.Join(failed, "; "))
		return sdk.Accept("")
	case accepted:
		return sdk.Accept("")
	case retry:
		return sdk.Retry(strings.Join(failed, "; "), at)
	default:
		return sdk.Reject(strings.Join(failed, "; "))
	}
}

// post sends body to one Alertmanager.
func (s *Sink) post(ctx context.Context, t target, ev sdk.Event, body []byte) sdk.Result {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return sdk.Reject(s.client.Redact("building the request: " + err.Error()))
	}
	req.Header = maps.Clone(s.set.header)
	resp, err := s.client.Do(req)
	if err != nil {
		s.log.Debug("alertmanager: no answer", "id", ev.ID, "url", httpx.RedactURL(t.base), "err", err)
		return s.client.Failed(err)
	}
	s.log.Debug("alertmanager: answered", "id", ev.ID, "url", httpx.RedactURL(t.base), "status", resp.StatusCode)
	if resp.OK() {
		return sdk.Accept("")
	}
	return s.client.Refused(resp, errorDetail(resp.Body))
}

// errorDetail is what Alertmanager says went wrong: its API answers a 400
// with a JSON string ("start time must be before end time") or an object
// with a message.
func errorDetail(body []byte) string {
	var msg string
	if json.Unmarshal(body, &msg) == nil {
		return msg
	}
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil && e.Message != "" {
		return e.Message
	}
	return httpx.BodyText(body)
}

var _ sdk.Sink = (*Sink)(nil)
