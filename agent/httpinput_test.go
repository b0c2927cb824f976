package agent

import (
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A notification id of any length is accepted and deduplicated: one longer
// than a bbolt key may be is stored hashed, never answered 503 (which would
// make SIGNL4 deliver it again forever).
func TestLongNotificationID(t *testing.T) {
	tw := newTwoWay(t, `"qliksense", "signl4-to-rocketchat"`)
	tw.seed()
	long := strings.Repeat("n", 40<<10)
	body := signl4Body(long, 203, 0, "rene", "looking")
	q := "?token=" + signl4Token
	if code := tw.post("/hooks/signl4", q, body); code != http.StatusOK {
		t.Fatalf("a 40 KiB id answered %d, want 200", code)
	}
	if got := tw.drain("chat"); len(got) != 1 {
		t.Fatalf("first delivery queued %q, want one note for the chat", got)
	}
	if code := tw.post("/hooks/signl4", q, body); code != http.StatusOK {
		t.Fatalf("the same 40 KiB id again answered %d, want 200", code)
	}
	if got := tw.drain("chat"); len(got) != 0 {
		t.Errorf("the duplicate queued %q; want it processed once", got)
	}
}

// Every request of a hook is counted by its status, refusals included.
func TestHookRequestsCounted(t *testing.T) {
	tw := newTwoWay(t, `"qliksense"`)
	q := "?token=" + signl4Token
	for _, r := range []struct{ query, body string }{
		{q, signl4Body("a", 203, 0, "rene", "x")},
		{"?token=guess", signl4Body("b", 203, 0, "rene", "x")},
		{"", signl4Body("c", 203, 0, "rene", "x")},
		{q, `{"eventType":`},
	} {
		tw.post("/hooks/signl4", r.query, r.body)
	}
	const want = `
# HELP herald_hook_requests_total Requests to an http input's hook, by the HTTP status code they were answered with.
# TYPE herald_hook_requests_total counter
herald_hook_requests_total{code="200",input="chat"} 0
herald_hook_requests_total{code="401",input="chat"} 0
herald_hook_requests_total{code="200",input="signl4"} 1
herald_hook_requests_total{code="400",input="signl4"} 1
herald_hook_requests_total{code="401",input="signl4"} 2
`
	if err := testutil.GatherAndCompare(tw.reg, strings.NewReader(want), "herald_hook_requests_total"); err != nil {
		t.Error(err)
	}
}
