package agent

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/agent/metrics"
	"github.com/heraldhq/herald/agent/state"
	"github.com/heraldhq/herald/plugins/sdk"
)

const (
	signl4Token = "signl4-hook-token"
	chatToken   = "chat-integration-token"
	taskKey     = "00000000-0000-4000-8000-000000000001"
)

// twoWay is an agent loaded with both http inputs and the two-way packs,
// whose hooks run against a real state file, without sink processes.
type twoWay struct {
	t     *testing.T
	agent *Agent
	store *state.Store
	dir   string
	hooks map[string]http.Handler // by path
	reg   *prometheus.Registry
}

func newTwoWay(t *testing.T, packs string) *twoWay {
	t.Helper()
	dir := t.TempDir()
	text := fmt.Sprintf(`
[agent]
data_dir = "state"
host = "node1"

[[input]]
name = "scheduler"
paths = ["*_System_Scheduler.txt"]

[[input]]
name = "signl4"
type = "http"
path = "/hooks/signl4"
format = "signl4"
token = %q

[[input]]
name = "chat"
type = "http"
path = "/hooks/rocketchat"
format = "rocketchat"
token = %q

[[sink]]
name = "pager"
plugin = "signl4"
[sink.config]
url = "https://connect.signl4.com/webhook/secret"

[[sink]]
name = "chat"
plugin = "rocketchat"
[sink.config]
server = "https://chat.example.com"
user_id = "bot"
token = "pat"
room_id = "ALERTS"

[rules]
packs = [%s]

[server]
listen = "127.0.0.1:0"
`, signl4Token, chatToken, packs)
	cfg, err := config.Parse(filepath.Join(dir, "herald.toml"), []byte(text), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	a, err := Load(cfg, Options{Executable: os.Args[0], Now: func() time.Time { return time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	tw := &twoWay{t: t, agent: a, dir: dir, hooks: map[string]http.Handler{}}
	tw.open()
	return tw
}

// open (re)opens the state file and attaches the hooks to it, as Run does.
func (tw *twoWay) open() {
	tw.t.Helper()
	store, err := state.Open(StatePath(tw.agent.cfg.Agent.DataDir), state.Options{})
	if err != nil {
		tw.t.Fatal(err)
	}
	tw.t.Cleanup(func() { store.Close() })
	tw.store = store
	tw.reg = prometheus.NewRegistry()
	m := metrics.New(tw.reg)
	for _, h := range tw.agent.hooks {
		h.run = &hookRun{agent: tw.agent, store: store, metrics: m, im: m.Input(h.cfg.Name),
			notify: func(string) {}, eval: tw.agent.rules.NewEvaluator(), requests: m.HookRequests(h.cfg.Name)}
		tw.hooks[h.cfg.Path] = h.handler
	}
}

// post sends a body to a hook and returns the status.
func (tw *twoWay) post(path, query, body string) int {
	tw.t.Helper()
	w := httptest.NewRecorder()
	tw.hooks[path].ServeHTTP(w, httptest.NewRequest(http.MethodPost, path+query, strings.NewReader(body)))
	return w.Code
}

// drain returns "status rule key title" of each event queued for sink, and
// empties the outbox as a dispatcher would.
func (tw *twoWay) drain(sink string) []string {
	tw.t.Helper()
	entries, err := tw.store.Pending(sink, 0)
	if err != nil {
		tw.t.Fatal(err)
	}
	var out []string
	var done []state.Done
	for _, e := range entries {
		out = append(out, fmt.Sprintf("%s %s %s %s", e.Event.Status, e.Event.Rule, e.Event.Key, e.Event.Title))
		done = append(done, state.Done{Seq: e.Seq, Result: sdk.Accept("")})
	}
	if err := tw.store.Complete(sink, done); err != nil {
		tw.t.Fatal(err)
	}
	return out
}

func (tw *twoWay) alert(rule, key string) state.Alert {
	tw.t.Helper()
	var a state.Alert
	if err := tw.store.View(func(tx *state.Tx) error {
		a, _ = tx.Alert(rule, key)
		return nil
	}); err != nil {
		tw.t.Fatal(err)
	}
	return a
}

// seed puts a delivered Qlik failure alert into the state, with the references
// the sinks returned for it.
func (tw *twoWay) seed() {
	tw.t.Helper()
	if err := tw.store.Update(func(tx *state.Tx) error {
		return tx.PutAlert(state.Alert{Rule: "qlik-reload-failed", Key: taskKey, Status: sdk.StatusFiring, Title: "Qlik Sense reload failed: Sales",
			Severity: "critical", Count: 1, Refs: map[string]string{"pager": "signl4-event-1", "chat": "root-1"}})
	}); err != nil {
		tw.t.Fatal(err)
	}
}

func signl4Body(id string, eventType, statusCode int, user, note string) string {
	annotation := "null"
	if note != "" {
		annotation = fmt.Sprintf(`{"message":%q,"id":"n-%s"}`, note, id)
	}
	return fmt.Sprintf(`{"eventType":%d,"eventRaisedUtc":"2026-11-22T09:05:00.1234567Z","team":{"id":"team-1"},
"user":{"username":%q,"mailaddress":"%s@example.com","id":"u-%s"},
"alert":{"statusCode":%d,"eventId":"signl4-event-1","externalEventId":%q,"id":"alert-1"},"annotation":%s,"id":%q}`,
		eventType, user, user, user, statusCode, taskKey, annotation, id)
}

func chatBody(id, user, text, trigger, tmid string, bot bool) string {
	botJSON := "false"
	if bot {
		botJSON = `{"i":"integration-1"}`
	}
	return fmt.Sprintf(`{"token":%q,"bot":%s,"trigger_word":%q,"channel_id":"ALERTS","channel_name":"alerts",
"message_id":%q,"timestamp":"2026-11-22T09:10:00.000Z","user_id":"u-%s","user_name":%q,"text":%q,"tmid":%q,
"siteUrl":"https://chat.example.com/"}`, chatToken, botJSON, trigger, id, user, user, text, tmid)
}

func TestTwoWay(t *testing.T) {
	tw := newTwoWay(t, `"qliksense", "signl4-to-rocketchat", "rocketchat-to-signl4"`)
	tw.seed()
	const s4, rc = "/hooks/signl4", "/hooks/rocketchat"
	q := "?token=" + signl4Token
	failed := "qlik-reload-failed " + taskKey

	steps := []struct {
		name        string
		path, query string
		body        string
		pager, chat string // events queued, joined by |
	}{
		{name: "SIGNL4 test notification", path: s4, query: q, body: `{"eventType":1,"id":"t1"}`},
		{name: "acknowledged in SIGNL4", path: s4, query: q, body: signl4Body("n1", 201, 2, "rene", ""),
			chat: "acknowledged " + failed + " Alert acknowledged by rene"},
		{name: "the same notification again", path: s4, query: q, body: signl4Body("n1", 201, 2, "rene", "")},
		{name: "annotated", path: s4, query: q, body: signl4Body("n2", 203, 0, "rene", "OK, I'll take care about it."),
			chat: "info " + failed + " rene: OK, I'll take care about it."},
		{name: "escalated", path: s4, query: q, body: signl4Body("n3", 202, 2, "", ""),
			chat: "info " + failed + " Alert escalated"},
		{name: "a bot's resolve in the thread", path: rc, body: chatBody("m0", "herald", "resolve", "resolve", "root-1", true)},
		{name: "resolve in the alert's thread", path: rc, body: chatBody("m1", "alice", "resolve", "resolve", "root-1", false),
			pager: "resolved " + failed + " Alert resolved by alice in Rocket.Chat",
			chat:  "resolved " + failed + " Alert resolved by alice in Rocket.Chat"},
		{name: "SIGNL4 confirms the close", path: s4, query: q, body: signl4Body("n4", 201, 4, "", "")},
		{name: "ack outside a thread", path: rc, body: chatBody("m2", "alice", "ack", "ack", "", false)},
		{name: "ack in a thread Herald did not start", path: rc, body: chatBody("m3", "alice", "ack", "ack", "root-9", false)},
		{name: "a bot's alert", path: rc, body: chatBody("m4", "bot", "!alert disk full", "!alert", "", true)},
		{name: "an alert from chat", path: rc, body: chatBody("m5", "alice", "!alert the Sales app is empty", "!alert", "", false),
			pager: "firing rocketchat-alert m5 Alert from Rocket.Chat", chat: "firing rocketchat-alert m5 Alert from Rocket.Chat"},
	}
	for _, step := range steps {
		if code := tw.post(step.path, step.query, step.body); code != http.StatusOK {
			t.Fatalf("%s: answered %d", step.name, code)
		}
		for sink, want := range map[string]string{"pager": step.pager, "chat": step.chat} {
			if got := strings.Join(tw.drain(sink), "|"); got != want {
				t.Errorf("%s: %s got %q, want %q", step.name, sink, got, want)
			}
		}
	}
	a := tw.alert("qlik-reload-failed", taskKey)
	if a.Status != sdk.StatusResolved || a.AckedBy != "rene" || a.ResolvedBy != "alice" {
		t.Errorf("alert = %+v, want acknowledged by rene, resolved by alice", a)
	}
	raised := tw.alert("rocketchat-alert", "m5")
	if raised.Fields["User"] != "alice" || raised.Fields["Channel"] != "alerts" ||
		raised.Fields["Link"] != "https://chat.example.com/channel/alerts?msg=m5" {
		t.Errorf("alert from chat has fields %v", raised.Fields)
	}

	// A wrong token records nothing.
	if code := tw.post(s4, "?token=guess", signl4Body("n9", 203, 0, "eve", "pwned")); code != http.StatusUnauthorized {
		t.Errorf("wrong token answered %d", code)
	}
	if got := tw.drain("chat"); len(got) != 0 {
		t.Errorf("a refused callback queued %v", got)
	}

	// The notification ids survive a restart.
	tw.store.Close()
	tw.open()
	tw.seed()
	if code := tw.post(s4, q, signl4Body("n1", 201, 2, "rene", "")); code != http.StatusOK {
		t.Fatalf("redelivery answered %d", code)
	}
	if got := tw.drain("chat"); len(got) != 0 {
		t.Errorf("a notification processed before the restart queued %v", got)
	}
}

// TestSIGNL4CallbackStateWithoutRules: without the pack, a SIGNL4 callback
// still updates the alert's state, and sends nothing.
func TestSIGNL4CallbackStateWithoutRules(t *testing.T) {
	tw := newTwoWay(t, `"qliksense", "rocketchat-to-signl4"`)
	tw.seed()
	q := "?token=" + signl4Token
	for _, body := range []string{signl4Body("n1", 201, 2, "rene", ""), signl4Body("n2", 201, 4, "bob", "")} {
		if code := tw.post("/hooks/signl4", q, body); code != http.StatusOK {
			t.Fatalf("answered %d", code)
		}
	}
	a := tw.alert("qlik-reload-failed", taskKey)
	if a.Status != sdk.StatusResolved || a.AckedBy != "rene" || a.ResolvedBy != "bob" {
		t.Errorf("alert = %+v, want acknowledged by rene and resolved by bob", a)
	}
	if got := append(tw.drain("pager"), tw.drain("chat")...); len(got) != 0 {
		t.Errorf("queued %v; want nothing without rules", got)
	}
}

func TestHTTPInputParserIsAnError(t *testing.T) {
	cfg := &config.Config{Path: filepath.Join(t.TempDir(), "herald.toml")}
	a := &Agent{cfg: cfg, log: nopLogger()}
	if _, err := a.newHTTPInput(config.Input{Name: "h", Type: "http", Format: "json", Token: "t", Parser: "json"}); err == nil ||
		!strings.Contains(err.Error(), "parser: does not apply to an http input") {
		t.Errorf("err = %v", err)
	}
}

func nopLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
