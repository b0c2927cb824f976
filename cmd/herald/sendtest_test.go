package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/heraldhq/herald/plugins/sdk"
)

// sendTestConfig is a config with one webhook sink named "hook" posting to url.
func sendTestConfig(t *testing.T, url string) string {
	t.Helper()
	return sendTestConfigWith(t, url, "")
}

// sendTestConfigWith is sendTestConfig with more lines for [sink.config].
func sendTestConfigWith(t *testing.T, url, sinkConfig string) string {
	t.Helper()
	dir := t.TempDir()
	return writeConfig(t, dir, fmt.Sprintf(`
[agent]
data_dir = "state"
host = "send-test-host"

[[input]]
name = "scheduler"
paths = ["*_System_Scheduler.txt"]

[[sink]]
name = "hook"
plugin = "webhook"
[sink.config]
url = "%s/hook"
%s

[rules]
packs = ["qliksense"]
`, url, sinkConfig))
}

func TestSendTest(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		args     []string
		wantCode int
		wantOut  []string // lines of stdout, in order, each a substring
		wantSent []sdk.Status
	}{
		{"accepted", http.StatusOK, nil, 0, []string{`sink "hook": firing event herald-test-`, "accepted"}, []sdk.Status{sdk.StatusFiring}},
		{"accepted and resolved", http.StatusOK, []string{"--resolve"}, 0,
			[]string{"firing event herald-test-", "resolved event herald-test-"}, []sdk.Status{sdk.StatusFiring, sdk.StatusResolved}},
		{"rejected", http.StatusBadRequest, []string{"--resolve"}, 1, []string{"rejected: ", "400"}, []sdk.Status{sdk.StatusFiring}},
		{"retryable", http.StatusServiceUnavailable, nil, 1, []string{"retryable: ", "503"}, []sdk.Status{sdk.StatusFiring}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan sdk.Event, 10)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var ev sdk.Event
				if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
					t.Errorf("receiver: %v", err)
				}
				got <- ev
				w.WriteHeader(tt.status)
				fmt.Fprint(w, "the receiver says no")
			}))
			defer srv.Close()
			stdout, stderr, code := runHerald(t, append([]string{"send-test", "--config", sendTestConfig(t, srv.URL), "--sink", "hook"}, tt.args...)...)
			if code != tt.wantCode {
				t.Fatalf("exit status %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, stdout, stderr)
			}
			rest := stdout
			for _, w := range tt.wantOut {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("stdout lacks %q (in order):\n%s", w, stdout)
				}
				rest = rest[i+len(w):]
			}
			close(got)
			var sent []sdk.Event
			for ev := range got {
				sent = append(sent, ev)
			}
			if len(sent) != len(tt.wantSent) {
				t.Fatalf("receiver got %d events, want %d", len(sent), len(tt.wantSent))
			}
			for i, ev := range sent {
				if ev.Status != tt.wantSent[i] || ev.Rule != "herald-test" || !strings.HasPrefix(ev.Key, "herald-test-") ||
					ev.Fields["Test"] != "true" || ev.Host != "send-test-host" || ev.Severity != "info" {
					t.Errorf("event %d is not the marked test event: %+v", i, ev)
				}
			}
			if sent[0].Title != "Herald test alert" || !strings.Contains(sent[0].Message, "from host send-test-host at ") {
				t.Errorf("test event title %q message %q", sent[0].Title, sent[0].Message)
			}
			if len(sent) == 2 && sent[1].Key != sent[0].Key {
				t.Errorf("the resolution has key %s, the alert %s", sent[1].Key, sent[0].Key)
			}
		})
	}
}

func TestSendTestUsageErrors(t *testing.T) {
	cfg := sendTestConfig(t, "http://127.0.0.1:1")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown sink", []string{"--config", cfg, "--sink", "nope"}, `no such sink "nope" (have: hook)`},
		{"no sink", []string{"--config", cfg}, "--sink is required"},
		{"no config", []string{"--config", cfg + ".missing", "--sink", "hook"}, "reading config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := runHerald(t, append([]string{"send-test"}, tt.args...)...)
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit status %d, stderr %q; want 2 and %q", code, stderr, tt.want)
			}
		})
	}
}

// TestSendTestRecognisable sends the test alert through the webhook sink in
// every format it has and checks that each
// rendering says it is a test where a receiver looks: the title, Butler's
// taskName, Alertmanager's labels and summary.
func TestSendTestRecognisable(t *testing.T) {
	tests := []struct {
		name   string
		config string   // [sink.config] lines besides url
		want   []string // substrings of the request body
	}{
		{"herald", ``, []string{`"title":"Herald test alert"`, `"rule":"herald-test"`, `"Test":"true"`}},
		{"herald signed (Standard Webhooks)", `secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"`, []string{`"title":"Herald test alert"`}},
		{"butler", `format = "butler"`, []string{`"taskName":"Herald test alert"`, `"appName":"Herald test"`, `"hostName":"send-test-host"`,
			`"logMessage":"This is a test alert sent by`}},
		{"alertmanager", `format = "alertmanager"`, []string{`"alertname":"herald-test"`, `"task_name":"Herald test alert"`, `"summary":"Herald test alert"`}},
		{"template", `template = '{"text": {{json .Title}}}'`, []string{`{"text": "Herald test alert"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bodies := make(chan string, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				bodies <- string(b)
			}))
			defer srv.Close()
			cfg := sendTestConfigWith(t, srv.URL, tt.config)
			stdout, stderr, code := runHerald(t, "send-test", "--config", cfg, "--sink", "hook")
			if code != 0 {
				t.Fatalf("exit status %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
			body := <-bodies
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %s:\n%s", w, body)
				}
			}
		})
	}
}
