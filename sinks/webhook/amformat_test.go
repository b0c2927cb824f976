package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"

	"github.com/heraldhq/herald/plugins/sdk"
)

// upstreamMessage is Alertmanager's own webhook body
// (notify/webhook/webhook.go Message): template.Data plus version,
// groupKey and truncatedAlerts.
type upstreamMessage struct {
	*template.Data
	Version         string `json:"version"`
	GroupKey        string `json:"groupKey"`
	TruncatedAlerts uint64 `json:"truncatedAlerts"`
}

type amCapture struct {
	mu     sync.Mutex
	bodies [][]byte
	ids    []string
	status int
}

func (c *amCapture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.bodies = append(c.bodies, b)
	c.ids = append(c.ids, r.Header.Get("Webhook-Id"))
	st := c.status
	c.mu.Unlock()
	if st != 0 {
		w.WriteHeader(st)
	}
}

func amEvents() []sdk.Event {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ev := func(i int, rule string, status sdk.Status) sdk.Event {
		return sdk.Event{ID: fmt.Sprint("ev-", i), Rule: rule, Status: status, Key: fmt.Sprint("task-", i), Severity: "critical",
			Title: fmt.Sprint("Reload failed: ", i), Message: "Max retries reached", Host: "qlik-node-1", Time: at.Add(time.Duration(i) * time.Second),
			Fields: map[string]string{"TaskName": fmt.Sprint("Reload ", i), "AppName": "Sales", "ScriptLogErrors": "Error: x"}}
	}
	return []sdk.Event{
		ev(0, "qlik-reload-failed", sdk.StatusFiring), ev(1, "qlik-reload-aborted", sdk.StatusFiring),
		ev(2, "qlik-reload-failed", sdk.StatusResolved), ev(3, "qlik-reload-failed", sdk.StatusAcknowledged),
		ev(4, "qlik-reload-failed", sdk.StatusFiring),
	}
}

// TestAlertmanagerFormatUpstreamTypes decodes what the sink sends with
// Alertmanager's own types, refusing unknown keys, so the shape cannot drift.
func TestAlertmanagerFormatUpstreamTypes(t *testing.T) {
	c := &amCapture{}
	srv := httptest.NewServer(c)
	defer srv.Close()
	s, _ := configure(t, map[string]any{"url": srv.URL, "format": "alertmanager", "max_alerts": 2,
		"external_url": "http://qlik-node-1:9308", "generator_url": "http://qlik-node-1:9308/alerts"})
	res := s.Send(context.Background(), amEvents())
	for i, r := range res {
		if r.Outcome != sdk.Accepted {
			t.Errorf("event %d: %+v", i, r)
		}
	}
	// aborted: 1 request; failed: 3 alerts (the acknowledgement is not
	// sent), 2 per request: 2 requests.
	if len(c.bodies) != 3 {
		t.Fatalf("%d requests, want 3", len(c.bodies))
	}
	byKey := map[string][]upstreamMessage{}
	for _, b := range c.bodies {
		var m upstreamMessage
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("Alertmanager's types do not take %s: %v", b, err)
		}
		byKey[m.GroupKey] = append(byKey[m.GroupKey], m)
	}
	failed := byKey[`{}:{alertname="qlik-reload-failed"}`]
	if len(failed) != 2 || len(byKey[`{}:{alertname="qlik-reload-aborted"}`]) != 1 {
		t.Fatalf("group keys: %v", byKey)
	}
	m := failed[0]
	if len(m.Alerts) == 1 {
		m = failed[1]
	}
	if m.Version != "4" || m.Receiver != "test" || m.Status != "firing" || m.ExternalURL != "http://qlik-node-1:9308" || m.TruncatedAlerts != 0 {
		t.Errorf("message %+v", m)
	}
	if len(m.Alerts) != 2 || m.Alerts[0].Status != "firing" || m.Alerts[1].Status != "resolved" {
		t.Fatalf("alerts %+v, want firing then resolved", m.Alerts)
	}
	if m.GroupLabels["alertname"] != "qlik-reload-failed" || len(m.GroupLabels) != 1 {
		t.Errorf("groupLabels %v", m.GroupLabels)
	}
	want := template.KV{"alertname": "qlik-reload-failed", "severity": "critical", "host": "qlik-node-1", "app_name": "Sales"}
	if fmt.Sprint(m.CommonLabels) != fmt.Sprint(want) {
		t.Errorf("commonLabels %v, want %v", m.CommonLabels, want)
	}
	if m.CommonAnnotations["ScriptLogErrors"] != "Error: x" || m.CommonAnnotations["description"] != "Max retries reached" || m.CommonAnnotations["summary"] != "" {
		t.Errorf("commonAnnotations %v", m.CommonAnnotations)
	}
	for _, al := range m.Alerts {
		ls := model.LabelSet{}
		for k, v := range al.Labels {
			ls[model.LabelName(k)] = model.LabelValue(v)
		}
		if al.Fingerprint != ls.Fingerprint().String() {
			t.Errorf("fingerprint %s, Alertmanager's %s", al.Fingerprint, ls.Fingerprint())
		}
		if al.GeneratorURL != "http://qlik-node-1:9308/alerts" || al.Labels["task_id"] == "" || al.Labels["task_name"] == "" {
			t.Errorf("alert %+v", al)
		}
	}
	if m.Alerts[0].StartsAt.IsZero() || !m.Alerts[0].EndsAt.IsZero() || m.Alerts[1].EndsAt.IsZero() {
		t.Errorf("times: firing %v–%v, resolved %v–%v", m.Alerts[0].StartsAt, m.Alerts[0].EndsAt, m.Alerts[1].StartsAt, m.Alerts[1].EndsAt)
	}
}

// TestAlertmanagerFormatShareOutcome: the events of a request share its
// outcome; the webhook-id of a request is the same when it is retried.
func TestAlertmanagerFormatShareOutcome(t *testing.T) {
	c := &amCapture{status: http.StatusServiceUnavailable}
	srv := httptest.NewServer(c)
	defer srv.Close()
	s, _ := configure(t, map[string]any{"url": srv.URL, "format": "alertmanager", "concurrency": 1})
	evs := amEvents()
	res := s.Send(context.Background(), evs)
	want := []sdk.Outcome{sdk.Retryable, sdk.Retryable, sdk.Retryable, sdk.Accepted, sdk.Retryable}
	for i, r := range res {
		if r.Outcome != want[i] {
			t.Errorf("event %d (%s %s): %v, want %v", i, evs[i].Rule, evs[i].Status, r.Outcome, want[i])
		}
	}
	if len(c.bodies) != 2 {
		t.Fatalf("%d requests, want 2 (one per rule)", len(c.bodies))
	}
	first := append([]string(nil), c.ids...)
	s.Send(context.Background(), evs)
	if strings.Join(c.ids[2:], ",") != strings.Join(first, ",") {
		t.Errorf("webhook-ids %v on retry, were %v", c.ids[2:], first)
	}

	// A cancelled context sends nothing and retries everything.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i, r := range s.Send(ctx, evs) {
		if r.Outcome != want[i] {
			t.Errorf("cancelled: event %d: %v", i, r.Outcome)
		}
	}
}

func TestAlertmanagerFormatConfig(t *testing.T) {
	for name, tc := range map[string]struct{ cfg, want string }{
		"GET":              {`{"url":"https://x.example","format":"alertmanager","method":"GET"}`, "needs method POST or PUT"},
		"max_alerts":       {`{"url":"https://x.example","format":"alertmanager","max_alerts":0}`, "max_alerts: must be from 1"},
		"labels elsewhere": {`{"url":"https://x.example","labels":{"a":"B"}}`, `labels: only applies with format = "alertmanager"`},
		"bad label":        {`{"url":"https://x.example","format":"alertmanager","labels":{"a-b":"B"}}`, `"a-b" is not a valid label name`},
	} {
		t.Run(name, func(t *testing.T) {
			err := New().Configure(context.Background(), sdk.Config{Raw: json.RawMessage(tc.cfg)})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Configure: %v, want %q", err, tc.want)
			}
		})
	}
}
