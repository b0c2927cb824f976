package signl4

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

// brokenHeader reports whether a header value makes the whole answer
// malformed: net/http writes control characters other than tab as they are
// (CR and LF become spaces), and a client refuses the response.
func brokenHeader(v string) bool {
	return strings.ContainsFunc(v, func(r rune) bool { return (r < 0x20 && r != '\t' && r != '\r' && r != '\n') || r == 0x7f })
}

// answer is what the fuzz server replies to every request.
type answer struct {
	mu                    sync.Mutex
	status                int
	body                  []byte
	retryAfter, rateReset string
}

func (a *answer) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
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

// FuzzSend drives Send against a loopback server answering a fuzzed status
// (200-599), body and Retry-After / X-RateLimit-Reset headers. Every event
// gets one result whose outcome is the status's class (httpx.Classify), or
// retryable when a header value breaks the answer as a whole; an
// accepted firing event's reference is the answer's eventId, other events
// have none; a retry time is zero or within MaxRetryDelay from now; a reason
// is set exactly when the event is not accepted, is valid UTF-8 of bounded
// length and never shows the team secret, even when the answer echoes it.
func FuzzSend(f *testing.F) {
	f.Add(uint16(0), []byte(`{"eventId":"2518583650940558238_7647c33f-f66d-495f-aeb2-b408fba66404"}`), "", "")
	f.Add(uint16(201), []byte(`{"eventId":42}`), "", "")
	f.Add(uint16(229), []byte(`{"details":"rate limit exceeded"}`), "", "1767225600")
	f.Add(uint16(229), []byte(`{"message":"slow down"}`), "120", "")
	f.Add(uint16(203), []byte(`{"details":"no team for secret `+secret+`"}`), "", "")
	f.Add(uint16(200), []byte("Bad Request: /webhook/"+secret+"\xff"), "", "")
	f.Add(uint16(303), []byte(`<html>Service Unavailable</html>`), "Wed, 21 Oct 2015 07:28:00 GMT", "")
	f.Add(uint16(200), []byte(strings.Repeat("x", 500)+secret), "", "") // a cut through the secret
	f.Add(uint16(100), []byte(strings.Repeat(`{"details":"`+secret, 100)), "99999999999999999999", "-5")

	a := &answer{}
	srv := httptest.NewServer(a)
	f.Cleanup(srv.Close)
	raw, _ := json.Marshal(map[string]any{"url": srv.URL + "/webhook/" + secret, "timeout": "5s"})
	s := New()
	if err := s.Configure(context.Background(), sdk.Config{Name: "pager", Raw: raw}); err != nil {
		f.Fatal(err)
	}
	firing := reloadFailed()
	resolved := with(firing, sdk.StatusResolved)

	f.Fuzz(func(t *testing.T, status uint16, body []byte, retryAfter, rateReset string) {
		a.mu.Lock()
		a.status, a.body, a.retryAfter, a.rateReset = 200+int(status)%400, body, retryAfter, rateReset
		code := a.status
		a.mu.Unlock()
		if code == http.StatusNoContent || code == http.StatusNotModified {
			body = nil // net/http sends no body with these
		}

		before := time.Now()
		results := s.Send(context.Background(), []sdk.Event{firing, resolved})
		after := time.Now()
		if len(results) != 2 {
			t.Fatalf("%d results for 2 events", len(results))
		}
		var ok struct {
			EventID string `json:"eventId"`
		}
		if json.Unmarshal(body, &ok) != nil {
			ok.EventID = ""
		}
		broken := brokenHeader(retryAfter) || brokenHeader(rateReset)
		for i, r := range results {
			want := httpx.Classify(code)
			if broken {
				want = sdk.Retryable // no HTTP answer to classify: the connection broke
			}
			if r.Outcome != want {
				t.Fatalf("event %d: outcome %v for HTTP %d, want %v (%s)", i, r.Outcome, code, want, r.Reason)
			}
			wantRef := ""
			if i == 0 && want == sdk.Accepted && !broken {
				wantRef = ok.EventID
			}
			if r.Ref != wantRef {
				t.Fatalf("event %d: ref %q, want %q (body %q)", i, r.Ref, wantRef, body)
			}
			if !r.RetryAt.IsZero() && (r.Outcome != sdk.Retryable || !r.RetryAt.After(before) || r.RetryAt.After(after.Add(httpx.MaxRetryDelay))) {
				t.Fatalf("event %d: %v with retry at %s, now %s", i, r.Outcome, r.RetryAt, before)
			}
			if (r.Reason == "") != (r.Outcome == sdk.Accepted) || !utf8.ValidString(r.Reason) || len(r.Reason) > 1024 {
				t.Fatalf("event %d: %v with reason %q", i, r.Outcome, r.Reason)
			}
			if leaks(r.Reason, secret, string(body)+retryAfter+rateReset) {
				t.Fatalf("event %d: the reason shows the secret, or its start: %q", i, r.Reason)
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
