package heartbeat

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// secret is the credential part of every test URL; no log line or error may
// contain it.
const secret = "s3cr3t-0d338dcc-a054"

// ping is one request the fake monitor received.
type ping struct {
	method, path string
	query        url.Values
	body         string
}

// monitor is a fake dead-man's switch: it records every request on pings and
// answers with status (200 unless set).
type monitor struct {
	*httptest.Server
	pings  chan ping
	mu     sync.Mutex
	status int
}

func newMonitor(t *testing.T) *monitor {
	t.Helper()
	m := &monitor{pings: make(chan ping, 100), status: http.StatusOK}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		// The answer is taken before the test hears of the ping: a test
		// that changes it after next returned means the next ping.
		m.mu.Lock()
		st := m.status
		m.mu.Unlock()
		m.pings <- ping{r.Method, r.URL.EscapedPath(), r.URL.Query(), string(b)}
		w.WriteHeader(st)
	}))
	t.Cleanup(m.Close)
	return m
}

func (m *monitor) answer(status int) {
	m.mu.Lock()
	m.status = status
	m.mu.Unlock()
}

// next waits for the next ping.
func (m *monitor) next(t *testing.T) ping {
	t.Helper()
	select {
	case p := <-m.pings:
		return p
	case <-time.After(10 * time.Second):
		t.Fatal("no ping within 10s")
		return ping{}
	}
}

// none asserts that no ping is waiting.
func (m *monitor) none(t *testing.T) {
	t.Helper()
	select {
	case p := <-m.pings:
		t.Fatalf("unexpected ping %+v", p)
	default:
	}
}

// syncBuffer collects log output from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newLogger returns a debug-level logger into a buffer, and checks at the end
// of the test that the buffer never held the secret.
func newLogger(t *testing.T) (*slog.Logger, *syncBuffer) {
	t.Helper()
	buf := &syncBuffer{}
	t.Cleanup(func() {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("the log shows the secret:\n%s", buf)
		}
	})
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// health is a scripted health function: each call takes the next answer, so a
// test knows exactly which beat saw which state.
type health chan struct {
	ok     bool
	reason string
}

func (h health) fn() (bool, string) {
	a := <-h
	return a.ok, a.reason
}

func (h health) set(ok bool, reason string) {
	h <- struct {
		ok     bool
		reason string
	}{ok, reason}
}

// run starts h.Run with a ticker the test drives, and returns the tick channel
// and a stop function that cancels Run and waits for it to return.
func run(t *testing.T, h *Heartbeat) (chan<- time.Time, func()) {
	t.Helper()
	tick := make(chan time.Time) // unbuffered: a send completes only when the previous beat is done
	h.newTicker = func(d time.Duration) (<-chan time.Time, func()) {
		if d != h.cfg.Interval {
			t.Errorf("ticker interval %s, want %s", d, h.cfg.Interval)
		}
		return tick, func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.Run(ctx)
	}()
	stop := func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return within 10s of cancel")
		}
	}
	t.Cleanup(stop)
	return tick, stop
}

// settle lets the beat in progress finish (its result observed and logged)
// by running one more healthy beat to the point where its ping arrived.
func settle(t *testing.T, tick chan<- time.Time, hs health, mon *monitor) {
	t.Helper()
	tick <- time.Time{}
	hs.set(true, "")
	mon.next(t)
}

func TestStyles(t *testing.T) {
	const reason = "input scheduler down; plugin pager down"
	tests := []struct {
		style, path string
		method      string
		// what the monitor sees for a success and a failure ping; a nil
		// failure means none is sent.
		up, down func(t *testing.T, p ping)
	}{
		{StyleHealthchecks, "/" + secret, "GET",
			func(t *testing.T, p ping) { want(t, p, "GET", "/"+secret, "") },
			func(t *testing.T, p ping) { want(t, p, "GET", "/"+secret+"/fail", "") }},
		{StyleHealthchecks, "/ping/" + secret + "/", "POST",
			func(t *testing.T, p ping) { want(t, p, "POST", "/ping/"+secret+"/", "") },
			func(t *testing.T, p ping) { want(t, p, "POST", "/ping/"+secret+"/fail", reason) }},
		{StyleBetterStack, "/api/v1/heartbeat/" + secret, "GET",
			func(t *testing.T, p ping) { want(t, p, "GET", "/api/v1/heartbeat/"+secret, "") },
			func(t *testing.T, p ping) { want(t, p, "GET", "/api/v1/heartbeat/"+secret+"/fail", "") }},
		{StyleBetterStack, "/api/v1/heartbeat/" + secret, "POST",
			func(t *testing.T, p ping) { want(t, p, "POST", "/api/v1/heartbeat/"+secret, "") },
			func(t *testing.T, p ping) { want(t, p, "POST", "/api/v1/heartbeat/"+secret+"/fail", reason) }},
		{StyleUptimeKuma, "/api/push/" + secret + "?status=up&msg=OK&ping=", "GET",
			func(t *testing.T, p ping) {
				want(t, p, "GET", "/api/push/"+secret, "")
				wantQuery(t, p, url.Values{"status": {"up"}, "msg": {"OK"}, "ping": {""}})
			},
			func(t *testing.T, p ping) {
				want(t, p, "GET", "/api/push/"+secret, "")
				wantQuery(t, p, url.Values{"status": {"down"}, "msg": {reason}, "ping": {""}})
			}},
		{StyleUptimeKuma, "/api/push/" + secret, "POST",
			func(t *testing.T, p ping) {
				want(t, p, "POST", "/api/push/"+secret, "")
				wantQuery(t, p, url.Values{"status": {"up"}, "msg": {"OK"}})
			},
			func(t *testing.T, p ping) {
				want(t, p, "POST", "/api/push/"+secret, "")
				wantQuery(t, p, url.Values{"status": {"down"}, "msg": {reason}})
			}},
		{StylePlain, "/beat/" + secret, "GET",
			func(t *testing.T, p ping) { want(t, p, "GET", "/beat/"+secret, "") },
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.style+"/"+tt.method, func(t *testing.T) {
			mon := newMonitor(t)
			log, _ := newLogger(t)
			h, err := New(Config{URL: mon.URL + tt.path, Style: tt.style, Method: tt.method}, nil, log, nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if err := h.Ping(ctx, false, ""); err != nil {
				t.Fatalf("success ping: %v", err)
			}
			tt.up(t, mon.next(t))

			// Through the run loop, so that "plain" shows it withholds.
			hs := make(health)
			h.health = hs.fn
			tick, stop := run(t, h)
			hs.set(false, reason)
			tick <- time.Time{} // the first beat is done
			if tt.down == nil {
				mon.none(t)
			} else {
				tt.down(t, mon.next(t))
			}
			hs.set(true, "")
			tt.up(t, mon.next(t))
			stop()
			mon.none(t)
		})
	}
}

func want(t *testing.T, p ping, method, path, body string) {
	t.Helper()
	if p.method != method || p.path != path || p.body != body {
		t.Errorf("got %s %s body %q, want %s %s body %q", p.method, p.path, p.body, method, path, body)
	}
}

func wantQuery(t *testing.T, p ping, q url.Values) {
	t.Helper()
	if p.query.Encode() != q.Encode() {
		t.Errorf("query %s, want %s", p.query.Encode(), q.Encode())
	}
}

// TestStopMode: with on_failure = "stop", nothing is sent while unhealthy, and
// pings resume when the agent recovers.
func TestStopMode(t *testing.T) {
	mon := newMonitor(t)
	log, buf := newLogger(t)
	hs := make(health)
	var results []string
	h, err := New(Config{URL: mon.URL + "/" + secret, Style: StyleHealthchecks, OnFailure: OnFailureStop,
		Observe: func(r string) { results = append(results, r) }}, hs.fn, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	tick, stop := run(t, h)
	hs.set(true, "")
	want(t, mon.next(t), "GET", "/"+secret, "")

	for range 3 {
		tick <- time.Time{}
		hs.set(false, "plugin pager down")
	}
	tick <- time.Time{} // the unhealthy beats are done
	mon.none(t)
	hs.set(true, "")
	want(t, mon.next(t), "GET", "/"+secret, "")
	settle(t, tick, hs, mon)
	stop()

	if got := strings.Join(results, ","); !strings.HasPrefix(got, "up,up") {
		t.Errorf("observed %s, want up,up first", got)
	}
	log1 := buf.String()
	if n := strings.Count(log1, "heartbeat pings stop until it recovers"); n != 1 {
		t.Errorf("unhealthy logged %d times, want once:\n%s", n, log1)
	}
	if n := strings.Count(log1, "healthy again"); n != 1 {
		t.Errorf("recovery logged %d times, want once:\n%s", n, log1)
	}
}

// TestErrorsLoggedOnce: a failing monitor is logged once per distinct error,
// and the recovery once; every ping is counted.
func TestErrorsLoggedOnce(t *testing.T) {
	mon := newMonitor(t)
	log, buf := newLogger(t)
	hs := make(health)
	var results []string
	h, err := New(Config{URL: mon.URL + "/api/push/" + secret, Observe: func(r string) { results = append(results, r) }}, hs.fn, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h.Style() != StyleUptimeKuma {
		t.Fatalf("auto style = %s, want %s", h.Style(), StyleUptimeKuma)
	}
	mon.answer(http.StatusInternalServerError)
	tick, stop := run(t, h)
	for i := range 3 {
		if i > 0 {
			tick <- time.Time{}
		}
		hs.set(true, "")
		mon.next(t)
	}
	mon.answer(http.StatusNotFound)
	tick <- time.Time{}
	hs.set(true, "")
	mon.next(t)
	mon.answer(http.StatusOK)
	tick <- time.Time{}
	hs.set(true, "")
	mon.next(t)
	settle(t, tick, hs, mon)
	stop()

	if got := strings.Join(results, ","); !strings.HasPrefix(got, "error,error,error,error,up") {
		t.Errorf("observed %s", got)
	}
	out := buf.String()
	if n := strings.Count(out, "heartbeat ping failed"); n != 2 {
		t.Errorf("failures logged %d times, want 2 (one per distinct error):\n%s", n, out)
	}
	for _, s := range []string{"500 Internal Server Error", "404 Not Found", mon.URL + "/…"} {
		if !strings.Contains(out, s) {
			t.Errorf("log lacks %q:\n%s", s, out)
		}
	}
	if n := strings.Count(out, "heartbeat pings succeed again"); n != 1 {
		t.Errorf("recovery logged %d times, want once:\n%s", n, out)
	}
}

// TestTimeout: a monitor that never answers costs one Timeout per ping, and
// the error says so without the URL's secret.
func TestTimeout(t *testing.T) {
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })

	h, err := New(Config{URL: srv.URL + "/ping/" + secret, Timeout: 50 * time.Millisecond}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- h.Ping(context.Background(), false, "") }()
	<-entered // the request arrived; only the timeout can end the ping now
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), "no answer within 50ms") {
			t.Errorf("Ping = %v, want a timeout", err)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("error shows the secret: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Ping did not give up within 10s")
	}
}

// TestCancelStopsPromptly: cancelling Run abandons a ping in flight, however
// long the timeout.
func TestCancelStopsPromptly(t *testing.T) {
	entered := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	log, buf := newLogger(t)
	h, err := New(Config{URL: srv.URL + "/" + secret, Timeout: time.Hour, Interval: time.Hour}, nil, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.Run(ctx)
	}()
	<-entered
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s of cancel")
	}
	if strings.Contains(buf.String(), "ping failed") {
		t.Errorf("a ping abandoned at shutdown was logged as a failure:\n%s", buf)
	}
}

// TestRedaction: transport errors quote the request URL; neither they nor
// any log line may show its secret parts.
func TestRedaction(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	dead := srv.URL
	srv.Close() // connection refused from now on
	for _, path := range []string{"/ping/" + secret, "/api/push/" + secret + "?token=" + secret, "/" + secret + "/x"} {
		log, buf := newLogger(t)
		h, err := New(Config{URL: dead + path, Style: StyleHealthchecks, Method: "POST"}, func() (bool, string) { return false, "down" }, log, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = h.Ping(context.Background(), true, "down")
		if err == nil {
			t.Fatalf("Ping to a closed server succeeded")
		}
		if strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), dead+"/…") {
			t.Errorf("Ping error = %q: want the host without the secret", err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		h.cfg.Observe = func(string) { cancel() }
		h.Run(ctx) // one beat, its failure logged
		if !strings.Contains(buf.String(), "heartbeat ping failed") {
			t.Errorf("the failure was not logged:\n%s", buf)
		}
	}
}

func TestDetect(t *testing.T) {
	for raw, style := range map[string]string{
		"https://hc-ping.com/0d338dcc-a054-11ec-b909-0242ac120002":        StyleHealthchecks,
		"https://hc-ping.com/ping-key/db-backup":                          StyleHealthchecks,
		"https://healthchecks.io/ping/uuid":                               StyleHealthchecks,
		"https://uptime.betterstack.com/api/v1/heartbeat/XYZ1234":         StyleBetterStack,
		"https://betteruptime.com/api/v1/heartbeat/abcd1234":              StyleBetterStack,
		"https://kuma.example.com/api/push/abc123?status=up&msg=OK&ping=": StyleUptimeKuma,
		"http://10.0.0.5:3001/api/push/abc123":                            StyleUptimeKuma,
		"https://monitor.example.com/beat/abc":                            StylePlain,
		"https://nothc-ping.com/uuid":                                     StylePlain,
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := Detect(u); got != style {
			t.Errorf("Detect(%s) = %s, want %s", raw, got, style)
		}
	}
}

func TestNewRejects(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no url":     {},
		"no scheme":  {URL: "hc-ping.com/" + secret},
		"ftp":        {URL: "ftp://example.com/" + secret},
		"method":     {URL: "https://hc-ping.com/" + secret, Method: "PUT"},
		"on_failure": {URL: "https://hc-ping.com/" + secret, OnFailure: "panic"},
		"style":      {URL: "https://hc-ping.com/" + secret, Style: "cronitor"},
		"interval":   {URL: "https://hc-ping.com/" + secret, Interval: -time.Second},
	} {
		_, err := New(cfg, nil, nil, nil)
		if err == nil {
			t.Errorf("%s: New succeeded", name)
		} else if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error shows the URL: %v", name, err)
		}
	}
}
