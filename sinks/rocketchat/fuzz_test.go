package rocketchat

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/heraldhq/herald/plugins/sdk"
	"github.com/heraldhq/herald/sinks/internal/httpx"
)

const (
	fuzzHookToken = "Xq3kT9vLmW2pR7sYbN4cHfJ8"
	fuzzAuthToken = "bot-personal-access-token-1234"
	fuzzRoom      = "ALERTS"
)

// brokenHeader reports whether a header value makes the whole answer
// malformed: net/http writes control characters other than tab as they are
// (CR and LF become spaces), and a client refuses the response.
func brokenHeader(v string) bool {
	return strings.ContainsFunc(v, func(r rune) bool { return (r < 0x20 && r != '\t' && r != '\r' && r != '\n') || r == 0x7f })
}

// fuzzAnswer is what the fuzz server replies to every request.
type fuzzAnswer struct {
	mu                    sync.Mutex
	status                int
	body                  []byte
	retryAfter, rateReset string
}

func (a *fuzzAnswer) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.retryAfter != "" {
		w.Header().Set("Retry-After", a.retryAfter)
	}
	if a.rateReset != "" {
		w.Header().Set("X-RateLimit-Reset", a.rateReset)
	}
	w.WriteHeader(a.status)
	w.Write(a.body)
}

// FuzzSend drives Send, in incoming-webhook and in REST mode, against a
// loopback server answering every call with a fuzzed status (200-599), body
// and Retry-After / X-RateLimit-Reset headers. Both events of the batch get
// the outcome the answer calls for (retryable when a header value breaks the
// answer as a whole): a 2xx is accepted unless the body says
// success=false; otherwise the status's class (httpx.Classify), except that
// an invalid-integration answer to a webhook and a 400 to chat.sendMessage
// are rejected. An accepted event's reference is the posted message's id (in
// REST mode the id the sink chose); a retry time is zero or within
// MaxRetryDelay; a reason is set exactly when an event is not accepted, is
// valid UTF-8 of bounded length, and never shows the sink's secret (the
// webhook URL's token, the REST token), even when the answer echoes it.
func FuzzSend(f *testing.F) {
	for _, rest := range []bool{false, true} {
		f.Add(rest, uint16(0), []byte(`{"success":true,"message":{"_id":"m1","rid":"ALERTS"}}`), "", "")
		f.Add(rest, uint16(0), []byte(`{"success":true,"responses":[{"channel":"#alerts","message":{"_id":"m2"}}]}`), "", "")
		f.Add(rest, uint16(0), []byte(`{"success":false,"error":"error-message-size-exceeded"}`), "", "")
		f.Add(rest, uint16(200), []byte(`{"success":false,"error":"invalid-channel","errorType":"invalid-channel"}`), "", "")
		f.Add(rest, uint16(201), []byte(`{"status":"error","message":"You must be logged in to do this."}`), "", "")
		f.Add(rest, uint16(200), []byte(`{"error":"Invalid integration id or token provided."}`), "", "")
		f.Add(rest, uint16(229), []byte(`{"success":false,"error":"Error, too many requests. Please slow down. You must wait 12 seconds before trying this endpoint again. [error-too-many-requests]"}`), "", "1767225600000")
		f.Add(rest, uint16(300), []byte("Internal Server Error /hooks/x/"+fuzzHookToken+" "+fuzzAuthToken), "30", "")
		f.Add(rest, uint16(303), []byte(`{"responses":[{"channel":"#a","error":"`+fuzzHookToken+`"}]}`), "Wed, 21 Oct 2015 07:28:00 GMT", "")
		f.Add(rest, uint16(300), []byte(strings.Repeat("x", 500)+fuzzHookToken+fuzzAuthToken), "", "") // a cut through a secret
		f.Add(rest, uint16(0), []byte(`{"success":null,"message":"text","error":{"x":1}}`), "", "")
	}

	a := &fuzzAnswer{}
	srv := httptest.NewServer(a)
	f.Cleanup(srv.Close)
	sinks := map[bool]*Sink{}
	for rest, cfg := range map[bool]map[string]any{
		false: {"url": srv.URL + "/hooks/6513a8f2c1d4e5f6a7b8c9d0/" + fuzzHookToken, "timeout": "5s"},
		true:  {"server": srv.URL, "user_id": "botUserId0000001", "token": fuzzAuthToken, "room_id": fuzzRoom, "timeout": "5s"},
	} {
		raw, _ := json.Marshal(cfg)
		s := New()
		if err := s.Configure(context.Background(), sdk.Config{Name: "chat", Raw: raw}); err != nil {
			f.Fatal(err)
		}
		sinks[rest] = s
	}
	events := []sdk.Event{
		{ID: "01J8Z6V7Q3", Rule: "qlik-reload-failed", Status: sdk.StatusFiring, Key: "task-1", Severity: "critical",
			Title: "Reload failed: Sales", Message: "Max retries reached", Fields: map[string]string{"TaskName": "Reload Sales"},
			Time: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), Host: "qlik-node-1"},
		{ID: "01J8Z6V7Q4", Rule: "qlik-reload-aborted", Status: sdk.StatusFiring, Key: "task-2", Title: "Reload aborted",
			Time: time.Date(2026, 3, 1, 12, 0, 1, 0, time.UTC), Host: "qlik-node-1"},
	}

	f.Fuzz(func(t *testing.T, rest bool, status uint16, body []byte, retryAfter, rateReset string) {
		a.mu.Lock()
		a.status, a.body, a.retryAfter, a.rateReset = 200+int(status)%400, body, retryAfter, rateReset
		code := a.status
		a.mu.Unlock()
		if code == http.StatusNoContent || code == http.StatusNotModified {
			body = nil // net/http sends no body with these
		}

		before := time.Now()
		results := sinks[rest].Send(context.Background(), events)
		after := time.Now()
		if len(results) != len(events) {
			t.Fatalf("%d results for %d events", len(results), len(events))
		}
		ar, decoded := decodeResponse(body)
		var want sdk.Outcome
		broken := brokenHeader(retryAfter) || brokenHeader(rateReset)
		switch {
		case broken:
			want = sdk.Retryable // no HTTP answer to classify: the connection broke
		case code >= 200 && code < 300:
			want = sdk.Accepted
			if decoded && ar.Success != nil && !*ar.Success {
				want = sdk.Rejected
			}
		case !rest && invalidHook.MatchString(errorText(body)), rest && code == http.StatusBadRequest:
			want = sdk.Rejected
		default:
			want = httpx.Classify(code)
		}
		wantRef := ""
		if !rest && want == sdk.Accepted && !broken {
			for _, it := range ar.Responses {
				if it.Message != nil && it.Message.ID != "" {
					wantRef = it.Message.ID
					break
				}
			}
		}
		for i, r := range results {
			if r.Outcome != want {
				t.Fatalf("event %d: outcome %v for HTTP %d %q, want %v (%s)", i, r.Outcome, code, body, want, r.Reason)
			}
			if rest && want == sdk.Accepted {
				wantRef = MessageID(fuzzRoom, events[i].ID)
			}
			if r.Ref != wantRef {
				t.Fatalf("event %d: ref %q, want %q (body %q)", i, r.Ref, wantRef, body)
			}
			if !r.RetryAt.IsZero() && (r.Outcome != sdk.Retryable || !r.RetryAt.After(before) || r.RetryAt.After(after.Add(httpx.MaxRetryDelay))) {
				t.Fatalf("event %d: %v with retry at %s, now %s", i, r.Outcome, r.RetryAt, before)
			}
			if (r.Reason == "") != (r.Outcome == sdk.Accepted) || !utf8.ValidString(r.Reason) || len(r.Reason) > 2048 {
				t.Fatalf("event %d: %v with reason %q", i, r.Outcome, r.Reason)
			}
			if secret := map[bool]string{false: fuzzHookToken, true: fuzzAuthToken}[rest]; leaks(r.Reason, secret, string(body)+retryAfter+rateReset) {
				t.Fatalf("event %d: the reason shows a token, or its start: %q", i, r.Reason)
			}
		}
	})
}

// leaks reports whether reason shows secret, or its first half where the
// answer had it only as part of the whole secret (a cut through a secret).
func leaks(reason, secret, answer string) bool {
	half := secret[:len(secret)/2]
	return strings.Contains(reason, secret) ||
		(strings.Contains(reason, half) && !strings.Contains(strings.ReplaceAll(answer, secret, ""), half))
}
