// Package sinktest is the conformance suite every Herald HTTP sink passes,
// built-in or third-party. After Alertmanager's notify/test: one call proves
// the contracts the agent relies on, so each sink's own tests can stay about
// its payloads.
//
//	func TestConformance(t *testing.T) {
//		sinktest.Run(t, sinktest.Harness{
//			New:    func() sdk.Sink { return mysink.New() },
//			Secret: "s3cr3t-t0ken-for-tests",
//			Config: func(baseURL string, timeout time.Duration) map[string]any {
//				return map[string]any{"url": baseURL + "/hook/s3cr3t-t0ken-for-tests", "timeout": timeout.String()}
//			},
//		})
//	}
//
// Run checks that:
//   - HTTP statuses map to outcomes (2xx accepted; 408, 429, 5xx retryable;
//     other 3xx/4xx rejected; Harness.Outcomes adjusts the table), and a
//     reason names the status;
//   - Retry-After (seconds and HTTP date) or the sink's own rate-limit headers
//     become Result.RetryAt;
//   - refused connections and timeouts are retryable;
//   - the secret never appears in a Result.Reason, a Configure error or a log
//     line, even when the destination echoes the request back;
//   - a cancelled context makes Send return at once, with a retryable result
//     for every event not delivered, having abandoned every request it had in
//     flight and started no other;
//   - Send makes one request per event and returns exactly one result per
//     event, in the batch's order, whatever order its requests arrive in;
//   - an unknown config key is an error that names it.
//
// The suite assumes one HTTP request per event, which is how every built-in
// sink delivers. Those requests may overlap: the agent puts at most one event
// of an alert in a batch, so a sink may send a batch's events concurrently.
// The suite tells them apart by the event's id, key or title, which each
// request must carry (in its URL, a header or its body).
package sinktest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/plugins/sdk"
)

// Harness tells Run how to build and point the sink under test.
type Harness struct {
	// New returns a new, unconfigured sink.
	New func() sdk.Sink
	// Config returns the sink's [sink.config] for a destination served at
	// baseURL ("http://127.0.0.1:port", no trailing slash) with the given
	// per-request timeout. It must embed Secret where the sink keeps its
	// credential (URL path, query, password, header, ...).
	Config func(baseURL string, timeout time.Duration) map[string]any
	// Secret is a credential Config embeds; at least 8 characters. It must
	// never be shown.
	Secret string
	// SuccessBody is what the destination answers with a 2xx status.
	// Default: {}.
	SuccessBody string
	// Outcomes overrides entries of the expected status table (see
	// DefaultOutcomes).
	Outcomes map[int]sdk.Outcome
	// RetryHeaders name the ways the destination says when to retry, each
	// building the headers that mean "not before at". Each is tried on a 429.
	// Default: Retry-After in seconds and as an HTTP date.
	RetryHeaders map[string]func(at time.Time) http.Header
	// Events returns the batch to send: at least three events the sink
	// delivers with one request each, whose ids, keys or titles tell their
	// requests apart. Default: three firing events (Events).
	Events func() []sdk.Event
	// BadConfigs are configs Configure must refuse, by name, for a destination
	// at baseURL. Their errors are checked for the secret.
	BadConfigs func(baseURL string) map[string]map[string]any
}

// DefaultOutcomes is the status table a sink is held to unless
// Harness.Outcomes says otherwise.
func DefaultOutcomes() map[int]sdk.Outcome {
	return map[int]sdk.Outcome{
		200: sdk.Accepted, 201: sdk.Accepted, 202: sdk.Accepted, 204: sdk.Accepted,
		301: sdk.Rejected, 302: sdk.Rejected, 307: sdk.Rejected, 308: sdk.Rejected,
		400: sdk.Rejected, 401: sdk.Rejected, 403: sdk.Rejected, 404: sdk.Rejected,
		405: sdk.Rejected, 409: sdk.Rejected, 410: sdk.Rejected, 413: sdk.Rejected, 422: sdk.Rejected,
		408: sdk.Retryable, 429: sdk.Retryable,
		500: sdk.Retryable, 502: sdk.Retryable, 503: sdk.Retryable, 504: sdk.Retryable,
	}
}

// Events returns n firing events with distinct ids and keys and Qlik-like fields.
func Events(n int) []sdk.Event {
	evs := make([]sdk.Event, n)
	for i := range evs {
		evs[i] = sdk.Event{
			ID:       fmt.Sprintf("01J0000000000000000000000%d", i),
			Rule:     "qlik-reload-failed",
			Status:   sdk.StatusFiring,
			Key:      fmt.Sprintf("6b2f1c3e-0000-4000-8000-00000000000%d", i),
			Severity: "critical",
			Title:    fmt.Sprintf("Reload failed: Sales %d", i),
			Message:  "Max retries reached",
			Fields:   map[string]string{"TaskName": fmt.Sprintf("Reload Sales %d", i), "AppName": "Sales"},
			Time:     time.Date(2026, 3, 1, 12, 0, i, 0, time.UTC),
			Host:     "qlik-node-1",
		}
	}
	return evs
}

// Run runs the conformance suite against the sink h describes.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil || h.Config == nil {
		t.Fatal("sinktest: Harness.New and Harness.Config are required")
	}
	if len(h.Secret) < 8 {
		t.Fatal("sinktest: Harness.Secret must be at least 8 characters")
	}
	s := &suite{h: h, logs: NewLogs()}
	s.logger = s.logs.Logger()
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)

	t.Run("UnknownConfigKey", s.testUnknownKey)
	t.Run("BadConfigs", s.testBadConfigs)
	t.Run("EmptyBatch", s.testEmptyBatch)
	t.Run("StatusOutcomes", s.testStatusOutcomes)
	t.Run("RetryAt", s.testRetryAt)
	t.Run("OneResultPerEventInOrder", s.testOrder)
	t.Run("ConnectionRefused", s.testRefused)
	t.Run("Timeout", s.testTimeout)
	t.Run("ContextCancelled", s.testCancelled)
	t.Run("ContextAlreadyCancelled", s.testAlreadyCancelled)
	t.Run("NoSecretInLogs", func(t *testing.T) {
		if logs := s.logs.String(); strings.Contains(logs, h.Secret) {
			t.Errorf("a log line shows the secret:\n%s", logs)
		}
	})
}

type suite struct {
	h      Harness
	srv    *httptest.Server
	logs   *Logs
	logger *slog.Logger

	mu      sync.Mutex
	handler http.HandlerFunc
	hits    int
}

func (s *suite) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.hits++
	h := s.handler
	s.mu.Unlock()
	if h == nil {
		s.reply(w, r, http.StatusOK, nil)
		return
	}
	h(w, r)
}

// handle installs the destination's behaviour for one subtest and returns a
// function that reports how many requests arrived since.
func (s *suite) handle(h http.HandlerFunc) (hits func() int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handler, s.hits = h, 0
	return func() int {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.hits
	}
}

// reply answers like the destination: the harness's success body for 2xx, and
// for anything else an error body that echoes the request (URL, headers) back
// in the fields sinks like to quote, as careless servers do.
func (s *suite) reply(w http.ResponseWriter, r *http.Request, status int, h http.Header) {
	for k, vs := range h {
		w.Header()[k] = vs
	}
	w.Header().Set("Content-Type", "application/json")
	if status >= 300 && status < 400 {
		w.Header().Set("Location", r.URL.RequestURI())
	}
	w.WriteHeader(status)
	if status >= 200 && status < 300 {
		body := s.h.SuccessBody
		if body == "" {
			body = "{}"
		}
		_, _ = io.WriteString(w, body)
		return
	}
	var echo strings.Builder
	echo.WriteString(r.Method + " " + r.URL.RequestURI())
	for k, vs := range r.Header {
		echo.WriteString("; " + k + ": " + strings.Join(vs, ","))
	}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"message": echo.String(), "details": echo.String(), "error": echo.String(),
		"description": echo.String(), "success": false, "code": status,
	})
}

func (s *suite) events() []sdk.Event {
	if s.h.Events != nil {
		return s.h.Events()
	}
	return Events(3)
}

func (s *suite) outcomes() map[int]sdk.Outcome {
	want := DefaultOutcomes()
	for code, o := range s.h.Outcomes {
		want[code] = o
	}
	return want
}

// sink returns a sink configured for baseURL, failing the test if Configure does.
func (s *suite) sink(t *testing.T, baseURL string, timeout time.Duration) sdk.Sink {
	t.Helper()
	sk := s.h.New()
	raw, err := json.Marshal(s.h.Config(baseURL, timeout))
	if err != nil {
		t.Fatalf("marshal config: %v", err)
	}
	if err := sk.Configure(context.Background(), sdk.Config{Name: "conformance", Raw: raw, Logger: s.logger}); err != nil {
		s.checkNoSecret(t, "Configure error", err.Error())
		t.Fatalf("Configure: %v", err)
	}
	return sk
}

// sendDeadline is how long Send may take before the suite gives up on it:
// far beyond any timeout the suite configures, so only a hang trips it.
var sendDeadline = 30 * time.Second

// send calls Send with a watchdog: a sink that hangs fails instead of
// stalling the test run.
func (s *suite) send(t *testing.T, ctx context.Context, sk sdk.Sink, evs []sdk.Event) []sdk.Result {
	t.Helper()
	done := make(chan []sdk.Result, 1)
	go func() { done <- sk.Send(ctx, evs) }()
	select {
	case res := <-done:
		if len(res) != len(evs) {
			t.Fatalf("Send returned %d results for %d events", len(res), len(evs))
		}
		for i, r := range res {
			s.checkNoSecret(t, fmt.Sprintf("Result[%d].Reason", i), r.Reason)
			if r.Outcome != sdk.Accepted && r.Reason == "" {
				t.Errorf("Result[%d] is %v without a reason", i, r.Outcome)
			}
		}
		return res
	case <-time.After(sendDeadline):
		t.Fatalf("Send did not return within %s", sendDeadline)
		return nil
	}
}

func (s *suite) checkNoSecret(t *testing.T, what, text string) {
	t.Helper()
	for _, form := range []string{s.h.Secret, url.QueryEscape(s.h.Secret), url.PathEscape(s.h.Secret)} {
		if strings.Contains(text, form) {
			t.Errorf("%s shows the secret: %q", what, text)
			return
		}
	}
}

func (s *suite) testUnknownKey(t *testing.T) {
	cfg := s.h.Config(s.srv.URL, time.Second)
	cfg["no_such_key"] = true
	raw, _ := json.Marshal(cfg)
	err := s.h.New().Configure(context.Background(), sdk.Config{Name: "conformance", Raw: raw, Logger: s.logger})
	if err == nil || !strings.Contains(err.Error(), "no_such_key") {
		t.Fatalf("Configure with an unknown key: err = %v, want an error naming no_such_key", err)
	}
	s.checkNoSecret(t, "Configure error", err.Error())
}

func (s *suite) testBadConfigs(t *testing.T) {
	if s.h.BadConfigs == nil {
		t.Skip("Harness.BadConfigs not set")
	}
	for name, cfg := range s.h.BadConfigs(s.srv.URL) {
		t.Run(name, func(t *testing.T) {
			raw, _ := json.Marshal(cfg)
			err := s.h.New().Configure(context.Background(), sdk.Config{Name: "conformance", Raw: raw, Logger: s.logger})
			if err == nil {
				t.Fatal("Configure accepted a bad config")
			}
			s.checkNoSecret(t, "Configure error", err.Error())
		})
	}
}

func (s *suite) testEmptyBatch(t *testing.T) {
	hits := s.handle(nil)
	sk := s.sink(t, s.srv.URL, 5*time.Second)
	if res := s.send(t, context.Background(), sk, nil); len(res) != 0 {
		t.Fatalf("Send(nil) = %v, want no results", res)
	}
	if n := hits(); n != 0 {
		t.Errorf("Send(nil) made %d requests, want none", n)
	}
}

func (s *suite) testStatusOutcomes(t *testing.T) {
	sk := s.sink(t, s.srv.URL, 5*time.Second)
	want := s.outcomes()
	for _, code := range slices.Sorted(maps.Keys(want)) {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			s.handle(func(w http.ResponseWriter, r *http.Request) { s.reply(w, r, code, nil) })
			res := s.send(t, context.Background(), sk, s.events()[:1])[0]
			if res.Outcome != want[code] {
				t.Fatalf("HTTP %d: outcome %v (%q), want %v", code, res.Outcome, res.Reason, want[code])
			}
			if res.Outcome != sdk.Accepted && !strings.Contains(res.Reason, strconv.Itoa(code)) {
				t.Errorf("HTTP %d: reason %q does not name the status", code, res.Reason)
			}
		})
	}
}

func (s *suite) testRetryAt(t *testing.T) {
	sk := s.sink(t, s.srv.URL, 5*time.Second)
	headers := s.h.RetryHeaders
	if headers == nil {
		headers = map[string]func(time.Time) http.Header{
			"Retry-After seconds": func(at time.Time) http.Header {
				return http.Header{"Retry-After": {strconv.Itoa(int(time.Until(at).Round(time.Second).Seconds()))}}
			},
			"Retry-After date": func(at time.Time) http.Header {
				return http.Header{"Retry-After": {at.UTC().Format(http.TimeFormat)}}
			},
		}
	}
	for name, build := range headers {
		t.Run(name, func(t *testing.T) {
			// Whole seconds in the future: every header format can say it exactly.
			at := time.Now().Add(2 * time.Minute).Truncate(time.Second)
			s.handle(func(w http.ResponseWriter, r *http.Request) { s.reply(w, r, http.StatusTooManyRequests, build(at)) })
			res := s.send(t, context.Background(), sk, s.events()[:1])[0]
			if res.Outcome != sdk.Retryable {
				t.Fatalf("outcome %v (%q), want retryable", res.Outcome, res.Reason)
			}
			// Relative headers are read against the sink's clock, a moment later.
			if d := res.RetryAt.Sub(at); d < -2*time.Second || d > 2*time.Second {
				t.Errorf("RetryAt = %v, want %v (±2s)", res.RetryAt, at)
			}
		})
	}
}

// testOrder answers each event's request with its own status, whatever order
// the requests arrive in, and expects each event's result in its place.
func (s *suite) testOrder(t *testing.T) {
	want := s.outcomes()
	codes := []int{200, 400, 503}
	evs := s.events()[:3]
	var mu sync.Mutex
	sent := make([]int, len(evs)) // requests per event
	var unknown []string          // requests that carry no event of the batch
	s.handle(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		i := eventOf(r, body, evs)
		mu.Lock()
		if i >= 0 {
			sent[i]++
		} else {
			unknown = append(unknown, r.Method+" "+r.URL.Path)
		}
		mu.Unlock()
		if i < 0 {
			s.reply(w, r, http.StatusInternalServerError, nil)
			return
		}
		s.reply(w, r, codes[i], nil)
	})
	sk := s.sink(t, s.srv.URL, 5*time.Second)
	res := s.send(t, context.Background(), sk, evs)
	mu.Lock()
	defer mu.Unlock()
	if len(unknown) > 0 {
		t.Fatalf("%d requests carry the id, key or title of none (or several) of the batch's events: %v", len(unknown), unknown)
	}
	for i, code := range codes {
		if sent[i] != 1 {
			t.Errorf("event %d: %d requests, want 1 (the agent, not the sink, retries)", i, sent[i])
		}
		if res[i].Outcome != want[code] {
			t.Errorf("event %d answered %d: outcome %v (%q), want %v", i, code, res[i].Outcome, res[i].Reason, want[code])
		}
	}
}

// eventOf returns the index of the one event in evs whose id, key or title r
// carries, in its path, query, headers or body; -1 if none or several do.
func eventOf(r *http.Request, body []byte, evs []sdk.Event) int {
	var text strings.Builder
	text.WriteString(r.URL.Path)
	if q, err := url.QueryUnescape(r.URL.RawQuery); err == nil {
		text.WriteString(" " + q)
	}
	for k, vs := range r.Header {
		text.WriteString(" " + k + ": " + strings.Join(vs, ","))
	}
	text.WriteString(" ")
	text.Write(body)
	found := -1
	for i, ev := range evs {
		for _, mark := range []string{ev.ID, ev.Key, ev.Title} {
			if mark != "" && strings.Contains(text.String(), mark) {
				if found >= 0 {
					return -1
				}
				found = i
				break
			}
		}
	}
	return found
}

func (s *suite) testRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ln.Close()
	sk := s.sink(t, base, 5*time.Second)
	for i, r := range s.send(t, context.Background(), sk, s.events()) {
		if r.Outcome != sdk.Retryable {
			t.Errorf("event %d: outcome %v (%q), want retryable", i, r.Outcome, r.Reason)
		}
	}
}

// blocker is a destination that holds every request until its client gives
// up or the subtest ends.
type blocker struct {
	url     string
	arrived chan struct{} // a value per arrival, while there is room

	mu      sync.Mutex
	hits    int           // requests that arrived
	held    int           // requests being held
	changed chan struct{} // closed and replaced when held changes
}

// blocking starts a blocker of the subtest's own: a request that its client
// wrote just before giving up may arrive after Send returned, and must not
// count at the next subtest's destination.
func (s *suite) blocking(t *testing.T) *blocker {
	b := &blocker{arrived: make(chan struct{}, 16), changed: make(chan struct{})}
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hold(1)
		defer b.hold(-1)
		select {
		case b.arrived <- struct{}{}:
		default:
		}
		// Reading the body to its end lets the server notice, and cancel
		// r.Context(), when the client goes away.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close) // last: it waits for the requests held
	t.Cleanup(func() { close(release) })
	b.url = srv.URL
	return b
}

func (b *blocker) hold(d int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if d > 0 {
		b.hits++
	}
	b.held += d
	close(b.changed)
	b.changed = make(chan struct{})
}

// state returns the requests that arrived, those held now, and a channel
// closed when the latter next changes.
func (b *blocker) state() (hits, held int, changed <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.hits, b.held, b.changed
}

func (s *suite) testTimeout(t *testing.T) {
	dst := s.blocking(t)
	sk := s.sink(t, dst.url, 100*time.Millisecond)
	res := s.send(t, context.Background(), sk, s.events()[:1])[0]
	if res.Outcome != sdk.Retryable {
		t.Fatalf("outcome %v (%q), want retryable", res.Outcome, res.Reason)
	}
}

// testCancelled cancels the context once the first request arrives at a
// destination that never answers. The sink's timeout is far longer than the
// suite waits, so a request not tied to ctx, whether in flight at the cancel
// or started after it, is still held open when Send returns, or keeps Send
// from returning.
func (s *suite) testCancelled(t *testing.T) {
	dst := s.blocking(t)
	sk := s.sink(t, dst.url, time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-dst.arrived
		cancel()
	}()
	evs := s.events()
	for i, r := range s.send(t, ctx, sk, evs) {
		if r.Outcome != sdk.Retryable {
			t.Errorf("event %d: outcome %v (%q), want retryable", i, r.Outcome, r.Reason)
		}
	}
	// The destination sees a client go away a moment after it does.
	deadline := time.After(sendDeadline)
	for {
		hits, held, changed := dst.state()
		if hits > len(evs) {
			t.Fatalf("%d requests reached the destination for %d events", hits, len(evs))
		}
		if held == 0 {
			break
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("%d requests still open at the destination %s after Send returned: Send must abandon its requests once ctx is cancelled, and end them before it returns", held, sendDeadline)
		}
	}
}

func (s *suite) testAlreadyCancelled(t *testing.T) {
	hits := s.handle(nil)
	sk := s.sink(t, s.srv.URL, 5*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i, r := range s.send(t, ctx, sk, s.events()) {
		if r.Outcome != sdk.Retryable {
			t.Errorf("event %d: outcome %v (%q), want retryable", i, r.Outcome, r.Reason)
		}
	}
	if n := hits(); n != 0 {
		t.Errorf("%d requests sent with a cancelled context, want none", n)
	}
}

// Logs captures what a sink logs, at every level, for assertions.
type Logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// NewLogs returns an empty capture.
func NewLogs() *Logs { return &Logs{} }

// Logger returns a debug-level text logger writing into l; hand it to
// Configure through sdk.Config.Logger.
func (l *Logs) Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Write implements io.Writer; it is safe for concurrent use.
func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns everything logged so far.
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
