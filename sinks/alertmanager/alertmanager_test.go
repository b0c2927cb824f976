package alertmanager

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/plugins/sdk"
	"github.com/heraldhq/herald/sinks/sinktest"
)

const secret = "am-s3cr3t-b34r3r-t0ken"

func TestSample(t *testing.T) {
	sinktest.CheckSample(t, SampleConfig(), "README.md", Name, func() sdk.Sink { return New() })
}

func TestConformance(t *testing.T) {
	for name, auth := range map[string]func(cfg map[string]any){
		"bearer token":   func(c map[string]any) { c["bearer_token"] = secret },
		"basic password": func(c map[string]any) { c["basic_auth"] = map[string]any{"username": "herald", "password": secret} },
		"password in url": func(c map[string]any) {
			c["urls"] = []string{strings.Replace(c["urls"].([]string)[0], "http://", "http://herald:"+secret+"@", 1)}
		},
		"secret in prefix": func(c map[string]any) { c["urls"] = []string{c["urls"].([]string)[0] + "/" + secret} },
	} {
		t.Run(name, func(t *testing.T) {
			sinktest.Run(t, sinktest.Harness{
				New:    func() sdk.Sink { return New() },
				Secret: secret,
				Config: func(baseURL string, timeout time.Duration) map[string]any {
					cfg := map[string]any{"urls": []string{baseURL}, "timeout": timeout.String()}
					auth(cfg)
					return cfg
				},
				BadConfigs: func(baseURL string) map[string]map[string]any {
					return map[string]map[string]any{
						"two auths":        {"urls": []string{baseURL}, "bearer_token": secret, "basic_auth": map[string]any{"username": "u", "password": secret}},
						"secret bad port":  {"urls": []string{"http://am1:" + secret}},
						"secret ftp":       {"urls": []string{"ftp://herald:" + secret + "@am1"}},
						"bad label, token": {"urls": []string{baseURL}, "bearer_token": secret, "labels": map[string]any{"task-name": "TaskName"}},
					}
				},
			})
		})
	}
}

// am is a fake Alertmanager API: it records the alerts posted and answers
// with status.
type am struct {
	mu     sync.Mutex
	status int
	got    [][]map[string]any
	auth   []string
	paths  []string
}

func (a *am) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	b, _ := io.ReadAll(r.Body)
	var alerts []map[string]any
	if err := json.Unmarshal(b, &alerts); err != nil {
		http.Error(w, `"bad json"`, http.StatusBadRequest)
		return
	}
	a.got = append(a.got, alerts)
	a.auth = append(a.auth, r.Header.Get("Authorization"))
	a.paths = append(a.paths, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type"))
	if a.status != 0 {
		w.WriteHeader(a.status)
		_, _ = w.Write([]byte(`"start time must be before end time"`))
	}
}

func newAM(t *testing.T, status int) (*am, string) {
	a := &am{status: status}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return a, srv.URL
}

func configure(t *testing.T, cfg map[string]any) (*Sink, *sinktest.Logs) {
	t.Helper()
	raw, _ := json.Marshal(cfg)
	logs := sinktest.NewLogs()
	s := New()
	if err := s.Configure(context.Background(), sdk.Config{Name: "am", Raw: raw, Logger: logs.Logger()}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return s, logs
}

func qlikEvent(status sdk.Status) sdk.Event {
	return sdk.Event{
		ID: "01J8Z6V7Q3", Rule: "qlik-reload-failed", Status: status, Key: "6b2f1c3e-task",
		Severity: "critical", Title: "Qlik Sense reload failed: Reload Sales", Message: "Max retries reached",
		Fields: map[string]string{"TaskName": "Reload Sales", "TaskId": "6b2f1c3e-task", "AppName": "Sales",
			"AppId": "0a1b-app", "ExecutionId": "exec-1", "ScriptLogErrors": "Error: Field 'x' not found", "Odd-Name": "v"},
		Time: time.Date(2026, 3, 1, 12, 0, 0, 123e6, time.FixedZone("", 3600)), Host: "qlik-node-1",
	}
}

func TestPayload(t *testing.T) {
	a, url := newAM(t, 0)
	s, _ := configure(t, map[string]any{"urls": []string{url + "/am/"}, "generator_url": "http://node:9308/alerts", "bearer_token": secret})
	res := s.Send(context.Background(), []sdk.Event{qlikEvent(sdk.StatusFiring)})
	if res[0].Outcome != sdk.Accepted {
		t.Fatalf("firing: %+v", res[0])
	}
	res = s.Send(context.Background(), []sdk.Event{qlikEvent(sdk.StatusResolved), qlikEvent(sdk.StatusAcknowledged)})
	if res[0].Outcome != sdk.Accepted || res[1].Outcome != sdk.Accepted {
		t.Fatalf("resolved, acknowledged: %+v", res)
	}
	if len(a.got) != 2 {
		t.Fatalf("%d posts, want 2 (an acknowledgement is not sent)", len(a.got))
	}
	if a.paths[0] != "POST /am/api/v2/alerts application/json" || a.auth[0] != "Bearer "+secret {
		t.Errorf("request %q with %q", a.paths[0], a.auth[0])
	}
	wantLabels := map[string]any{"alertname": "qlik-reload-failed", "severity": "critical", "host": "qlik-node-1",
		"task_id": "6b2f1c3e-task", "task_name": "Reload Sales", "app_id": "0a1b-app", "app_name": "Sales"}
	firing, resolved := a.got[0][0], a.got[1][0]
	for name, al := range map[string]map[string]any{"firing": firing, "resolved": resolved} {
		if got, _ := json.Marshal(al["labels"]); string(got) != mustJSON(wantLabels) {
			t.Errorf("%s labels = %s, want %s", name, got, mustJSON(wantLabels))
		}
		if al["generatorURL"] != "http://node:9308/alerts" {
			t.Errorf("%s generatorURL = %v", name, al["generatorURL"])
		}
	}
	wantAnn := map[string]any{"summary": "Qlik Sense reload failed: Reload Sales", "description": "Max retries reached",
		"ExecutionId": "exec-1", "ScriptLogErrors": "Error: Field 'x' not found", "TaskId": "6b2f1c3e-task", "Odd_Name": "v"}
	if got, _ := json.Marshal(firing["annotations"]); string(got) != mustJSON(wantAnn) {
		t.Errorf("annotations = %s, want %s", got, mustJSON(wantAnn))
	}
	if firing["startsAt"] != "2026-03-01T12:00:00.123+01:00" || firing["endsAt"] != nil {
		t.Errorf("firing startsAt %v endsAt %v", firing["startsAt"], firing["endsAt"])
	}
	if resolved["endsAt"] != "2026-03-01T12:00:00.123+01:00" || resolved["startsAt"] != nil {
		t.Errorf("resolved startsAt %v endsAt %v", resolved["startsAt"], resolved["endsAt"])
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestLabelMapping(t *testing.T) {
	a, url := newAM(t, 0)
	s, _ := configure(t, map[string]any{"urls": []string{url}, "key_label": "key",
		"labels": map[string]any{"execution": "ExecutionId", "missing": "NoSuchField"}})
	s.Send(context.Background(), []sdk.Event{qlikEvent(sdk.StatusFiring)})
	want := `{"alertname":"qlik-reload-failed","execution":"exec-1","host":"qlik-node-1","key":"6b2f1c3e-task","severity":"critical"}`
	if got, _ := json.Marshal(a.got[0][0]["labels"]); string(got) != want {
		t.Errorf("labels = %s, want %s", got, want)
	}
}

func TestPartialFailure(t *testing.T) {
	good, goodURL := newAM(t, 0)
	_, badURL := newAM(t, http.StatusServiceUnavailable)
	s, logs := configure(t, map[string]any{"urls": []string{badURL, goodURL}, "basic_auth": map[string]any{"username": "u", "password": secret}})
	res := s.Send(context.Background(), []sdk.Event{qlikEvent(sdk.StatusFiring)})
	if res[0].Outcome != sdk.Accepted {
		t.Fatalf("one of two accepted: %+v, want accepted", res[0])
	}
	if len(good.got) != 1 {
		t.Errorf("the good Alertmanager got %d posts", len(good.got))
	}
	log := logs.String()
	if !strings.Contains(log, "level=WARN") || !strings.Contains(log, badURL+": HTTP 503") || strings.Contains(log, secret) {
		t.Errorf("log does not warn about %s (or shows the secret):\n%s", badURL, log)
	}

	// Both refuse: retryable if any is, and the reason names both.
	_, rejURL := newAM(t, http.StatusBadRequest)
	s, _ = configure(t, map[string]any{"urls": []string{badURL, rejURL}})
	res = s.Send(context.Background(), []sdk.Event{qlikEvent(sdk.StatusFiring)})
	if res[0].Outcome != sdk.Retryable || !strings.Contains(res[0].Reason, badURL+": HTTP 503") ||
		!strings.Contains(res[0].Reason, rejURL+": HTTP 400 Bad Request: start time must be before end time") {
		t.Errorf("503 and 400: %+v, want retryable naming both", res[0])
	}
	s, _ = configure(t, map[string]any{"urls": []string{rejURL}})
	if res = s.Send(context.Background(), []sdk.Event{qlikEvent(sdk.StatusFiring)}); res[0].Outcome != sdk.Rejected {
		t.Errorf("400 alone: %+v, want rejected", res[0])
	}
}

func TestConfigErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg  map[string]any
		want string
	}{
		"no urls":       {map[string]any{}, "urls: required"},
		"api path":      {map[string]any{"urls": []string{"http://am1:9093/api/v2/alerts"}}, "urls[0]: give the Alertmanager's base URL"},
		"twice":         {map[string]any{"urls": []string{"http://am1:9093", "http://am1:9093"}}, "urls[1]: listed twice"},
		"bad label":     {map[string]any{"urls": []string{"http://am1"}, "labels": map[string]any{"1x": "A"}}, `labels: "1x" is not a valid label name`},
		"fixed label":   {map[string]any{"urls": []string{"http://am1"}, "labels": map[string]any{"severity": "A"}}, `labels: "severity" is set by the sink`},
		"key conflict":  {map[string]any{"urls": []string{"http://am1"}, "labels": map[string]any{"task_id": "TaskId"}}, `labels: "task_id" is the key_label`},
		"bad key label": {map[string]any{"urls": []string{"http://am1"}, "key_label": "task-id"}, `key_label: "task-id" is not a valid label name`},
		"generator":     {map[string]any{"urls": []string{"http://am1"}, "generator_url": "node/alerts"}, "generator_url: must be"},
		"unknown key":   {map[string]any{"urls": []string{"http://am1"}, "url": "x"}, "url"},
	} {
		t.Run(name, func(t *testing.T) {
			raw, _ := json.Marshal(tc.cfg)
			err := New().Configure(context.Background(), sdk.Config{Raw: raw})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Configure: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
