package hooks

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/plugins/sdk"
)

const token = "s3cret-hook-t0ken"

// SIGNL4's outbound webhook bodies, as contracts.md A3 quotes them.
const (
	bodyClosed = `{"eventType":201,"eventRaisedUtc":"2017-09-01T08:11:37.4815663Z",
 "subscription":{"id":"0acf8014-22f2-4503-88d7-f7d05b46744f"},
 "team":{"id":"0e8979f7-0c6a-472d-8918-ecfd339252f8"},
 "user":{"username":"Rene","mailaddress":"rene@signl4.com","id":"f0bd5063-9588-51cf-b3d9-94e5647dedc5"},
 "alert":{"statusCode":4,"eventId":"2518783235949759942_fbc7b4a4","externalEventId":"agent:db-1:cpu_high",
          "acknowledgedUserIds":["f0bd5063"],"id":"2518981069381242800_2ab1b5e0"},
 "annotation":null,"id":"dd209a2d-e037-41ee-b37d-f605cc0a39fb"}`
	bodyAnnotated = `{"eventType":203,"eventRaisedUtc":"2018-04-17T15:00:32Z","user":{"username":"Rene","mailaddress":"rene@signl4.com","id":"f0bd"},
 "alert":{"statusCode":0,"eventId":"e1","externalEventId":"agent:db-1:cpu_high","id":"a1"},
 "annotation":{"message":"OK, I'll take care about it.","id":"2518783235661483318_99eb"},"id":"141c0f88"}`
	bodyTest = `{"eventType":1,"id":"test-1"}`
	// Rocket.Chat's outgoing webhook for a thread reply by a person (B3).
	bodyReply = `{"token":"` + token + `","bot":false,"trigger_word":"ack",
 "channel_id":"GENERAL","channel_name":"alerts","message_id":"yR9fX8","timestamp":"2026-09-20T10:02:11.123Z",
 "user_id":"aobEdbYhXfu5hkeqG","user_name":"alice","text":"ack please","siteUrl":"https://chat.example.com",
 "tmid":"root-1"}`
)

// recorder is a Deliver that keeps what it gets.
type recorder struct {
	mu   sync.Mutex
	got  []Delivery
	err  error
	seen map[string]bool
}

func (r *recorder) deliver(_ context.Context, d Delivery) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return false, r.err
	}
	if r.seen == nil {
		r.seen = map[string]bool{}
	}
	dup := d.ID != "" && r.seen[d.ID]
	r.seen[d.ID] = true
	d.Record = d.Record.Clone()
	r.got = append(r.got, d)
	return dup, nil
}

func newHandler(t *testing.T, format string, opts map[string]any, logs *bytes.Buffer) (*Handler, *recorder) {
	t.Helper()
	rec := &recorder{}
	h, err := New(Config{Input: "in", Format: format, Token: token, ParserOptions: opts, Deliver: rec.deliver,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	return h, rec
}

func post(h http.Handler, target, body string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestSIGNL4(t *testing.T) {
	var logs bytes.Buffer
	h, rec := newHandler(t, FormatSIGNL4, nil, &logs)

	w := post(h, "/hooks/signl4?token="+token, bodyClosed)
	if w.Code != http.StatusOK || w.Body.String() != "{}" || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("closed: %d %q (%s)", w.Code, w.Body, w.Header().Get("Content-Type"))
	}
	w = post(h, "/hooks/signl4?token="+token, bodyAnnotated)
	if w.Code != http.StatusOK {
		t.Fatalf("annotated: %d %s", w.Code, w.Body)
	}
	if len(rec.got) != 2 {
		t.Fatalf("%d deliveries, want 2", len(rec.got))
	}
	closed := rec.got[0]
	want := map[string]string{
		"EventType": "201", "StatusCode": "4", "ExternalEventId": "agent:db-1:cpu_high", "AlertId": "2518981069381242800_2ab1b5e0",
		"EventId": "2518783235949759942_fbc7b4a4", "User": "Rene", "UserMail": "rene@signl4.com",
		"UserId": "f0bd5063-9588-51cf-b3d9-94e5647dedc5", "Annotation": "", "TeamId": "0e8979f7-0c6a-472d-8918-ecfd339252f8",
		"Id": "dd209a2d-e037-41ee-b37d-f605cc0a39fb", "EventRaisedUtc": "2017-09-01T08:11:37.4815663Z",
	}
	for _, f := range SIGNL4Fields {
		if got := closed.Record.Get(f); got != want[f] {
			t.Errorf("%s = %q, want %q", f, got, want[f])
		}
	}
	if closed.ID != want["Id"] || closed.Record.Input != "in" ||
		!closed.Record.Time.Equal(time.Date(2017, 9, 1, 8, 11, 37, 481566300, time.UTC)) {
		t.Errorf("delivery id %q, input %q, time %s", closed.ID, closed.Record.Input, closed.Record.Time)
	}
	if f := closed.Follow; f == nil || *f != (Follow{Key: "agent:db-1:cpu_high", Status: sdk.StatusResolved, By: "Rene"}) {
		t.Errorf("follow = %+v, want the alert resolved by Rene", f)
	}
	note := rec.got[1]
	if note.Record.Get("Annotation") != "OK, I'll take care about it." || note.Record.Get("EventType") != "203" || note.Follow != nil {
		t.Errorf("annotation record = %+v, follow %+v", note.Record, note.Follow)
	}

	// The test notification is logged only.
	if w := post(h, "/hooks/signl4?token="+token, bodyTest); w.Code != http.StatusOK || len(rec.got) != 2 {
		t.Errorf("test notification: %d, %d deliveries", w.Code, len(rec.got))
	}
	if !strings.Contains(logs.String(), "SIGNL4 test notification") {
		t.Errorf("test notification not logged:\n%s", &logs)
	}
	if strings.Contains(logs.String(), token) {
		t.Errorf("the token is in the log:\n%s", &logs)
	}
}

func TestSIGNL4Acknowledged(t *testing.T) {
	h, rec := newHandler(t, FormatSIGNL4, nil, &bytes.Buffer{})
	body := strings.Replace(strings.Replace(bodyClosed, `"statusCode":4`, `"statusCode":2`, 1), `"eventRaisedUtc":"2017-09-01T08:11:37.4815663Z"`, `"eventRaisedUtc":"2017-09-01T08:11:37.48"`, 1)
	if w := post(h, "/x", body, "Authorization", "Bearer "+token); w.Code != http.StatusOK {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	d := rec.got[0]
	if f := d.Follow; f == nil || f.Status != sdk.StatusAcknowledged || f.By != "Rene" {
		t.Errorf("follow = %+v, want acknowledged by Rene", f)
	}
	if !d.Record.Time.Equal(time.Date(2017, 9, 1, 8, 11, 37, 480000000, time.UTC)) {
		t.Errorf("a time without a zone is UTC: got %s", d.Record.Time)
	}
}

func TestRocketChat(t *testing.T) {
	var logs bytes.Buffer
	h, rec := newHandler(t, FormatRocketChat, nil, &logs)
	w := post(h, "/hooks/rocketchat", bodyReply)
	if w.Code != http.StatusOK || w.Body.String() != "{}" || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("answer %d %q %q; Rocket.Chat needs 200 {} as JSON", w.Code, w.Body, w.Header().Get("Content-Type"))
	}
	r := rec.got[0].Record
	want := map[string]string{
		"Bot": "false", "TriggerWord": "ack", "ChannelId": "GENERAL", "ChannelName": "alerts", "MessageId": "yR9fX8",
		"Timestamp": "2026-09-20T10:02:11.123Z", "UserId": "aobEdbYhXfu5hkeqG", "UserName": "alice", "Text": "ack please",
		"Tmid": "root-1", "SiteUrl": "https://chat.example.com", "Alias": "",
	}
	for _, f := range RocketChatFields {
		if got := r.Get(f); got != want[f] {
			t.Errorf("%s = %q, want %q", f, got, want[f])
		}
	}
	if rec.got[0].ID != "yR9fX8" || !r.Time.Equal(time.Date(2026, 9, 20, 10, 2, 11, 123e6, time.UTC)) {
		t.Errorf("id %q, time %s", rec.got[0].ID, r.Time)
	}
	if strings.Contains(r.Raw, token) || strings.Contains(logs.String(), token) {
		t.Errorf("the token leaks: raw %s\nlog %s", r.Raw, &logs)
	}
	if _, ok := r.Lookup("Token"); ok {
		t.Error("the token is a field")
	}

	// A message an integration posted carries bot: {i: id}.
	bot := strings.Replace(bodyReply, `"bot":false`, `"bot":{"i":"integration-1"}`, 1)
	bot = strings.Replace(bot, `"message_id":"yR9fX8"`, `"message_id":"m2"`, 1)
	if w := post(h, "/hooks/rocketchat", bot); w.Code != http.StatusOK || rec.got[1].Record.Get("Bot") != "true" {
		t.Errorf("bot message: %d, Bot = %q", w.Code, rec.got[1].Record.Get("Bot"))
	}
	// The token may also be a query parameter; the body's is then not needed.
	noTok := strings.Replace(bodyReply, `"token":"`+token+`",`, "", 1)
	if w := post(h, "/hooks/rocketchat?token="+token, noTok); w.Code != http.StatusOK {
		t.Errorf("query token: %d %s", w.Code, w.Body)
	}
}

func TestJSON(t *testing.T) {
	h, rec := newHandler(t, FormatJSON, map[string]any{"fields": []any{"status", "alert"}}, &bytes.Buffer{})
	body := `{"time":"2026-01-02T03:04:05Z","status":"firing","alert":{"name":"x"},"n":1.50}`
	if w := post(h, "/hooks/json?token="+token, body, "Webhook-Id", "msg_1"); w.Code != http.StatusOK {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	d := rec.got[0]
	if d.ID != "msg_1" || d.Record.Get("status") != "firing" || d.Record.Get("alert") != `{"name":"x"}` ||
		!d.Record.Time.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) || d.Record.Input != "in" {
		t.Errorf("delivery = %+v, record %+v", d, d.Record)
	}
	if got := strings.Join(h.Fields(), ","); got != "time,level,msg,message,status,alert" {
		t.Errorf("fields = %s", got)
	}
}

func TestRefused(t *testing.T) {
	big := `{"eventType":201,"pad":"` + strings.Repeat("x", MaxBody) + `"}`
	tests := []struct {
		name, format, target, body string
		header                     []string
		method                     string
		want                       int
	}{
		{name: "wrong token", format: FormatSIGNL4, target: "/h?token=nope", body: bodyClosed, want: 401},
		{name: "no token", format: FormatSIGNL4, target: "/h", body: bodyClosed, want: 401},
		{name: "token of another length", format: FormatSIGNL4, target: "/h?token=" + token + "x", body: bodyClosed, want: 401},
		{name: "wrong bearer", format: FormatSIGNL4, target: "/h", body: bodyClosed, header: []string{"Authorization", "Bearer x"}, want: 401},
		{name: "wrong body token", format: FormatRocketChat, target: "/h", body: strings.Replace(bodyReply, token, "guess", 1), want: 401},
		{name: "a wrong query token is not saved by the body's", format: FormatRocketChat, target: "/h?token=guess", body: bodyReply, want: 401},
		{name: "no body token and malformed", format: FormatRocketChat, target: "/h", body: `{"token":`, want: 401},
		{name: "body token, then malformed", format: FormatRocketChat, target: "/h", body: `{"token":"` + token + `"`, want: 400},
		{name: "body token after TokenWindow", format: FormatRocketChat, target: "/h", body: `{"pad":"` + strings.Repeat("x", TokenWindow) + `","token":"` + token + `"}`, want: 401},
		{name: "too large", format: FormatSIGNL4, target: "/h?token=" + token, body: big, want: 413},
		{name: "malformed", format: FormatSIGNL4, target: "/h?token=" + token, body: `{"eventType":`, want: 400},
		{name: "trailing data", format: FormatSIGNL4, target: "/h?token=" + token, body: bodyTest + "{}", want: 400},
		{name: "array", format: FormatJSON, target: "/h?token=" + token, body: `[1]`, want: 400},
		{name: "not SIGNL4", format: FormatSIGNL4, target: "/h?token=" + token, body: `{"hello":"x"}`, want: 400},
		{name: "GET", format: FormatSIGNL4, target: "/h?token=" + token, method: http.MethodGet, want: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, rec := newHandler(t, tt.format, nil, &bytes.Buffer{})
			var answered []int
			h.cfg.Answered = func(code int) { answered = append(answered, code) }
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			req := httptest.NewRequest(method, tt.target, strings.NewReader(tt.body))
			for i := 0; i+1 < len(tt.header); i += 2 {
				req.Header.Set(tt.header[i], tt.header[i+1])
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tt.want || len(rec.got) != 0 {
				t.Errorf("answered %d (%s) and delivered %d; want %d and nothing delivered", w.Code, w.Body, len(rec.got), tt.want)
			}
			if len(answered) != 1 || answered[0] != tt.want {
				t.Errorf("Answered saw %v", answered)
			}
			if strings.Contains(w.Body.String(), token) {
				t.Errorf("the answer shows the token: %s", w.Body)
			}
		})
	}
}

func TestDeliverFailureAsksForARetry(t *testing.T) {
	h, rec := newHandler(t, FormatSIGNL4, nil, &bytes.Buffer{})
	rec.err = errors.New("state: commit: disk full")
	if w := post(h, "/h?token="+token, bodyClosed); w.Code != http.StatusServiceUnavailable {
		t.Errorf("answered %d, want 503 so SIGNL4 delivers again", w.Code)
	}
}

func TestNewErrors(t *testing.T) {
	deliver := func(context.Context, Delivery) (bool, error) { return false, nil }
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{Format: FormatSIGNL4, Deliver: deliver}, "empty token"},
		{Config{Format: "xml", Token: "t", Deliver: deliver}, `unknown format "xml"`},
		{Config{Format: FormatRocketChat, Token: "t", Deliver: deliver, ParserOptions: map[string]any{"fields": []any{"x"}}},
			"parser_options: format rocketchat takes none"},
		{Config{Format: FormatJSON, Token: "t", Deliver: deliver, ParserOptions: map[string]any{"feilds": []any{"x"}}}, "feilds"},
	}
	for _, tt := range tests {
		if _, err := New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%+v) = %v, want an error containing %q", tt.cfg, err, tt.want)
		}
	}
}
