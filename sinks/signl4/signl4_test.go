package signl4

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/plugins/sdk"
	"github.com/heraldhq/herald/sinks/sinktest"
	"github.com/heraldhq/herald/sinks/sinktest/fakesignl4"
)

const secret = "t3am-s3cr3t-96sbq49u"

func TestSample(t *testing.T) {
	sinktest.CheckSample(t, SampleConfig(), "README.md", Name, func() sdk.Sink { return New() })
}

func TestConformance(t *testing.T) {
	sinktest.Run(t, sinktest.Harness{
		New:    func() sdk.Sink { return New() },
		Secret: secret,
		Config: func(baseURL string, timeout time.Duration) map[string]any {
			return map[string]any{"url": baseURL + "/webhook/" + secret, "timeout": timeout.String()}
		},
		SuccessBody: `{"eventId":"2518583650940558238_7647c33f-f66d-495f-aeb2-b408fba66404"}`,
		RetryHeaders: map[string]func(time.Time) http.Header{
			"X-RateLimit-Reset": func(at time.Time) http.Header {
				return http.Header{"X-Ratelimit-Reset": {strconv.FormatInt(at.Unix(), 10)}, "X-Ratelimit-Remaining": {"0"}}
			},
		},
		BadConfigs: func(baseURL string) map[string]map[string]any {
			u := baseURL + "/webhook/" + secret
			return map[string]map[string]any{
				"bad scenario":   {"url": u, "alerting_scenario": "everyone"},
				"bad location":   {"url": u, "location": "somewhere"},
				"bad port":       {"url": "https://connect.signl4.com:" + secret + "/webhook/x"},
				"secret as path": {"url": "connect.signl4.com/webhook/" + secret},
			}
		},
	})
}

// clock is the fake's clock, so rate-limit windows need no sleeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func setup(t *testing.T, opts fakesignl4.Options, cfg map[string]any) (*Sink, *fakesignl4.Server, *sinktest.Logs) {
	t.Helper()
	if len(opts.Secrets) == 0 {
		opts.Secrets = []string{secret}
	}
	fake := fakesignl4.New(opts)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	if cfg == nil {
		cfg = map[string]any{}
	}
	if _, ok := cfg["url"]; !ok {
		cfg["url"] = srv.URL + "/webhook/" + secret
	}
	raw, _ := json.Marshal(cfg)
	logs := sinktest.NewLogs()
	s := New()
	if err := s.Configure(context.Background(), sdk.Config{Name: "pager", Raw: raw, Logger: logs.Logger()}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return s, fake, logs
}

func reloadFailed() sdk.Event {
	return sdk.Event{
		ID: "01J8Z6V7Q3", Rule: "qlik-reload-failed", Status: sdk.StatusFiring,
		Key: "bfa83a7b-f6ef-4af4-a817-a3a68969c72e", Severity: "critical",
		Title: "Reload failed: Sales", Message: "Max retries reached",
		Fields: map[string]string{
			"TaskName": "Reload Sales", "AppName": "Sales", "Message": "Execution State Change to FinishedFail",
			"X-S4-Status": "resolved", "subject": "hijack",
		},
		Time: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), Host: "qlik-node-1",
	}
}

func with(ev sdk.Event, st sdk.Status) sdk.Event {
	ev.Status = st
	ev.ID += "-" + string(st)
	return ev
}

func TestAlertLifecycle(t *testing.T) {
	s, fake, _ := setup(t, fakesignl4.Options{}, map[string]any{
		"service": "Qlik Sense", "alerting_scenario": "multi_ack", "filtering": false, "location": "52.52,13.405",
		"parameters": map[string]any{"Environment": "production", "AppName": "static wins"},
		"severities": map[string]any{"critical": "1"},
	})
	ev := reloadFailed()
	res := s.Send(context.Background(), []sdk.Event{ev})
	if res[0].Outcome != sdk.Accepted {
		t.Fatalf("firing: %+v", res[0])
	}
	a, ok := fake.Alert(ev.Key)
	if !ok {
		t.Fatalf("no alert with ExternalID %s; alerts: %+v", ev.Key, fake.Alerts())
	}
	if res[0].Ref != a.EventID || a.StatusCode != fakesignl4.StatusNew {
		t.Errorf("Ref %q, alert event id %q, status %d", res[0].Ref, a.EventID, a.StatusCode)
	}
	if a.Title != "Reload failed: Sales" || a.Text != "Max retries reached" || a.Service != "Qlik Sense" ||
		a.AlertingScenario != "multi_ack" || a.Filtering || a.Location != "52.52,13.405" || a.SourceSystem != "Herald" {
		t.Errorf("alert: %+v", a)
	}
	for k, want := range map[string]any{
		"Severity": "1", "TaskName": "Reload Sales", "AppName": "static wins", "Environment": "production",
		"Field.Message": "Execution State Change to FinishedFail", "Field.X-S4-Status": "resolved", "Field.subject": "hijack",
	} {
		if a.Params[k] != want {
			t.Errorf("parameter %s = %v, want %v", k, a.Params[k], want)
		}
	}
	reqs := fake.Requests()
	if f := reqs[0].Params["X-S4-Filtering"]; f != false {
		t.Errorf("X-S4-Filtering = %#v, want the boolean false", f)
	}

	res = s.Send(context.Background(), []sdk.Event{with(ev, sdk.StatusAcknowledged)})
	if a, _ := fake.Alert(ev.Key); res[0].Outcome != sdk.Accepted || res[0].Ref != "" || a.StatusCode != fakesignl4.StatusAcknowledged {
		t.Fatalf("acknowledged: %+v, alert status %d", res[0], a.StatusCode)
	}
	res = s.Send(context.Background(), []sdk.Event{with(ev, sdk.StatusResolved)})
	if a, _ := fake.Alert(ev.Key); res[0].Outcome != sdk.Accepted || a.StatusCode != fakesignl4.StatusClosed {
		t.Fatalf("resolved: %+v, alert status %d", res[0], a.StatusCode)
	}
	reqs = fake.Requests()
	var resolve map[string]any
	if err := json.Unmarshal(reqs[len(reqs)-1].Body, &resolve); err != nil {
		t.Fatal(err)
	}
	if len(resolve) != 3 || resolve["X-S4-ExternalID"] != ev.Key || resolve["X-S4-Status"] != "resolved" || resolve["X-S4-SourceSystem"] != "Herald" {
		t.Errorf("resolve body: %s", reqs[len(reqs)-1].Body)
	}
	if len(fake.Alerts()) != 1 {
		t.Errorf("%d alerts, want 1", len(fake.Alerts()))
	}
}

func TestInfoAndKeyless(t *testing.T) {
	s, fake, logs := setup(t, fakesignl4.Options{}, nil)
	ev := reloadFailed()
	keyless := with(ev, sdk.StatusResolved)
	keyless.Key = ""
	res := s.Send(context.Background(), []sdk.Event{with(ev, sdk.StatusInfo), keyless})
	if res[0].Outcome != sdk.Accepted || res[1].Outcome != sdk.Rejected || !strings.Contains(res[1].Reason, "needs a key") {
		t.Errorf("results: %+v", res)
	}
	if n := len(fake.Requests()); n != 0 {
		t.Errorf("%d requests, want none", n)
	}
	if !strings.Contains(logs.String(), "info event not sent") {
		t.Errorf("no debug line for the info event:\n%s", logs)
	}
}

func TestRateLimited(t *testing.T) {
	clk := &clock{t: time.Now().Truncate(time.Second)}
	s, fake, _ := setup(t, fakesignl4.Options{RateLimit: 1, RateWindow: time.Minute, Now: clk.now}, nil)
	a, b := reloadFailed(), reloadFailed()
	b.ID, b.Key = "second", "other-task"
	res := s.Send(context.Background(), []sdk.Event{a, b})
	if res[0].Outcome != sdk.Accepted {
		t.Fatalf("first: %+v", res[0])
	}
	want := clk.now().Add(time.Minute)
	if res[1].Outcome != sdk.Retryable || !res[1].RetryAt.Equal(want) || !strings.Contains(res[1].Reason, "429") {
		t.Errorf("second: %+v, want retryable at %v", res[1], want)
	}
	if _, ok := fake.Alert("other-task"); ok {
		t.Error("a throttled event raised an alert")
	}
}

func TestRefusals(t *testing.T) {
	t.Run("unknown secret", func(t *testing.T) {
		fake := fakesignl4.New(fakesignl4.Options{Secrets: []string{"another-secret"}})
		srv := httptest.NewServer(fake)
		defer srv.Close()
		s := New()
		raw, _ := json.Marshal(map[string]any{"url": srv.URL + "/webhook/" + secret})
		if err := s.Configure(context.Background(), sdk.Config{Raw: raw}); err != nil {
			t.Fatal(err)
		}
		res := s.Send(context.Background(), []sdk.Event{reloadFailed()})[0]
		if res.Outcome != sdk.Rejected || strings.Contains(res.Reason, secret) ||
			!strings.Contains(res.Reason, "404") || !strings.Contains(res.Reason, "An event source with ID … was not found.") ||
			!strings.Contains(res.Reason, "check the team or integration secret") {
			t.Errorf("result: %+v", res)
		}
	})
	t.Run("server error", func(t *testing.T) {
		s, fake, _ := setup(t, fakesignl4.Options{}, nil)
		fake.FailNext(1, http.StatusServiceUnavailable)
		res := s.Send(context.Background(), []sdk.Event{reloadFailed(), reloadFailed()})
		if res[0].Outcome != sdk.Retryable || res[1].Outcome != sdk.Accepted {
			t.Errorf("results: %+v", res)
		}
	})
	t.Run("bad request", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"requestId":"e933ece1","message":"Error raising event.","details":"The request body is not valid."}`))
		}))
		defer srv.Close()
		s := New()
		raw, _ := json.Marshal(map[string]any{"url": srv.URL + "/webhook/" + secret})
		if err := s.Configure(context.Background(), sdk.Config{Raw: raw}); err != nil {
			t.Fatal(err)
		}
		res := s.Send(context.Background(), []sdk.Event{reloadFailed()})[0]
		if res.Outcome != sdk.Rejected || res.Reason != "HTTP 400 Bad Request: The request body is not valid." {
			t.Errorf("result: %+v", res)
		}
	})
}

func TestConfigErrors(t *testing.T) {
	for name, tt := range map[string]struct {
		cfg  string
		want string
	}{
		"no url":         {`{}`, "url: required"},
		"no secret":      {`{"url":"https://connect.signl4.com/"}`, "url: has no secret in its path"},
		"empty secret":   {`{"url":"https://connect.signl4.com/webhook/"}`, "url: has no secret in its path"},
		"bad scenario":   {`{"url":"https://connect.signl4.com/webhook/x","alerting_scenario":"all"}`, "alerting_scenario: must be one of single_ack, multi_ack, emergency"},
		"bad location":   {`{"url":"https://connect.signl4.com/webhook/x","location":"91,0"}`, "location:"},
		"reserved param": {`{"url":"https://connect.signl4.com/webhook/x","parameters":{"x-s4-status":"new"}}`, `parameters: "x-s4-status" is set by the sink`},
		"title param":    {`{"url":"https://connect.signl4.com/webhook/x","parameters":{"Description":"d"}}`, `parameters: "Description"`},
		"bad timeout":    {`{"url":"https://connect.signl4.com/webhook/x","timeout":"10"}`, "timeout:"},
		"filtering type": {`{"url":"https://connect.signl4.com/webhook/x","filtering":"yes"}`, "filtering"},
		"unknown key":    {`{"url":"https://connect.signl4.com/webhook/x","team":"ops"}`, `"team"`},
		"empty severity": {`{"url":"https://connect.signl4.com/webhook/x","severities":{"":"1"}}`, "severities:"},
	} {
		t.Run(name, func(t *testing.T) {
			err := New().Configure(context.Background(), sdk.Config{Raw: json.RawMessage(tt.cfg)})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
