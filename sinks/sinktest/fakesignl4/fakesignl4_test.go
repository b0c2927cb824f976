package fakesignl4

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a manual clock for rate-limit windows.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newFake(t *testing.T, opts Options) (*Server, *httptest.Server, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	if opts.Now == nil {
		opts.Now = clk.now
	}
	f := New(opts)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv, clk
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func post(t *testing.T, url, contentType, body string) answer {
	t.Helper()
	resp, err := http.Post(url, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &a.body); err != nil {
		t.Fatalf("answer %d is not JSON: %q", resp.StatusCode, b)
	}
	return a
}

var eventIDPattern = regexp.MustCompile(`^\d{19}_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestHTTPContract(t *testing.T) {
	_, srv, _ := newFake(t, Options{})
	hook := srv.URL + "/webhook/team-secret"

	resp, err := http.Get(hook)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("X-RateLimit-Limit") != "150" {
		t.Errorf("GET: %d, headers %v", resp.StatusCode, resp.Header)
	}

	a := post(t, srv.URL+"/webhook/wrong-secret", "application/json", `{"Title":"x"}`)
	if a.status != 404 || a.body["code"] != float64(3004) || a.body["details"] != "An event source with ID wrong-secret was not found." ||
		a.body["message"] != "Error raising event." || a.body["requestId"] == nil {
		t.Errorf("unknown secret: %+v", a)
	}
	if a := post(t, srv.URL+"/other", "application/json", `{}`); a.status != 404 {
		t.Errorf("other path: %d", a.status)
	}
	for _, bad := range []string{`{"Title":`, `["a"]`, `{} {}`, ``} {
		if a := post(t, hook, "application/json", bad); a.status != 400 || a.body["details"] == nil {
			t.Errorf("body %q: %+v", bad, a)
		}
	}

	a = post(t, hook, "application/json", `{"Title":"t"}`)
	id, _ := a.body["eventId"].(string)
	if a.status != 201 || !eventIDPattern.MatchString(id) {
		t.Errorf("new: %+v", a)
	}
	for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} {
		if a.header.Get(h) == "" {
			t.Errorf("answer lacks %s", h)
		}
	}
}

func TestBodies(t *testing.T) {
	f, srv, _ := newFake(t, Options{})
	hook := srv.URL + "/webhook/team-secret"

	post(t, hook, "application/json", `{"Title":"CPU high","Message":"97%","Severity":"critical","Nested":{"a":1},
		"x-s4-externalid":"json-1","X-S4-SERVICE":"Database","X-S4-AlertingScenario":"single_ack",
		"X-S4-Filtering":true,"X-S4-Location":"52.5,13.4","X-S4-SourceSystem":"Herald"}`)
	a, ok := f.Alert("json-1")
	if !ok || a.Title != "CPU high" || a.Text != "97%" || a.Service != "Database" || a.AlertingScenario != "single_ack" ||
		!a.Filtering || a.Location != "52.5,13.4" || a.SourceSystem != "Herald" || a.StatusCode != StatusNew ||
		a.Params["Severity"] != "critical" || a.Params["x-s4-externalid"] != nil {
		t.Errorf("JSON alert: %+v", a)
	}

	post(t, hook, "application/x-www-form-urlencoded", "subject=Disk+full&description=95%25&X-S4-ExternalID=form-1")
	if a, ok := f.Alert("form-1"); !ok || a.Title != "Disk full" || a.Text != "95%" {
		t.Errorf("form alert: %+v", a)
	}

	post(t, hook, "text/plain", "Hello world.")
	post(t, hook, "application/xml", `<event><Title>From XML</Title><X-S4-ExternalID>xml-1</X-S4-ExternalID></event>`)
	if a, ok := f.Alert("xml-1"); !ok || a.Title != "From XML" {
		t.Errorf("XML alert: %+v", a)
	}
	if as := f.Alerts(); len(as) != 4 || as[2].Text != "Hello world." {
		t.Errorf("text alert: %+v", as)
	}

	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("Title", "With file")
	_ = mw.WriteField("X-S4-ExternalID", "mp-1")
	fw, _ := mw.CreateFormFile("file", "log.txt")
	_, _ = fw.Write([]byte("log lines"))
	mw.Close()
	post(t, hook, mw.FormDataContentType(), buf.String())
	if a, ok := f.Alert("mp-1"); !ok || a.Title != "With file" || len(a.Attachments) != 1 || a.Attachments[0].Size != 9 {
		t.Errorf("multipart alert: %+v", a)
	}

	buf.Reset()
	mw = multipart.NewWriter(&buf)
	fw, _ = mw.CreateFormFile("file", "big.pdf")
	_, _ = fw.Write(make([]byte, maxAttachment+1))
	mw.Close()
	if a := post(t, hook, mw.FormDataContentType(), buf.String()); a.status != 400 {
		t.Errorf("attachment over 4 MB: %+v", a.status)
	}
}

func TestStatusFlow(t *testing.T) {
	f, srv, _ := newFake(t, Options{})
	hook := srv.URL + "/webhook/team-secret"
	send := func(body string) string {
		t.Helper()
		if a := post(t, hook, "application/json", body); a.status != 201 {
			t.Fatalf("%s: %+v", body, a)
		}
		rs := f.Requests()
		return rs[len(rs)-1].Effect
	}

	if e := send(`{"X-S4-ExternalID":"k1","X-S4-Status":"resolved"}`); e != "no alert" {
		t.Errorf("resolve of unknown id: %q", e)
	}
	send(`{"Title":"one","X-S4-ExternalID":"k1","X-S4-Status":"new"}`)
	send(`{"Title":"two","X-S4-ExternalID":"k1"}`) // no status means new; a second alert
	if e := send(`{"X-S4-ExternalID":"k1","X-S4-Status":"acknowledged"}`); e != "acknowledged 2" {
		t.Errorf("ack: %q", e)
	}
	if e := send(`{"X-S4-ExternalID":"k1","X-S4-Status":"snoozed"}`); e != "discarded" {
		t.Errorf("unknown status: %q", e)
	}
	if e := send(`{"X-S4-ExternalID":"k1","X-S4-Status":"resolved"}`); e != "resolved 2" {
		t.Errorf("resolve: %q", e)
	}
	if e := send(`{"X-S4-ExternalID":"k1","X-S4-Status":"acknowledged"}`); e != "no alert" {
		t.Errorf("ack after close: %q", e)
	}
	for _, a := range f.Alerts() {
		if a.StatusCode != StatusClosed || len(a.History) != 3 {
			t.Errorf("alert %+v", a)
		}
	}
}

func TestQueryMapping(t *testing.T) {
	f, srv, _ := newFake(t, Options{})
	hook := srv.URL + "/webhook/team-secret?ExtIdParam=groupKey&ExtStatusParam=status&ResolvedStatus=resolved&AckStatus=acked"
	am := func(status string) string {
		return `{"version":"4","groupKey":"{}:{alertname=\"CPUHigh\"}","status":"` + status + `","commonAnnotations":{"summary":"CPU high"}}`
	}
	post(t, hook, "application/json", am("firing"))
	post(t, hook, "application/json", am("acked"))
	if a, ok := f.Alert(`{}:{alertname="CPUHigh"}`); !ok || a.StatusCode != StatusAcknowledged {
		t.Fatalf("after ack: %+v", a)
	}
	post(t, hook, "application/json", am("resolved"))
	if a, _ := f.Alert(`{}:{alertname="CPUHigh"}`); a.StatusCode != StatusClosed || len(f.Alerts()) != 1 {
		t.Errorf("after resolve: %+v", f.Alerts())
	}
}

func TestRateLimit(t *testing.T) {
	_, srv, clk := newFake(t, Options{RateLimit: 2, RateWindow: 15 * time.Second})
	hook := srv.URL + "/webhook/team-secret"
	start := clk.now()
	for i, want := range []string{"1", "0"} {
		if a := post(t, hook, "application/json", `{}`); a.status != 201 || a.header.Get("X-RateLimit-Remaining") != want {
			t.Fatalf("request %d: %d remaining %s", i, a.status, a.header.Get("X-RateLimit-Remaining"))
		}
	}
	clk.advance(5 * time.Second)
	a := post(t, hook, "application/json", `{}`)
	// Spending past the budget blocks for a whole window from now.
	wantReset := start.Add(20 * time.Second).Unix()
	if a.status != 429 || a.header.Get("X-RateLimit-Reset") != strconv.FormatInt(wantReset, 10) {
		t.Fatalf("over budget: %d reset %s, want 429 reset %d", a.status, a.header.Get("X-RateLimit-Reset"), wantReset)
	}
	clk.advance(14 * time.Second) // the first window is over, but the block is not
	if a := post(t, hook, "application/json", `{}`); a.status != 429 {
		t.Fatalf("still blocked: %d", a.status)
	}
	clk.advance(time.Second)
	if a := post(t, hook, "application/json", `{}`); a.status != 201 {
		t.Fatalf("after the block: %d", a.status)
	}
}

func TestErrorBudgetAndFailNext(t *testing.T) {
	f, srv, _ := newFake(t, Options{ErrorLimit: 2})
	for i, want := range []int{404, 404, 429} {
		if a := post(t, srv.URL+"/webhook/nope", "application/json", `{}`); a.status != want {
			t.Errorf("bad request %d: %d, want %d", i, a.status, want)
		}
	}
	f.FailNext(2, 503)
	for i, want := range []int{503, 503, 201} {
		if a := post(t, srv.URL+"/webhook/team-secret", "application/json", `{}`); a.status != want {
			t.Errorf("request %d: %d, want %d", i, a.status, want)
		}
	}
}

func TestCallbacks(t *testing.T) {
	var mu sync.Mutex
	var got []map[string]any
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		_ = json.NewDecoder(r.Body).Decode(&m)
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
	}))
	defer cb.Close()
	f, srv, _ := newFake(t, Options{CallbackURL: cb.URL})
	post(t, srv.URL+"/webhook/team-secret", "application/json", `{"Title":"t","X-S4-ExternalID":"k1"}`)
	ctx := context.Background()

	if err := f.Annotate(ctx, "k1", "Rene", "On it."); err != nil {
		t.Fatal(err)
	}
	f.DuplicateNext(1)
	if err := f.Ack(ctx, "k1", "Rene"); err != nil {
		t.Fatal(err)
	}
	if err := f.Ack(ctx, "k1", "Rene"); err == nil {
		t.Error("a second ack succeeded")
	}
	if err := f.Close(ctx, "k1", "Rene"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(ctx, "nope", "Rene"); err == nil {
		t.Error("closing an unknown alert succeeded")
	}

	mu.Lock()
	defer mu.Unlock()
	if len(got) != 4 || len(f.Callbacks()) != 4 {
		t.Fatalf("%d callbacks arrived, %d recorded, want 4 (one duplicated)", len(got), len(f.Callbacks()))
	}
	alert := func(i int) map[string]any { return got[i]["alert"].(map[string]any) }
	user := got[0]["user"].(map[string]any)
	if got[0]["eventType"] != float64(203) || alert(0)["statusCode"] != float64(0) ||
		got[0]["annotation"].(map[string]any)["message"] != "On it." || user["username"] != "rene" || user["mailaddress"] != "rene@example.com" {
		t.Errorf("annotation: %v", got[0])
	}
	if got[1]["eventType"] != float64(201) || alert(1)["statusCode"] != float64(2) || alert(1)["externalEventId"] != "k1" {
		t.Errorf("ack: %v", got[1])
	}
	if got[1]["id"] != got[2]["id"] {
		t.Errorf("a duplicate delivery must keep its id: %v vs %v", got[1]["id"], got[2]["id"])
	}
	if got[3]["eventType"] != float64(201) || alert(3)["statusCode"] != float64(4) || got[3]["id"] == got[1]["id"] {
		t.Errorf("close: %v", got[3])
	}
	a, _ := f.Alert("k1")
	if a.StatusCode != StatusClosed || len(a.History) != 4 {
		t.Errorf("alert: %+v", a)
	}
}
