package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/heraldhq/herald/agent/metrics"
)

// deadline bounds waits that only time out when a test fails.
const deadline = 10 * time.Second

func start(t *testing.T, cfg Config, hooks map[string]http.Handler) *Server {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	s := New(cfg)
	for path, h := range hooks {
		s.Handle(path, h)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
	return s
}

type response struct {
	code        int
	contentType string
	body        string
}

func do(t *testing.T, method, url, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Timeout: deadline}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header.Get("Content-Type"), string(b)}
}

func TestRoutes(t *testing.T) {
	reg := metrics.NewRegistry()
	m := metrics.New(reg)
	m.Input("scheduler").SetUp(true)
	m.Sink("pager").SetUp(true)
	m.Sink("chat").SetUp(true)

	alertsErr := error(nil)
	s := start(t, Config{
		Registry: reg,
		Health:   func() Health { return HealthOf(m.Up()) },
		Alerts: func() (any, error) {
			if alertsErr != nil {
				return nil, alertsErr
			}
			return []map[string]string{{"rule": "reload-failed", "key": "task-1", "status": "firing"}}, nil
		},
	}, map[string]http.Handler{
		"/hooks/signl4": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%s %s", r.Method, b)
		}),
	})
	base := "http://" + s.Addr()

	const healthy = `{
  "status": "ok",
  "inputs": {
    "scheduler": true
  },
  "plugins": {
    "chat": true,
    "pager": true
  }
}
`
	const down = `{
  "status": "down",
  "inputs": {
    "scheduler": true
  },
  "plugins": {
    "chat": true,
    "pager": false
  },
  "down": [
    "plugin pager"
  ]
}
`
	const alerts = `[
  {
    "key": "task-1",
    "rule": "reload-failed",
    "status": "firing"
  }
]
`
	cases := []struct {
		name        string
		setup       func()
		method      string
		path        string
		body        string
		code        int
		contentType string // prefix
		want        string // exact body, unless contains is set
		contains    []string
	}{
		{name: "metrics", method: "GET", path: "/metrics", code: 200, contentType: "text/plain; version=0.0.4",
			contains: []string{"herald_build_info{", `herald_plugins_up{sink="pager"} 1`, "go_goroutines ", "promhttp_metric_handler_requests_total"}},
		{name: "healthy", method: "GET", path: "/healthz", code: 200, contentType: "application/json", want: healthy},
		{name: "plugin down", setup: func() { m.Sink("pager").SetUp(false) }, method: "GET", path: "/healthz", code: 503, contentType: "application/json", want: down},
		{name: "metrics show it too", method: "GET", path: "/metrics", code: 200, contentType: "text/plain; version=0.0.4",
			contains: []string{`herald_plugins_up{sink="pager"} 0`}},
		{name: "alerts", method: "GET", path: "/alerts", code: 200, contentType: "application/json", want: alerts},
		{name: "alerts fail", setup: func() { alertsErr = errors.New("state file: read alerts: disk I/O error") }, method: "GET", path: "/alerts", code: 500, contentType: "application/json",
			want: "{\n  \"error\": \"state file: read alerts: disk I/O error\"\n}\n"},
		{name: "hook", method: "POST", path: "/hooks/signl4", body: `{"eventType":201}`, code: 200, want: `POST {"eventType":201}`, contentType: "text/plain; charset=utf-8"},
		{name: "hook is exact", method: "POST", path: "/hooks/signl4/x", code: 404, contentType: "text/plain; charset=utf-8", want: "404 page not found\n"},
		{name: "index", method: "GET", path: "/", code: 200, contentType: "text/plain; charset=utf-8", contains: []string{"/metrics", "/healthz", "/alerts"}},
		{name: "unknown", method: "GET", path: "/nope", code: 404, contentType: "text/plain; charset=utf-8", want: "404 page not found\n"},
		{name: "wrong method", method: "POST", path: "/healthz", code: 405, contentType: "text/plain; charset=utf-8", want: "method not allowed\n"},
	}
	for _, c := range cases {
		if c.setup != nil {
			c.setup()
		}
		got := do(t, c.method, base+c.path, c.body)
		if got.code != c.code || !strings.HasPrefix(got.contentType, c.contentType) {
			t.Errorf("%s: %s %s = %d %q, want %d %q\n%s", c.name, c.method, c.path, got.code, got.contentType, c.code, c.contentType, got.body)
			continue
		}
		if c.contains == nil && got.body != c.want {
			t.Errorf("%s: body\n%s\nwant\n%s", c.name, got.body, c.want)
		}
		for _, s := range c.contains {
			if !strings.Contains(got.body, s) {
				t.Errorf("%s: body lacks %q:\n%.2000s", c.name, s, got.body)
			}
		}
	}
}

// TestDefaults: with no callbacks the server reports healthy and serves no
// metrics or alerts.
func TestDefaults(t *testing.T) {
	s := start(t, Config{}, nil)
	base := "http://" + s.Addr()
	if got := do(t, "GET", base+"/healthz", ""); got.code != 200 || got.body != "{\n  \"status\": \"ok\",\n  \"inputs\": {},\n  \"plugins\": {}\n}\n" {
		t.Errorf("/healthz = %d %s", got.code, got.body)
	}
	for _, path := range []string{"/metrics", "/alerts"} {
		if got := do(t, "GET", base+path, ""); got.code != 404 {
			t.Errorf("%s = %d, want 404", path, got.code)
		}
	}
}

func TestHealthOf(t *testing.T) {
	cases := []struct {
		inputs, plugins map[string]bool
		ok              bool
	}{
		{nil, nil, true},
		{map[string]bool{"a": true}, map[string]bool{"p": true}, true},
		{map[string]bool{"a": false}, map[string]bool{"p": true}, false},
		{map[string]bool{"a": true}, map[string]bool{"p": false}, false},
	}
	for _, c := range cases {
		if got := HealthOf(c.inputs, c.plugins).OK; got != c.ok {
			t.Errorf("HealthOf(%v, %v).OK = %v, want %v", c.inputs, c.plugins, got, c.ok)
		}
	}
}

func TestPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()

	s := New(Config{Listen: addr})
	err = s.Start()
	if err == nil {
		s.Shutdown(context.Background())
		t.Fatal("Start on a taken port succeeded")
	}
	if runtime.GOOS != "windows" {
		if want := "server: listen " + addr + ": address already in use"; err.Error() != want {
			t.Errorf("error %q, want %q", err, want)
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			t.Errorf("error %v does not wrap EADDRINUSE", err)
		}
	}
	if s.Addr() != "" {
		t.Errorf("Addr() = %q after a failed Start", s.Addr())
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown after a failed Start: %v", err)
	}
}

func TestHandleErrors(t *testing.T) {
	ok := http.NotFoundHandler()
	s := New(Config{Listen: "127.0.0.1:0"})
	s.Handle("/hooks/a", ok)
	s.Handle("/hooks/a", ok)
	s.Handle("/healthz", ok)
	s.Handle("hooks/b", ok)
	err := s.Start()
	want := "server: hook path /hooks/a is registered twice\n" +
		"server: hook path /healthz is served by Herald itself\n" +
		`server: hook path "hooks/b" must start with /`
	if err == nil || err.Error() != want {
		t.Fatalf("Start error:\n%v\nwant:\n%s", err, want)
	}
	if s.Addr() != "" {
		t.Error("the server listens despite invalid hooks")
	}
}

func TestHandleAfterStartPanics(t *testing.T) {
	s := start(t, Config{}, nil)
	defer func() {
		if recover() == nil {
			t.Error("Handle after Start did not panic")
		}
	}()
	s.Handle("/late", http.NotFoundHandler())
}

// TestShutdownWaitsForRequests: a request in progress when Shutdown starts
// gets its whole answer; afterwards the port is closed.
func TestShutdownWaitsForRequests(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	s := New(Config{Listen: "127.0.0.1:0"})
	s.Handle("/slow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "done")
	}))
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	addr := s.Addr()
	shuttingDown := make(chan struct{})
	s.srv.RegisterOnShutdown(func() { close(shuttingDown) })

	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := (&http.Client{Timeout: deadline}).Get("http://" + addr + "/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{string(b), err}
	}()
	<-entered
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	<-shuttingDown
	close(release)

	if r := <-got; r.err != nil || r.body != "done" {
		t.Errorf("request in progress got %q, %v; want its whole answer", r.body, r.err)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Error("the port still accepts connections after Shutdown")
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
}

// TestShutdownDeadline: a handler that does not finish in time is cut off and
// Shutdown reports the deadline.
func TestShutdownDeadline(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	s := New(Config{Listen: "127.0.0.1:0"})
	s.Handle("/stuck", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
	}))
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	clientErr := make(chan error, 1)
	go func() {
		resp, err := (&http.Client{Timeout: deadline}).Get("http://" + s.Addr() + "/stuck")
		if err == nil {
			resp.Body.Close()
		}
		clientErr <- err
	}()
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // already expired: Shutdown must not wait for the stuck handler
	err := s.Shutdown(ctx)
	if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "server: shutdown: ") {
		t.Errorf("Shutdown = %v, want a server: shutdown error wrapping context.Canceled", err)
	}
	if err := <-clientErr; err == nil {
		t.Error("the stuck request got an answer; its connection should have been closed")
	}
}

func TestShutdownBeforeStart(t *testing.T) {
	if err := New(Config{Listen: "127.0.0.1:0"}).Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestPageServesRoot(t *testing.T) {
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "page "+r.Method) })
	for _, tc := range []struct {
		name        string
		cfg         Config
		method, url string
		code        int
		body        string
	}{
		{"text index without a page", Config{}, http.MethodGet, "/", http.StatusOK, "Herald\n"},
		{"text index refuses POST", Config{}, http.MethodPost, "/", http.StatusMethodNotAllowed, ""},
		{"page GET", Config{Page: page}, http.MethodGet, "/", http.StatusOK, "page GET"},
		{"page POST", Config{Page: page}, http.MethodPost, "/", http.StatusOK, "page POST"},
		{"page refuses PUT", Config{Page: page}, http.MethodPut, "/", http.StatusMethodNotAllowed, ""},
		{"page only at /", Config{Page: page}, http.MethodGet, "/other", http.StatusNotFound, ""},
		{"page behind alerts_token", Config{Page: page, AlertsToken: "t0ken"}, http.MethodGet, "/", http.StatusUnauthorized, ""},
		{"page with alerts_token", Config{Page: page, AlertsToken: "t0ken"}, http.MethodGet, "/?token=t0ken", http.StatusOK, "page GET"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			New(tc.cfg).ServeHTTP(rec, httptest.NewRequest(tc.method, tc.url, nil))
			if rec.Code != tc.code || (tc.body != "" && !strings.HasPrefix(rec.Body.String(), tc.body)) {
				t.Errorf("%d %q, want %d %q", rec.Code, rec.Body.String(), tc.code, tc.body)
			}
		})
	}
}
