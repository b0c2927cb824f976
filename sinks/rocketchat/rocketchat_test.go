package rocketchat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/heraldhq/herald/plugins/sdk"
	"github.com/heraldhq/herald/sinks/rocketchat"
	"github.com/heraldhq/herald/sinks/sinktest"
	"github.com/heraldhq/herald/sinks/sinktest/fakerocketchat"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const (
	hookToken = "Xq3kT9vLmW2pR7sYbN4cHfJ8"
	hookID    = "6513a8f2c1d4e5f6a7b8c9d0"
	botID     = "botUserId0000001"
	botToken  = "bot-personal-access-token-1234"
	room      = "ALERTS"
)

type env struct {
	fake *fakerocketchat.Server
	srv  *httptest.Server
	clk  *fakerocketchat.Clock
	logs *sinktest.Logs
}

func newEnv(t *testing.T, mod func(*fakerocketchat.Options)) *env {
	t.Helper()
	// The fake's clock starts at the real time: the sink reads a rate-limit
	// reset against its own clock, and ignores one in the past.
	clk := fakerocketchat.NewClock(time.Now().Truncate(time.Millisecond))
	opts := fakerocketchat.Options{
		Rooms: []fakerocketchat.Room{{ID: room, Name: "alerts"}, {ID: "GENERAL", Name: "general"}},
		Users: []fakerocketchat.User{
			{ID: "hookUser", Username: "herald.hook", Impersonate: true},
			{ID: botID, Username: "herald", Token: botToken, Impersonate: true, BypassRateLimit: true},
		},
		Hooks: []fakerocketchat.Hook{{ID: hookID, Token: hookToken, UserID: "hookUser", Channel: "#alerts"}},
		Now:   clk.Now,
	}
	if mod != nil {
		mod(&opts)
	}
	fake := fakerocketchat.New(opts)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return &env{fake: fake, srv: srv, clk: clk, logs: sinktest.NewLogs()}
}

func (e *env) hookURL() string { return e.srv.URL + "/hooks/" + hookID + "/" + hookToken }

func (e *env) webhookConfig(extra map[string]any) map[string]any {
	c := map[string]any{"url": e.hookURL(), "alias": "Herald", "emoji": ":rotating_light:"}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

func (e *env) restConfig(extra map[string]any) map[string]any {
	c := map[string]any{"server": e.srv.URL, "user_id": botID, "token": botToken, "room_id": room}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

func (e *env) sink(t *testing.T, cfg map[string]any) *rocketchat.Sink {
	t.Helper()
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := rocketchat.New()
	if err := s.Configure(context.Background(), sdk.Config{Name: "chat", Raw: raw, Logger: e.logs.Logger()}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return s
}

// checkNoSecret fails if a result or the logs show a secret.
func (e *env) checkNoSecret(t *testing.T, res []sdk.Result) {
	t.Helper()
	for i, r := range res {
		for _, sec := range []string{hookToken, botToken} {
			if strings.Contains(r.Reason, sec) {
				t.Errorf("Result[%d].Reason shows a secret: %q", i, r.Reason)
			}
		}
	}
	for _, sec := range []string{hookToken, botToken} {
		if strings.Contains(e.logs.String(), sec) {
			t.Errorf("logs show a secret:\n%s", e.logs.String())
		}
	}
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func event(id string, status sdk.Status, severity, ref string) sdk.Event {
	return sdk.Event{
		ID: id, Rule: "qlik-reload-failed", Status: status, Key: "6b2f1c3e-task", Severity: severity,
		Title: "Reload failed: Sales", Message: "Max retries reached\nError: Field not found <Amount>",
		Fields: map[string]string{
			"TaskName": "Reload Sales", "AppName": "Sales", "ExecutionId": "9f1e-exec",
			"TaskId": "6b2f1c3e-task", "AppId": "a1b2-app",
		},
		Time: t0, Host: "qlik-node-1", Ref: ref,
	}
}

// bodies returns the JSON bodies of the requests to paths with prefix.
func bodies(t *testing.T, fake *fakerocketchat.Server, prefix string) []json.RawMessage {
	t.Helper()
	var out []json.RawMessage
	for _, r := range fake.Requests() {
		if strings.HasPrefix(r.Path, prefix) && len(r.Body) > 0 {
			out = append(out, json.RawMessage(r.Body))
		}
	}
	return out
}

func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test -update after checking):\n%s", path, got)
	}
}

func TestSample(t *testing.T) {
	sinktest.CheckSample(t, rocketchat.SampleConfig(), "README.md", rocketchat.Name, func() sdk.Sink { return rocketchat.New() })
}

func TestConformanceWebhook(t *testing.T) {
	sinktest.Run(t, sinktest.Harness{
		New:    func() sdk.Sink { return rocketchat.New() },
		Secret: hookToken,
		Config: func(baseURL string, timeout time.Duration) map[string]any {
			return map[string]any{"url": baseURL + "/hooks/" + hookID + "/" + hookToken, "timeout": timeout.String()}
		},
		SuccessBody: `{"success":true}`,
		RetryHeaders: map[string]func(time.Time) http.Header{
			"X-RateLimit-Reset in ms": func(at time.Time) http.Header {
				return http.Header{"X-Ratelimit-Reset": {strconv.FormatInt(at.UnixMilli(), 10)}}
			},
			"Retry-After seconds": func(at time.Time) http.Header {
				return http.Header{"Retry-After": {strconv.Itoa(int(time.Until(at).Round(time.Second).Seconds()))}}
			},
		},
		BadConfigs: func(baseURL string) map[string]map[string]any {
			return map[string]map[string]any{
				"no hooks path":      {"url": baseURL + "/" + hookToken},
				"query":              {"url": baseURL + "/hooks/" + hookID + "/" + hookToken + "?x=1"},
				"token with url":     {"url": baseURL + "/hooks/" + hookID + "/" + hookToken, "token": hookToken},
				"url and server":     {"url": baseURL + "/hooks/" + hookID + "/" + hookToken, "server": baseURL},
				"not a url":          {"url": "chat.example.com/hooks/" + hookID + "/" + hookToken},
				"max_text too small": {"url": baseURL + "/hooks/" + hookID + "/" + hookToken, "max_text": 10},
			}
		},
	})
}

// TestWebhookMessages pins the payloads of every kind of event and checks
// what the room shows.
func TestWebhookMessages(t *testing.T) {
	e := newEnv(t, nil)
	s := e.sink(t, e.webhookConfig(nil))
	evs := []sdk.Event{
		event("e1", sdk.StatusFiring, "critical", ""),
		event("e2", sdk.StatusFiring, "warning", ""),
		event("e3", sdk.StatusFiring, "info", ""),
		event("e4", sdk.StatusAcknowledged, "critical", ""),
		event("e5", sdk.StatusResolved, "critical", ""),
		event("e6", sdk.StatusInfo, "critical", ""),
	}
	res := s.Send(context.Background(), evs)
	for i, r := range res {
		if r.Outcome != sdk.Accepted {
			t.Fatalf("event %d: %v %s", i, r.Outcome, r.Reason)
		}
	}
	golden(t, "webhook.golden.json", bodies(t, e.fake, "/hooks/"))

	msgs := e.fake.Messages(room)
	wantColours := []string{"#d00000", "#f0a000", "#439fe0", "#9e9e9e", "#2eb886", "#9e9e9e"}
	if len(msgs) != len(wantColours) {
		t.Fatalf("room has %d messages, want %d", len(msgs), len(wantColours))
	}
	for i, m := range msgs {
		if m.Attachments[0].Color != wantColours[i] || m.Alias != "Herald" || m.Emoji != ":rotating_light:" {
			t.Errorf("message %d: colour %s alias %q emoji %q", i, m.Attachments[0].Color, m.Alias, m.Emoji)
		}
	}
	if msgs[0].Msg != ":red_circle: *FIRING* Reload failed: Sales" || msgs[4].Msg != ":white_check_mark: *RESOLVED* Reload failed: Sales" {
		t.Errorf("texts: %q, %q", msgs[0].Msg, msgs[4].Msg)
	}
	// The webhook returned the posted message: its _id is the alert's Ref.
	if res[0].Ref != msgs[0].ID {
		t.Errorf("Ref = %q, want the posted message's _id %q", res[0].Ref, msgs[0].ID)
	}
	e.checkNoSecret(t, res)
}

func TestWebhookReplyInThread(t *testing.T) {
	e := newEnv(t, nil)
	s := e.sink(t, e.webhookConfig(nil))
	fired := s.Send(context.Background(), []sdk.Event{event("e1", sdk.StatusFiring, "critical", "")})[0]
	if fired.Outcome != sdk.Accepted || fired.Ref == "" {
		t.Fatalf("firing: %+v", fired)
	}
	res := s.Send(context.Background(), []sdk.Event{event("e2", sdk.StatusResolved, "critical", fired.Ref)})[0]
	if res.Outcome != sdk.Accepted || res.Ref != fired.Ref {
		t.Fatalf("resolved: %+v", res)
	}
	th := e.fake.Thread(fired.Ref)
	if len(th) != 1 || th[0].Attachments[0].Color != "#2eb886" {
		t.Fatalf("thread of the root = %+v", th)
	}
}

func TestWebhookChannelOverride(t *testing.T) {
	for _, allowed := range []bool{false, true} {
		e := newEnv(t, func(o *fakerocketchat.Options) { o.Hooks[0].OverrideChannel = allowed })
		s := e.sink(t, e.webhookConfig(map[string]any{"channel": "#general"}))
		r := s.Send(context.Background(), []sdk.Event{event("e1", sdk.StatusFiring, "critical", "")})[0]
		switch {
		case allowed && (r.Outcome != sdk.Accepted || len(e.fake.Messages("GENERAL")) != 1):
			t.Errorf("override allowed: %+v, #general has %d", r, len(e.fake.Messages("GENERAL")))
		case !allowed && (r.Outcome != sdk.Rejected || !strings.Contains(r.Reason, "overriding destination channel is disabled")):
			t.Errorf("override refused: %+v", r)
		}
	}
}

func TestTruncation(t *testing.T) {
	const limit = 300
	e := newEnv(t, func(o *fakerocketchat.Options) { o.MaxMessageSize = limit })
	for _, mode := range []string{"webhook", "rest"} {
		t.Run(mode, func(t *testing.T) {
			cfg := e.webhookConfig(map[string]any{"max_text": limit})
			if mode == "rest" {
				cfg = e.restConfig(map[string]any{"max_text": limit})
			}
			s := e.sink(t, cfg)
			ev := event("long-"+mode, sdk.StatusFiring, "critical", "")
			ev.Title = strings.Repeat("Reload failed 😀 ", 40)
			ev.Message = strings.Repeat("Error: Field not found ✓ ", 40)
			r := s.Send(context.Background(), []sdk.Event{ev})[0]
			if r.Outcome != sdk.Accepted {
				t.Fatalf("a long event was not accepted by a server with a %d limit: %+v", limit, r)
			}
			msgs := e.fake.Messages(room)
			m := msgs[len(msgs)-1]
			for what, text := range map[string]string{"text": m.Msg, "attachment text": m.Attachments[0].Text} {
				if n := len(utf16.Encode([]rune(text))); n > limit || !strings.HasSuffix(text, rocketchat.TruncationMark) {
					t.Errorf("%s: %d UTF-16 units, ends %q", what, n, text[max(0, len(text)-20):])
				}
			}
		})
	}
}

func TestWebhookInvalidToken(t *testing.T) {
	tests := []struct {
		answer fakerocketchat.InvalidTokenAnswer
		want   sdk.Outcome
		reason string
	}{
		{fakerocketchat.InvalidToken500, sdk.Retryable, "check url"},
		{fakerocketchat.InvalidToken404, sdk.Rejected, "Invalid integration id or token provided."},
		{fakerocketchat.InvalidToken401, sdk.Rejected, "You must be logged in to do this."},
	}
	for _, tt := range tests {
		e := newEnv(t, func(o *fakerocketchat.Options) { o.InvalidHookToken = tt.answer; o.Hooks[0].Token = "rotated" })
		s := e.sink(t, e.webhookConfig(nil))
		res := s.Send(context.Background(), []sdk.Event{event("e1", sdk.StatusFiring, "critical", ""), event("e2", sdk.StatusFiring, "critical", "")})
		if res[0].Outcome != tt.want || !strings.Contains(res[0].Reason, tt.reason) {
			t.Errorf("answer %v: %+v", tt.answer, res[0])
		}
		if res[1].Outcome != tt.want || len(e.fake.Requests()) != 1 {
			t.Errorf("answer %v: second event %+v after %d requests; want it not sent", tt.answer, res[1], len(e.fake.Requests()))
		}
		e.checkNoSecret(t, res)
	}
}

func TestWebhookRateLimit(t *testing.T) {
	e := newEnv(t, nil)
	s := e.sink(t, e.webhookConfig(nil))
	evs := make([]sdk.Event, 12)
	for i := range evs {
		evs[i] = event("e"+strconv.Itoa(i), sdk.StatusFiring, "critical", "")
	}
	res := s.Send(context.Background(), evs)
	for i, r := range res[:10] {
		if r.Outcome != sdk.Accepted {
			t.Fatalf("event %d: %+v", i, r)
		}
	}
	wantAt := e.clk.Now().Add(time.Minute)
	for i, r := range res[10:] {
		if r.Outcome != sdk.Retryable || !r.RetryAt.Equal(wantAt) {
			t.Errorf("event %d: %v at %v (%s), want retryable at %v", 10+i, r.Outcome, r.RetryAt, r.Reason, wantAt)
		}
	}
	if n := len(e.fake.Requests()); n != 11 {
		t.Errorf("%d requests, want 11: the batch stops at the first 429", n)
	}
}

func TestWebhookDisabled(t *testing.T) {
	e := newEnv(t, func(o *fakerocketchat.Options) { o.Hooks[0].Disabled = true })
	s := e.sink(t, e.webhookConfig(nil))
	r := s.Send(context.Background(), []sdk.Event{event("e1", sdk.StatusFiring, "critical", "")})[0]
	if r.Outcome != sdk.Retryable || !strings.Contains(r.Reason, "disabled") {
		t.Fatalf("%+v", r)
	}
}

// TestRESTAlertThread follows one alert through REST mode: firing, a retry of
// it, acknowledged, resolved.
func TestRESTAlertThread(t *testing.T) {
	for _, dup := range []fakerocketchat.DuplicateIDAnswer{fakerocketchat.DuplicateTypeError, fakerocketchat.DuplicateE11000} {
		e := newEnv(t, func(o *fakerocketchat.Options) { o.DuplicateID = dup })
		s := e.sink(t, e.restConfig(map[string]any{"emoji": ":rotating_light:"}))
		ctx := context.Background()
		firing := event("01J-fire", sdk.StatusFiring, "critical", "")

		r := s.Send(ctx, []sdk.Event{firing})[0]
		rootID := rocketchat.MessageID(room, firing.ID)
		if r.Outcome != sdk.Accepted || r.Ref != rootID {
			t.Fatalf("firing: %+v, want accepted with Ref %s", r, rootID)
		}
		root, ok := e.fake.Message(rootID)
		if !ok || root.RID != room || root.Attachments[0].Color != "#d00000" || root.Msg != ":red_circle: *FIRING* Reload failed: Sales" {
			t.Fatalf("root = %+v", root)
		}

		// The agent retries (say the answer was lost): same _id, no second post.
		r = s.Send(ctx, []sdk.Event{firing})[0]
		if r.Outcome != sdk.Accepted || r.Ref != rootID {
			t.Fatalf("retried firing: %+v", r)
		}
		if n := len(e.fake.Messages(room)); n != 1 {
			t.Fatalf("room has %d messages after a retry, want 1", n)
		}

		res := s.Send(ctx, []sdk.Event{
			event("01J-ack", sdk.StatusAcknowledged, "critical", rootID),
			event("01J-res", sdk.StatusResolved, "critical", rootID),
		})
		for i, r := range res {
			if r.Outcome != sdk.Accepted || r.Ref != rootID {
				t.Fatalf("reply %d: %+v, want accepted keeping Ref %s", i, r, rootID)
			}
		}
		th := e.fake.Thread(rootID)
		if len(th) != 2 || th[0].ID != rocketchat.MessageID(room, "01J-ack") || th[1].Attachments[0].Color != "#2eb886" {
			t.Fatalf("thread = %+v", th)
		}
		root, _ = e.fake.Message(rootID)
		if root.Msg != ":white_check_mark: *RESOLVED* Reload failed: Sales" || len(root.Edits) != 1 || root.EditedBy.Username != "herald" {
			t.Fatalf("root after resolve = %+v", root)
		}

		// The resolve is retried: no second reply, no second edit.
		r = s.Send(ctx, []sdk.Event{event("01J-res", sdk.StatusResolved, "critical", rootID)})[0]
		root, _ = e.fake.Message(rootID)
		if r.Outcome != sdk.Accepted || len(e.fake.Thread(rootID)) != 2 || len(root.Edits) != 1 {
			t.Fatalf("retried resolve: %+v, thread %d, edits %d", r, len(e.fake.Thread(rootID)), len(root.Edits))
		}
		e.checkNoSecret(t, nil)
	}
}

func TestRESTGolden(t *testing.T) {
	e := newEnv(t, nil)
	s := e.sink(t, e.restConfig(map[string]any{"alias": "Herald", "avatar": "https://chat.example.com/herald.png"}))
	ctx := context.Background()
	r := s.Send(ctx, []sdk.Event{event("01J-fire", sdk.StatusFiring, "critical", "")})[0]
	s.Send(ctx, []sdk.Event{event("01J-res", sdk.StatusResolved, "critical", r.Ref)})
	golden(t, "rest.golden.json", bodies(t, e.fake, "/api/v1/"))
	for _, req := range e.fake.Requests() {
		if req.Header.Get("X-User-Id") != botID || req.Header.Get("X-Auth-Token") != botToken {
			t.Errorf("%s %s: auth headers %v", req.Method, req.Path, req.Header)
		}
	}
}

func TestRESTWithoutRefIsANewMessage(t *testing.T) {
	e := newEnv(t, nil)
	s := e.sink(t, e.restConfig(nil))
	r := s.Send(context.Background(), []sdk.Event{event("01J-note", sdk.StatusInfo, "info", "")})[0]
	m, ok := e.fake.Message(r.Ref)
	if r.Outcome != sdk.Accepted || !ok || m.TMID != "" || m.RID != room {
		t.Fatalf("%+v, message %+v", r, m)
	}
}

func TestRESTResolveEditFailure(t *testing.T) {
	tests := []struct {
		status int
		want   sdk.Outcome
	}{
		{http.StatusBadRequest, sdk.Accepted}, // permanent: the reply says it all
		{http.StatusServiceUnavailable, sdk.Retryable},
	}
	for _, tt := range tests {
		e := newEnv(t, nil)
		s := e.sink(t, e.restConfig(nil))
		root := s.Send(context.Background(), []sdk.Event{event("01J-fire", sdk.StatusFiring, "critical", "")})[0].Ref
		e.fake.Fail("/api/v1/chat.update", 1, tt.status, `{"success":false,"error":"Message editing not allowed [error-action-not-allowed]"}`)
		r := s.Send(context.Background(), []sdk.Event{event("01J-res", sdk.StatusResolved, "critical", root)})[0]
		if r.Outcome != tt.want || len(e.fake.Thread(root)) != 1 {
			t.Errorf("chat.update %d: %+v, thread %d", tt.status, r, len(e.fake.Thread(root)))
		}
		if tt.want == sdk.Accepted && !strings.Contains(e.logs.String(), "error-action-not-allowed") {
			t.Errorf("no warning logged:\n%s", e.logs.String())
		}
	}
}

func TestRESTChannelLookup(t *testing.T) {
	e := newEnv(t, nil)
	s := e.sink(t, e.restConfig(map[string]any{"room_id": nil, "channel": "#alerts"}))
	for i := range 2 {
		r := s.Send(context.Background(), []sdk.Event{event("e"+strconv.Itoa(i), sdk.StatusFiring, "critical", "")})[0]
		if r.Outcome != sdk.Accepted || r.Ref != rocketchat.MessageID(room, "e"+strconv.Itoa(i)) {
			t.Fatalf("send %d: %+v", i, r)
		}
	}
	lookups := 0
	for _, req := range e.fake.Requests() {
		if req.Path == "/api/v1/rooms.info" {
			lookups++
			if req.Query.Get("roomName") != "alerts" {
				t.Errorf("rooms.info query %v", req.Query)
			}
		}
	}
	if lookups != 1 {
		t.Errorf("%d rooms.info lookups, want 1", lookups)
	}

	s = e.sink(t, e.restConfig(map[string]any{"room_id": nil, "channel": "#nope"}))
	res := s.Send(context.Background(), []sdk.Event{event("x1", sdk.StatusFiring, "critical", ""), event("x2", sdk.StatusFiring, "critical", "")})
	for i, r := range res {
		if r.Outcome != sdk.Rejected || !strings.Contains(r.Reason, `"#nope"`) {
			t.Errorf("event %d: %+v", i, r)
		}
	}
}

func TestRESTOutcomes(t *testing.T) {
	tests := []struct {
		name   string
		mod    func(*fakerocketchat.Options)
		cfg    map[string]any
		fault  *[3]any // status, body, for chat.sendMessage
		want   sdk.Outcome
		reason string
		halts  bool // the second event of the batch is not sent
		lookup bool // a 400 without a Meteor error code is checked with chat.getMessage
	}{
		{name: "bad token", cfg: map[string]any{"token": "wrong-token-5678"}, want: sdk.Rejected,
			reason: "HTTP 401 Unauthorized: You must be logged in to do this. (check user_id and token)", halts: true},
		{name: "forbidden", mod: func(o *fakerocketchat.Options) { o.Users[1].Forbidden = true }, want: sdk.Rejected, reason: "HTTP 403", halts: true},
		{name: "too long for the server", mod: func(o *fakerocketchat.Options) { o.MaxMessageSize = 20 }, want: sdk.Rejected,
			reason: "chat.sendMessage: HTTP 400 Bad Request: Message size exceeds Message_MaxAllowedSize [error-message-size-exceeded]"},
		{name: "no impersonation", mod: func(o *fakerocketchat.Options) { o.Users[1].Impersonate = false }, cfg: map[string]any{"alias": "Herald"},
			want: sdk.Rejected, reason: "Not enough permission", lookup: true},
		{name: "unknown room", cfg: map[string]any{"room_id": "NOPE"}, want: sdk.Rejected, reason: "Invalid room [error-invalid-room]"},
		{name: "server error", fault: &[3]any{500, `{"success":false,"error":"boom"}`}, want: sdk.Retryable, reason: "HTTP 500", halts: true},
		{name: "bad gateway", fault: &[3]any{502, `<html>bad gateway</html>`}, want: sdk.Retryable, reason: "HTTP 502", halts: true},
		{name: "echoed token", fault: &[3]any{400, `{"success":false,"error":"X-Auth-Token ` + botToken + ` refused"}`}, want: sdk.Rejected, reason: "X-Auth-Token … refused", lookup: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.mod)
			s := e.sink(t, e.restConfig(tt.cfg))
			if tt.fault != nil {
				e.fake.Fail("/api/v1/chat.sendMessage", 1, tt.fault[0].(int), tt.fault[1].(string))
			}
			res := s.Send(context.Background(), []sdk.Event{event("e1", sdk.StatusFiring, "critical", ""), event("e2", sdk.StatusFiring, "critical", "")})
			if res[0].Outcome != tt.want || !strings.Contains(res[0].Reason, tt.reason) {
				t.Fatalf("got %v %q, want %v containing %q", res[0].Outcome, res[0].Reason, tt.want, tt.reason)
			}
			sends, lookups := 0, 0
			for _, r := range e.fake.Requests() {
				switch r.Path {
				case "/api/v1/chat.sendMessage":
					sends++
				case "/api/v1/chat.getMessage":
					lookups++
				}
			}
			if tt.lookup != (lookups > 0) {
				t.Errorf("%d chat.getMessage lookups, want them: %v", lookups, tt.lookup)
			}
			if tt.halts && (sends != 1 || res[1].Outcome != tt.want) {
				t.Errorf("second event: %+v after %d sends; want the same outcome, unsent", res[1], sends)
			}
			if !tt.halts && sends != 2 {
				t.Errorf("%d sends, want 2: a rejection of one event must not stop the next", sends)
			}
			e.checkNoSecret(t, res)
		})
	}
}

func TestRESTRateLimit(t *testing.T) {
	t.Run("X-RateLimit-Reset", func(t *testing.T) {
		e := newEnv(t, func(o *fakerocketchat.Options) { o.Users[1].BypassRateLimit = false })
		s := e.sink(t, e.restConfig(nil))
		evs := make([]sdk.Event, 7)
		for i := range evs {
			evs[i] = event("e"+strconv.Itoa(i), sdk.StatusFiring, "critical", "")
		}
		res := s.Send(context.Background(), evs)
		wantAt := e.clk.Now().Add(time.Second) // chat.sendMessage: 5 a second
		for i, r := range res {
			switch {
			case i < 5 && r.Outcome != sdk.Accepted:
				t.Errorf("event %d: %+v", i, r)
			case i >= 5 && (r.Outcome != sdk.Retryable || !r.RetryAt.Equal(wantAt)):
				t.Errorf("event %d: %v at %v, want retryable at %v (%s)", i, r.Outcome, r.RetryAt, wantAt, r.Reason)
			}
		}
	})
	t.Run("wait N seconds", func(t *testing.T) {
		e := newEnv(t, nil)
		s := e.sink(t, e.restConfig(nil))
		e.fake.Fail("/api/v1/chat.sendMessage", 1, 429,
			`{"success":false,"error":"Error, too many requests. Please slow down. You must wait 42 seconds before trying this endpoint again. [error-too-many-requests]"}`)
		before := time.Now()
		r := s.Send(context.Background(), []sdk.Event{event("e1", sdk.StatusFiring, "critical", "")})[0]
		if r.Outcome != sdk.Retryable || r.RetryAt.Before(before.Add(42*time.Second)) || r.RetryAt.After(time.Now().Add(42*time.Second)) {
			t.Fatalf("%+v, want retryable 42 s from now", r)
		}
	})
}

func TestRESTTransportFailure(t *testing.T) {
	e := newEnv(t, nil)
	s := e.sink(t, e.restConfig(nil))
	e.srv.Close()
	res := s.Send(context.Background(), []sdk.Event{event("e1", sdk.StatusFiring, "critical", ""), event("e2", sdk.StatusFiring, "critical", "")})
	for i, r := range res {
		if r.Outcome != sdk.Retryable {
			t.Errorf("event %d: %+v", i, r)
		}
	}
	e.checkNoSecret(t, res)
}
