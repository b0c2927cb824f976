package fakerocketchat_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/sinks/sinktest/fakerocketchat"
)

const (
	hookPath = "/hooks/hook1/s3cr3t-token"
	botID    = "botUserId0000001"
	botToken = "bot-pat-token"
)

func newFake(t *testing.T, mod func(*fakerocketchat.Options)) (*fakerocketchat.Server, *httptest.Server, *fakerocketchat.Clock) {
	t.Helper()
	clk := fakerocketchat.NewClock(time.Date(2026, 9, 20, 10, 0, 0, 0, time.UTC))
	opts := fakerocketchat.Options{
		Rooms: []fakerocketchat.Room{{ID: "GENERAL", Name: "general"}, {ID: "ALERTS", Name: "alerts"}, {ID: "SECRET", Name: "ops", Private: true}},
		Users: []fakerocketchat.User{
			{ID: "hookUser", Username: "herald.bot", Impersonate: true},
			{ID: botID, Username: "herald", Token: botToken, Impersonate: true},
			{ID: "plainUser", Username: "alice", Token: "alice-token"},
		},
		Hooks: []fakerocketchat.Hook{{ID: "hook1", Token: "s3cr3t-token", UserID: "hookUser", Channel: "#alerts", Alias: "Hooky", Emoji: ":ghost:"}},
		Now:   clk.Now,
	}
	if mod != nil {
		mod(&opts)
	}
	fake := fakerocketchat.New(opts)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return fake, srv, clk
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func do(t *testing.T, method, target, contentType, body string, h map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

func postJSON(t *testing.T, target, body string) answer {
	return do(t, http.MethodPost, target, "application/json", body, nil)
}

func rest(t *testing.T, srv *httptest.Server, method, endpoint, body string) answer {
	return do(t, method, srv.URL+"/api/v1/"+endpoint, "application/json", body,
		map[string]string{"X-User-Id": botID, "X-Auth-Token": botToken})
}

func TestHookPostsToItsChannel(t *testing.T) {
	tests := []struct {
		name, path, method, contentType, body string
		wantStatus                            int
		wantBody                              map[string]any
		wantPosted                            string // msg text, "" for nothing posted
	}{
		{"json", hookPath, "POST", "application/json", `{"text":"hello"}`, 200, map[string]any{"success": true}, "hello"},
		{"legacy three segments", "/hooks/hook1/anyUser/s3cr3t-token", "POST", "application/json", `{"text":"legacy"}`, 200, map[string]any{"success": true}, "legacy"},
		{"url-encoded token decoded twice", "/hooks/hook1/s3cr3t%252Dtoken", "POST", "application/json", `{"text":"decoded"}`, 200, map[string]any{"success": true}, "decoded"},
		{"msg alias of text", hookPath, "POST", "application/json", `{"msg":"via msg"}`, 200, map[string]any{"success": true}, "via msg"},
		{"form payload unwrapped", hookPath, "POST", "application/x-www-form-urlencoded", "payload=" + url.QueryEscape(`{"text":"from form"}`), 200, map[string]any{"success": true}, "from form"},
		{"form payload array", hookPath, "POST", "application/x-www-form-urlencoded", "payload=" + url.QueryEscape(`[{"text":"x"}]`), 400,
			map[string]any{"success": false, "error": "Integration payload must be a JSON object, not an array or primitive"}, ""},
		{"form payload primitive", hookPath, "POST", "application/x-www-form-urlencoded", "payload=42", 400,
			map[string]any{"success": false, "error": "Integration payload must be a JSON object, not an array or primitive"}, ""},
		{"GET posts nothing", hookPath + "?text=hi", "GET", "", "", 200, map[string]any{"success": true}, ""},
		{"empty body posts nothing", hookPath, "POST", "application/json", "", 200, map[string]any{"success": true}, ""},
		{"JSON array posts nothing", hookPath, "POST", "application/json", `[{"text":"x"}]`, 200, map[string]any{"success": true}, ""},
		{"channel override refused", hookPath, "POST", "application/json", `{"text":"x","channel":"#general"}`, 400,
			map[string]any{"success": false, "error": "overriding destination channel is disabled for this integration"}, ""},
		{"roomId override refused", hookPath, "POST", "application/json", `{"text":"x","roomId":"GENERAL"}`, 400,
			map[string]any{"success": false, "error": "overriding destination channel is disabled for this integration"}, ""},
		{"field without value", hookPath, "POST", "application/json", `{"text":"x","attachments":[{"fields":[{"title":"Task","value":""}]}]}`, 400,
			map[string]any{"success": false, "error": "Invalid attachment field, title and value is required"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, srv, _ := newFake(t, nil)
			a := do(t, tt.method, srv.URL+tt.path, tt.contentType, tt.body, nil)
			if a.status != tt.wantStatus || !equalJSON(a.body, tt.wantBody) {
				t.Fatalf("got %d %s, want %d %v", a.status, a.raw, tt.wantStatus, tt.wantBody)
			}
			msgs := fake.Messages("ALERTS")
			if tt.wantPosted == "" {
				if len(msgs) != 0 {
					t.Fatalf("posted %+v, want nothing", msgs)
				}
				return
			}
			if len(msgs) != 1 || msgs[0].Msg != tt.wantPosted {
				t.Fatalf("messages in #alerts = %+v, want one saying %q", msgs, tt.wantPosted)
			}
			m := msgs[0]
			if m.Alias != "Hooky" || m.Emoji != ":ghost:" || m.Bot == nil || m.Bot.I != "hook1" || m.U.Username != "herald.bot" {
				t.Errorf("message %+v lacks the integration's defaults and bot marker", m)
			}
		})
	}
}

func equalJSON(got map[string]any, want map[string]any) bool {
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(want)
	return string(a) == string(b)
}

func TestHookIntegrationStates(t *testing.T) {
	tests := []struct {
		name       string
		mod        func(*fakerocketchat.Options)
		path, body string
		wantStatus int
		wantRaw    string
	}{
		{"unknown token is 500", nil, "/hooks/hook1/wrong", `{"text":"x"}`, 500, "Internal Server Error"},
		{"unknown id is 500", nil, "/hooks/nope/s3cr3t-token", `{"text":"x"}`, 500, "Internal Server Error"},
		{"legacy 401", func(o *fakerocketchat.Options) { o.InvalidHookToken = fakerocketchat.InvalidToken401 }, "/hooks/hook1/wrong", `{"text":"x"}`, 401,
			`{"error":"You must be logged in to do this.","message":"You must be logged in to do this.","status":"error","success":false}`},
		{"legacy 404", func(o *fakerocketchat.Options) { o.InvalidHookToken = fakerocketchat.InvalidToken404 }, "/hooks/hook1/wrong", `{"text":"x"}`, 404,
			`{"error":"Invalid integration id or token provided.","success":false}`},
		{"disabled is 503", func(o *fakerocketchat.Options) { o.Hooks[0].Disabled = true }, hookPath, `{"text":"x"}`, 503,
			`{"error":"Service Unavailable","success":false}`},
		{"user without impersonate", func(o *fakerocketchat.Options) { o.Users[0].Impersonate = false }, hookPath, `{"text":"x"}`, 400,
			`{"error":"error-user-lacks-message-impersonate-permission","success":false}`},
		{"override allowed", func(o *fakerocketchat.Options) { o.Hooks[0].OverrideChannel = true }, hookPath, `{"text":"x","channel":"#general"}`, 200,
			`{"success":true}`},
		{"unknown channel", func(o *fakerocketchat.Options) { o.Hooks[0].OverrideChannel = true }, hookPath, `{"text":"x","channel":"#nope"}`, 400,
			`{"error":"invalid-channel","success":false}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, srv, _ := newFake(t, tt.mod)
			a := postJSON(t, srv.URL+tt.path, tt.body)
			if a.status != tt.wantStatus || strings.TrimSpace(a.raw) != tt.wantRaw {
				t.Fatalf("got %d %s, want %d %s", a.status, a.raw, tt.wantStatus, tt.wantRaw)
			}
		})
	}
}

func TestHookSizeLimitCountsUTF16(t *testing.T) {
	_, srv, _ := newFake(t, func(o *fakerocketchat.Options) { o.MaxMessageSize = 10 })
	// Five emoji are ten UTF-16 code units: allowed. Six are twelve.
	if a := postJSON(t, srv.URL+hookPath, `{"text":"😀😀😀😀😀"}`); a.status != 200 {
		t.Fatalf("10 units: %d %s", a.status, a.raw)
	}
	a := postJSON(t, srv.URL+hookPath, `{"text":"😀😀😀😀😀😀"}`)
	if a.status != 400 || a.body["error"] != "error-message-size-exceeded" {
		t.Fatalf("12 units: %d %s", a.status, a.raw)
	}
}

func TestHookSeparateResponse(t *testing.T) {
	fake, srv, _ := newFake(t, func(o *fakerocketchat.Options) { o.Hooks[0].OverrideChannel = true })
	a := postJSON(t, srv.URL+hookPath, `{"text":"hi","separateResponse":true}`)
	resps, _ := a.body["responses"].([]any)
	if a.status != 200 || a.body["success"] != true || len(resps) != 1 {
		t.Fatalf("got %d %s", a.status, a.raw)
	}
	item := resps[0].(map[string]any)
	msg := item["message"].(map[string]any)
	if item["channel"] != "#alerts" || msg["rid"] != "ALERTS" || msg["msg"] != "hi" {
		t.Fatalf("item = %v", item)
	}
	if _, ok := fake.Message(msg["_id"].(string)); !ok {
		t.Fatalf("returned _id %v is not stored", msg["_id"])
	}

	a = postJSON(t, srv.URL+hookPath, `{"text":"hi","separateResponse":true,"channel":["#nope","#general"]}`)
	if a.status != 200 || !strings.Contains(a.raw, `{"channel":"#nope","error":"invalid-channel"}`) {
		t.Fatalf("one channel failing: %d %s", a.status, a.raw)
	}
	a = postJSON(t, srv.URL+hookPath, `{"text":"hi","separateResponse":true,"channel":"#nope"}`)
	if a.status != 400 || a.body["success"] != false {
		t.Fatalf("every channel failing: %d %s", a.status, a.raw)
	}
}

func TestRateLimiter(t *testing.T) {
	_, srv, clk := newFake(t, nil)
	start := clk.Now()
	for i := 1; i <= 10; i++ {
		a := postJSON(t, srv.URL+hookPath, `{"text":"x"}`)
		if a.status != 200 {
			t.Fatalf("call %d: %d %s", i, a.status, a.raw)
		}
		if got := a.header.Get("X-RateLimit-Remaining"); got != strconv.Itoa(10-i) {
			t.Fatalf("call %d: X-RateLimit-Remaining %s", i, got)
		}
		clk.Add(time.Second)
	}
	a := postJSON(t, srv.URL+hookPath, `{"text":"x"}`)
	if a.status != 429 {
		t.Fatalf("11th call: %d %s", a.status, a.raw)
	}
	wantReset := start.Add(time.Minute).UnixMilli()
	if got := a.header.Get("X-RateLimit-Reset"); got != strconv.FormatInt(wantReset, 10) {
		t.Errorf("X-RateLimit-Reset = %s, want %d (epoch ms)", got, wantReset)
	}
	if a.header.Get("Retry-After") != "" {
		t.Error("Rocket.Chat sends no Retry-After")
	}
	want := "Error, too many requests. Please slow down. You must wait 50 seconds before trying this endpoint again. [error-too-many-requests]"
	if a.body["error"] != want || a.body["success"] != false {
		t.Errorf("body = %s", a.raw)
	}
	// Another URL is another route with its own budget.
	if a := postJSON(t, srv.URL+"/hooks/hook1/x/s3cr3t-token", `{"text":"x"}`); a.status != 200 {
		t.Errorf("legacy URL of the same hook: %d", a.status)
	}
	clk.Add(50 * time.Second)
	if a := postJSON(t, srv.URL+hookPath, `{"text":"x"}`); a.status != 200 {
		t.Errorf("after the window: %d %s", a.status, a.raw)
	}
}

func TestRESTAuth(t *testing.T) {
	_, srv, _ := newFake(t, func(o *fakerocketchat.Options) {
		o.Users = append(o.Users, fakerocketchat.User{ID: "limited", Username: "limited", Token: "lt", Forbidden: true})
	})
	body := `{"message":{"rid":"GENERAL","msg":"x"}}`
	for name, h := range map[string]map[string]string{
		"no headers":  nil,
		"wrong token": {"X-User-Id": botID, "X-Auth-Token": "nope"},
	} {
		a := do(t, "POST", srv.URL+"/api/v1/chat.sendMessage", "application/json", body, h)
		if a.status != 401 || a.body["error"] != "You must be logged in to do this." || a.body["status"] != "error" {
			t.Errorf("%s: %d %s", name, a.status, a.raw)
		}
	}
	a := do(t, "POST", srv.URL+"/api/v1/chat.sendMessage", "application/json", body, map[string]string{"X-User-Id": "limited", "X-Auth-Token": "lt"})
	if a.status != 403 || !strings.Contains(a.raw, "error-unauthorized") {
		t.Errorf("forbidden user: %d %s", a.status, a.raw)
	}
}

func TestSendMessageThreadsAndDuplicates(t *testing.T) {
	for _, style := range []fakerocketchat.DuplicateIDAnswer{fakerocketchat.DuplicateTypeError, fakerocketchat.DuplicateE11000} {
		fake, srv, _ := newFake(t, func(o *fakerocketchat.Options) { o.DuplicateID = style })
		root := `{"message":{"_id":"Root0000000000001","rid":"ALERTS","msg":"root","attachments":[{"color":"#d00000","title":"t"}]}}`
		a := rest(t, srv, "POST", "chat.sendMessage", root)
		if a.status != 200 || a.body["message"].(map[string]any)["_id"] != "Root0000000000001" {
			t.Fatalf("root: %d %s", a.status, a.raw)
		}
		a = rest(t, srv, "POST", "chat.sendMessage", root)
		if a.status != 400 || a.body["success"] != false {
			t.Fatalf("duplicate: %d %s", a.status, a.raw)
		}
		if style == fakerocketchat.DuplicateE11000 && !strings.Contains(a.raw, "E11000 duplicate key") {
			t.Errorf("E11000 style: %s", a.raw)
		}
		// A reply names another room: it still lands in its root's room.
		reply := `{"message":{"_id":"Reply000000000001","rid":"GENERAL","tmid":"Root0000000000001","msg":"reply"}}`
		if a := rest(t, srv, "POST", "chat.sendMessage", reply); a.status != 200 {
			t.Fatalf("reply: %d %s", a.status, a.raw)
		}
		// A reply to a reply is a reply to the root.
		nested := `{"message":{"_id":"Reply000000000002","rid":"ALERTS","tmid":"Reply000000000001","msg":"nested"}}`
		if a := rest(t, srv, "POST", "chat.sendMessage", nested); a.status != 200 {
			t.Fatalf("nested: %d %s", a.status, a.raw)
		}
		th := fake.Thread("Root0000000000001")
		if len(th) != 2 || th[0].RID != "ALERTS" || th[1].TMID != "Root0000000000001" {
			t.Fatalf("thread = %+v", th)
		}
		if m, _ := fake.Message("Root0000000000001"); m.TCount != 2 || len(fake.Messages("ALERTS")) != 3 {
			t.Fatalf("root tcount %d, room has %d messages", m.TCount, len(fake.Messages("ALERTS")))
		}
	}
}

func TestSendMessageRefusals(t *testing.T) {
	tests := []struct {
		name, body string
		want       map[string]any
	}{
		{"extra top-level key", `{"message":{"rid":"GENERAL","msg":"x"},"roomId":"x"}`,
			map[string]any{"success": false, "errorType": "invalid-params", "error": "must NOT have additional properties"}},
		{"empty", `{"message":{"rid":"GENERAL","msg":"  "}}`,
			map[string]any{"success": false, "errorType": "error-invalid-message", "error": "Message cannot be empty [error-invalid-message]"}},
		{"too long", `{"message":{"rid":"GENERAL","msg":"` + strings.Repeat("a", 5001) + `"}}`,
			map[string]any{"success": false, "errorType": "error-message-size-exceeded", "error": "Message size exceeds Message_MaxAllowedSize [error-message-size-exceeded]"}},
		{"unknown room", `{"message":{"rid":"NOPE","msg":"x"}}`,
			map[string]any{"success": false, "errorType": "error-invalid-room", "error": "Invalid room [error-invalid-room]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, srv, _ := newFake(t, nil)
			a := rest(t, srv, "POST", "chat.sendMessage", tt.body)
			if a.status != 400 || !equalJSON(a.body, tt.want) {
				t.Fatalf("got %d %s", a.status, a.raw)
			}
		})
	}
	_, srv, _ := newFake(t, nil)
	a := do(t, "POST", srv.URL+"/api/v1/chat.sendMessage", "application/json", `{"message":{"rid":"GENERAL","msg":"x","alias":"Boss"}}`,
		map[string]string{"X-User-Id": "plainUser", "X-Auth-Token": "alice-token"})
	if a.status != 400 || a.body["error"] != "Not enough permission" {
		t.Fatalf("alias without impersonate: %d %s", a.status, a.raw)
	}
}

func TestSendMessageLimit(t *testing.T) {
	_, srv, clk := newFake(t, nil)
	for i := range 6 {
		a := rest(t, srv, "POST", "chat.sendMessage", `{"message":{"rid":"GENERAL","msg":"x"}}`)
		if (i < 5) != (a.status == 200) {
			t.Fatalf("call %d: %d %s", i+1, a.status, a.raw)
		}
	}
	clk.Add(time.Second)
	if a := rest(t, srv, "POST", "chat.sendMessage", `{"message":{"rid":"GENERAL","msg":"x"}}`); a.status != 200 {
		t.Fatalf("after a second: %d", a.status)
	}
}

func TestUpdateEditsTextOnly(t *testing.T) {
	fake, srv, _ := newFake(t, nil)
	rest(t, srv, "POST", "chat.sendMessage", `{"message":{"_id":"Root0000000000001","rid":"ALERTS","msg":"firing","attachments":[{"color":"#d00000"}]}}`)

	a := rest(t, srv, "POST", "chat.update", `{"roomId":"ALERTS","msgId":"Root0000000000001","text":"resolved","attachments":[{"color":"#2eb886"}]}`)
	if a.status != 400 || a.body["errorType"] != "invalid-params" || a.body["error"] != "must NOT have additional properties" {
		t.Fatalf("attachments in chat.update: %d %s", a.status, a.raw)
	}
	a = rest(t, srv, "POST", "chat.update", `{"roomId":"GENERAL","msgId":"Root0000000000001","text":"resolved"}`)
	if a.status != 400 || a.body["error"] != "The room id provided does not match where the message is from." {
		t.Fatalf("wrong room: %d %s", a.status, a.raw)
	}
	a = rest(t, srv, "POST", "chat.update", `{"roomId":"ALERTS","msgId":"nope","text":"resolved"}`)
	if a.status != 400 || a.body["error"] != `No message found with the id of "nope".` {
		t.Fatalf("unknown message: %d %s", a.status, a.raw)
	}
	a = rest(t, srv, "POST", "chat.update", `{"roomId":"ALERTS","msgId":"Root0000000000001","text":"resolved"}`)
	if a.status != 200 {
		t.Fatalf("update: %d %s", a.status, a.raw)
	}
	m, _ := fake.Message("Root0000000000001")
	if m.Msg != "resolved" || m.EditedAt == nil || len(m.Edits) != 1 || m.Edits[0].Old != "firing" || m.Attachments[0].Color != "#d00000" {
		t.Fatalf("after update: %+v", m)
	}
	a = do(t, "POST", srv.URL+"/api/v1/chat.update", "application/json", `{"roomId":"ALERTS","msgId":"Root0000000000001","text":"mine now"}`,
		map[string]string{"X-User-Id": "plainUser", "X-Auth-Token": "alice-token"})
	if a.status != 400 || a.body["errorType"] != "error-action-not-allowed" {
		t.Fatalf("editing another's message: %d %s", a.status, a.raw)
	}
}

func TestLookups(t *testing.T) {
	_, srv, _ := newFake(t, nil)
	tests := []struct {
		endpoint   string
		wantStatus int
		wantID     string
	}{
		{"rooms.info?roomName=alerts", 200, "ALERTS"},
		{"rooms.info?roomName=ops", 200, "SECRET"},
		{"rooms.info?roomId=GENERAL", 200, "GENERAL"},
		{"rooms.info?roomName=nope", 400, ""},
		{"channels.info?roomName=alerts", 200, "ALERTS"},
		{"channels.info?roomName=ops", 400, ""},
	}
	for _, tt := range tests {
		a := rest(t, srv, "GET", tt.endpoint, "")
		if a.status != tt.wantStatus {
			t.Errorf("%s: %d %s", tt.endpoint, a.status, a.raw)
			continue
		}
		if tt.wantID == "" {
			continue
		}
		obj, _ := a.body["room"].(map[string]any)
		if obj == nil {
			obj, _ = a.body["channel"].(map[string]any)
		}
		if obj["_id"] != tt.wantID {
			t.Errorf("%s: %s", tt.endpoint, a.raw)
		}
	}
}

func TestPostMessage(t *testing.T) {
	fake, srv, _ := newFake(t, nil)
	a := rest(t, srv, "POST", "chat.postMessage", `{"channel":"#alerts","text":"hi","attachments":[{"text":"`+strings.Repeat("b", 10)+`"}]}`)
	if a.status != 200 || a.body["channel"] != "#alerts" || a.body["success"] != true {
		t.Fatalf("got %d %s", a.status, a.raw)
	}
	if _, ok := a.body["ts"].(float64); !ok {
		t.Errorf("ts is not a number: %s", a.raw)
	}
	if msgs := fake.Messages("ALERTS"); len(msgs) != 1 || msgs[0].Attachments[0].Text != "bbbbbbbbbb" {
		t.Fatalf("stored %+v", msgs)
	}
	a = rest(t, srv, "POST", "chat.postMessage", `{"channel":"#alerts","attachments":[{"text":"`+strings.Repeat("b", 5001)+`"}]}`)
	if a.status != 400 || a.body["error"] != "error-message-size-exceeded" {
		t.Fatalf("long attachment: %d %s", a.status, a.raw)
	}
}

func TestFail(t *testing.T) {
	_, srv, _ := newFake(t, nil)
	fake2 := srv.Config.Handler.(*fakerocketchat.Server)
	fake2.Fail("/api/v1/chat.sendMessage", 1, 502, "bad gateway")
	if a := rest(t, srv, "POST", "chat.sendMessage", `{"message":{"rid":"GENERAL","msg":"x"}}`); a.status != 502 {
		t.Fatalf("first: %d", a.status)
	}
	if a := rest(t, srv, "POST", "chat.sendMessage", `{"message":{"rid":"GENERAL","msg":"x"}}`); a.status != 200 {
		t.Fatalf("second: %d", a.status)
	}
}

func TestOutgoing(t *testing.T) {
	type reply struct {
		status int
		body   string
	}
	tests := []struct {
		name         string
		replies      []reply
		retries      int
		text         string
		wantCalls    int
		wantOK       bool
		wantDisabled bool
		wantReply    string
	}{
		{"answer posted back", []reply{{200, `{"text":"✅ acknowledged"}`}}, 0, "ack please", 1, true, false, "✅ acknowledged"},
		{"201 empty object is success", []reply{{201, `{}`}}, 0, "ack", 1, true, false, ""},
		{"empty 200 is a failure and retried", []reply{{200, ``}, {202, `{}`}}, 2, "ack", 2, true, false, ""},
		{"500 is not retried", []reply{{500, `oops`}}, 3, "ack", 1, false, false, ""},
		{"410 disables", []reply{{410, `gone`}}, 3, "ack", 1, false, true, ""},
		{"no trigger word", nil, 0, "hello", 0, false, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				mu    sync.Mutex
				calls []fakerocketchat.OutgoingPayload
			)
			receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var p fakerocketchat.OutgoingPayload
				_ = json.NewDecoder(r.Body).Decode(&p)
				mu.Lock()
				n := len(calls)
				calls = append(calls, p)
				mu.Unlock()
				if r.Header.Get("Content-Type") != "application/json" || !strings.Contains(r.Header.Get("User-Agent"), "Chrome") {
					t.Errorf("headers %v", r.Header)
				}
				rp := tt.replies[min(n, len(tt.replies)-1)]
				w.WriteHeader(rp.status)
				_, _ = io.WriteString(w, rp.body)
			}))
			defer receiver.Close()
			var waits []time.Duration
			fake, _, _ := newFake(t, func(o *fakerocketchat.Options) {
				o.SiteURL = "https://chat.example.com"
				o.Outgoing = &fakerocketchat.Outgoing{
					ID: "out1", URL: receiver.URL, Token: "outgoing-token", TriggerWords: []string{"ack"},
					Retries: tt.retries, Wait: func(d time.Duration) { waits = append(waits, d) },
				}
			})
			root, _ := fake.Post("#alerts", "alice", "alert root", "")
			calls = nil
			m, err := fake.Post("#alerts", "alice", tt.text, root.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(calls) != tt.wantCalls {
				t.Fatalf("%d calls, want %d", len(calls), tt.wantCalls)
			}
			if tt.wantCalls == 0 {
				return
			}
			want := fakerocketchat.OutgoingPayload{
				Token: "outgoing-token", TriggerWord: "ack", ChannelID: "ALERTS", ChannelName: "alerts", MessageID: m.ID,
				Timestamp: "2026-09-20T10:00:00.000Z", UserID: "plainUser", UserName: "alice", Text: tt.text, TMID: root.ID,
				SiteURL: "https://chat.example.com",
			}
			if calls[0] != want {
				t.Errorf("payload\n got %+v\nwant %+v", calls[0], want)
			}
			if tt.wantCalls > 1 && (len(waits) != 1 || waits[0] != 100*time.Millisecond) {
				t.Errorf("waits %v, want [100ms]", waits)
			}
			ds := fake.Deliveries()
			d := ds[len(ds)-1]
			if d.OK != tt.wantOK || d.Disabled != tt.wantDisabled {
				t.Errorf("delivery %+v", d)
			}
			if tt.wantReply != "" {
				th := fake.Thread(root.ID)
				last := th[len(th)-1]
				if last.Msg != tt.wantReply || last.Bot == nil || last.U.Username != "rocket.cat" {
					t.Errorf("thread %+v", th)
				}
			}
			if tt.wantDisabled {
				_, _ = fake.Post("#alerts", "alice", "ack again", "")
				if len(calls) != 1 {
					t.Error("a disabled integration fired")
				}
			}
		})
	}
}
