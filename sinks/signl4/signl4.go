// Package signl4 is Herald's SIGNL4 sink. It raises an alert through SIGNL4's
// inbound webhook for a firing event and acknowledges or closes it, by
// X-S4-ExternalID = the event key, when the alert is acknowledged or resolved.
package signl4

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/heraldhq/herald/plugins/sdk"
	"github.com/heraldhq/herald/sinks/internal/httpx"
)

// Name is the sink's plugin name in herald.toml.
const Name = "signl4"

//go:embed sample.toml
var sample []byte

// SampleConfig returns an example [[sink]] for this sink, as documented in its README.
func SampleConfig() []byte { return bytes.Clone(sample) }

// Sink sends events to SIGNL4. Build it with New, then Configure it.
type Sink struct {
	log    *slog.Logger
	set    *settings
	client *httpx.Client
}

// New returns an unconfigured SIGNL4 sink.
func New() *Sink { return &Sink{} }

// Control parameters. SIGNL4 reads them from the body (not from headers)
// and matches them case-insensitively; this is the documented spelling.
const (
	pExternalID = "X-S4-ExternalID"
	pStatus     = "X-S4-Status"
	pService    = "X-S4-Service"
	pScenario   = "X-S4-AlertingScenario"
	pFiltering  = "X-S4-Filtering"
	pLocation   = "X-S4-Location"
	pSource     = "X-S4-SourceSystem"
)

// Configure validates the config. It does not contact SIGNL4.
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
	client, err := httpx.NewClient(httpx.ClientConfig{
		Timeout:  set.timeout,
		Redactor: httpx.NewRedactor([]*url.URL{set.url}),
	})
	if err != nil {
		return err
	}
	s.set, s.client = set, client
	s.log.Info("signl4 sink configured", "url", httpx.RedactURL(set.url), "service", set.service,
		"alerting_scenario", set.scenario, "timeout", set.timeout.String())
	return nil
}

// Send delivers each event with one request, in order.
func (s *Sink) Send(ctx context.Context, events []sdk.Event) []sdk.Result {
	return httpx.SendEach(ctx, events, s.send)
}

func (s *Sink) send(ctx context.Context, ev sdk.Event) sdk.Result {
	var body map[string]any
	switch ev.Status {
	case sdk.StatusFiring:
		body = s.newAlert(ev)
	case sdk.StatusAcknowledged, sdk.StatusResolved:
		if ev.Key == "" {
			return sdk.Reject(fmt.Sprintf("a %s event needs a key: SIGNL4 finds the alert by X-S4-ExternalID", ev.Status))
		}
		body = map[string]any{pExternalID: ev.Key, pStatus: string(ev.Status), pSource: s.set.source}
	case sdk.StatusInfo:
		// SIGNL4 has no notes by webhook; an info event has nothing to change.
		s.log.Debug("signl4: info event not sent: SIGNL4 has no such status", "id", ev.ID, "key", ev.Key)
		return sdk.Accept("")
	default:
		return sdk.Reject(fmt.Sprintf("status %q has no SIGNL4 equivalent", ev.Status))
	}

	b, err := json.Marshal(body)
	if err != nil {
		return sdk.Reject("encoding the event: " + err.Error())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.set.url.String(), bytes.NewReader(b))
	if err != nil {
		return sdk.Reject(s.client.Redact("building the request: " + err.Error()))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		s.log.Debug("signl4: no answer", "id", ev.ID, "err", err)
		return s.client.Failed(err)
	}
	s.log.Debug("signl4: answered", "id", ev.ID, "status", resp.StatusCode)
	if !resp.OK() {
		return s.client.Refused(resp, errorDetail(resp))
	}
	// SIGNL4's outbound webhook names the alert by the eventId of the event
	// that raised it, so only that one is worth keeping as the reference.
	if ev.Status != sdk.StatusFiring {
		return sdk.Accept("")
	}
	var ok struct {
		EventID string `json:"eventId"`
	}
	_ = json.Unmarshal(resp.Body, &ok) // a 2xx is success even with an unexpected body
	return sdk.Accept(ok.EventID)
}

// newAlert is the body that raises an alert: the event's fields as
// parameters, the static parameters, then title, text, severity and the
// control parameters, each later one winning.
func (s *Sink) newAlert(ev sdk.Event) map[string]any {
	body := make(map[string]any, len(ev.Fields)+len(s.set.params)+10)
	for k, v := range ev.Fields {
		if reserved(k) {
			// A field named like a title, text or control key would take
			// over the alert's title or routing; it keeps its value under a
			// name SIGNL4 shows as an ordinary parameter.
			k = "Field." + k
		}
		body[k] = v
	}
	for k, v := range s.set.params {
		body[k] = v
	}
	body["Title"] = ev.Title
	if ev.Message != "" {
		body["Message"] = ev.Message
	}
	if ev.Severity != "" {
		sev, ok := s.set.severities[ev.Severity]
		if !ok {
			sev = ev.Severity
		}
		body["Severity"] = sev
	}
	body[pStatus] = "new"
	if ev.Key != "" {
		body[pExternalID] = ev.Key
	}
	body[pSource] = s.set.source
	if s.set.service != "" {
		body[pService] = s.set.service
	}
	if s.set.scenario != "" {
		body[pScenario] = s.set.scenario
	}
	if s.set.filtering != nil {
		body[pFiltering] = *s.set.filtering
	}
	if s.set.location != "" {
		body[pLocation] = s.set.location
	}
	return body
}

// reservedNames are the keys SIGNL4 reads a title or text from, plus
// Severity, which the sink sets.
var reservedNames = map[string]bool{
	"subject": true, "title": true, "task": true, "job": true, "case": true, "incident": true,
	"text": true, "message": true, "messagetext": true, "description": true, "body": true, "content": true,
	"severity": true,
}

// reserved reports whether a parameter name is one the sink sets or SIGNL4
// gives a meaning to.
func reserved(name string) bool {
	n := strings.ToLower(strings.TrimSpace(name))
	return reservedNames[n] || strings.HasPrefix(n, "x-s4-")
}

// errorDetail is what SIGNL4 says went wrong: the "details" of its error
// body, else its "message", else the body's start.
func errorDetail(resp *httpx.Response) string {
	var e struct {
		Details string `json:"details"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(resp.Body, &e)
	detail := e.Details
	if detail == "" {
		detail = e.Message
	}
	if detail == "" {
		detail = httpx.BodyText(resp.Body)
	}
	if resp.StatusCode == http.StatusNotFound {
		detail += " (check the team or integration secret in url)"
	}
	return detail
}

var _ sdk.Sink = (*Sink)(nil)
