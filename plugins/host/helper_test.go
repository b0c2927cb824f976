package host

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	sinkv1 "github.com/heraldhq/herald/plugins/proto/sink/v1"
	"github.com/heraldhq/herald/plugins/sdk"
)

// The tests run real plugin processes: the test binary re-executes itself with
// helperEnv naming the role it plays (go-plugin's own helper-process pattern).
const helperEnv = "HERALD_HOST_TEST_HELPER"

// originalStdout is the test binary's standard output as it was before
// sdk.Serve, for the test that writes to a stale handle of it.
var originalStdout = os.Stdout

func TestMain(m *testing.M) {
	switch mode := os.Getenv(helperEnv); mode {
	case "":
		os.Exit(m.Run())
	case "sdk":
		sdk.Serve(&testSink{})
	case "raw":
		serveRaw()
	case "crash-at-start":
		fmt.Fprintln(os.Stderr, "loading settings")
		fmt.Fprintln(os.Stderr, `{"@level":"error","@message":"cannot open settings","@timestamp":"2026-01-02T03:04:05.000000Z","error":"open /etc/sink.conf: permission denied"}`)
		os.Exit(3)
	case "not-a-plugin":
		fmt.Println("Usage: not-a-plugin [flags]")
		select {} // stay alive: the host must diagnose the handshake, not an exit
	case "hang":
		fmt.Fprintln(os.Stderr, "[INFO] hanging before the handshake")
		select {}
	case "parent":
		runParent()
	default:
		fmt.Fprintf(os.Stderr, "unknown helper mode %q\n", mode)
		os.Exit(2)
	}
	os.Exit(0)
}

// testConfig drives what testSink does in Configure.
type testConfig struct {
	Fail   string `json:"fail"`   // reject the config with this message
	Log    bool   `json:"log"`    // log one line per level through Config.Logger
	Stray  bool   `json:"stray"`  // write through a stale handle to the original stdout
	Stdio  bool   `json:"stdio"`  // write to os.Stdout and os.Stderr after the handshake
	StdLog bool   `json:"stdlog"` // log through the standard library's log package
	Panic  bool   `json:"panic"`  // panic
}

// testSink answers each event according to its Key.
type testSink struct{ log *slog.Logger }

func (s *testSink) Configure(_ context.Context, cfg sdk.Config) error {
	var c testConfig
	if err := sdk.DecodeConfig(cfg.Raw, &c); err != nil {
		return err
	}
	s.log = cfg.Logger
	switch {
	case c.Fail != "":
		return errors.New(c.Fail)
	case c.Panic:
		panic("configure exploded")
	case c.Log:
		cfg.Logger.Debug("debug line", "n", 1)
		cfg.Logger.Info("info line", "sink", cfg.Name)
		cfg.Logger.Warn("warn line")
		cfg.Logger.Error("error line", "error", errors.New("disk full"))
	case c.Stray:
		fmt.Fprintln(originalStdout, "stray line on the original stdout")
	case c.Stdio:
		fmt.Println("line on stdout")
		fmt.Fprintln(os.Stderr, "line on stderr")
	case c.StdLog:
		log.Print("line from the log package")
	}
	return nil
}

func (s *testSink) Send(_ context.Context, events []sdk.Event) []sdk.Result {
	out := make([]sdk.Result, 0, len(events))
	for _, e := range events {
		switch e.Key {
		case "accept":
			out = append(out, sdk.Accept("ref-"+e.ID))
		case "retry":
			var at time.Time
			if !e.Time.IsZero() {
				at = e.Time.Add(time.Minute)
			}
			out = append(out, sdk.Retry("rate limited", at))
		case "reject":
			out = append(out, sdk.Reject("bad request: "+e.Title))
		case "echo":
			b, _ := json.Marshal(e)
			out = append(out, sdk.Accept(string(b)))
		case "loglevel":
			out = append(out, sdk.Accept(os.Getenv(sdk.LogLevelEnv)))
		case "gogc":
			out = append(out, sdk.Accept(os.Getenv("GOGC")))
		case "gomaxprocs":
			out = append(out, sdk.Accept(strconv.Itoa(runtime.GOMAXPROCS(0))))
		case "exit":
			if s.log != nil {
				s.log.Warn("exiting in the middle of Send")
			}
			os.Exit(7)
		case "panic":
			panic("send exploded")
		case "short":
			return out
		default:
			out = append(out, sdk.Result{})
		}
	}
	return out
}

// serveRaw serves the protocol without the SDK: no parent watchdog and no
// validation, so the host's own checks and the Linux parent-death signal can
// be tested on their own.
func serveRaw() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: sdk.Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{
			sdk.ProtocolVersion: {sdk.PluginName: &rawPlugin{}},
		},
		GRPCServer: plugin.DefaultGRPCServer,
	})
}

type rawPlugin struct{ plugin.NetRPCUnsupportedPlugin }

func (*rawPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	sinkv1.RegisterSinkServer(s, rawServer{})
	return nil
}

func (*rawPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("server only")
}

type rawServer struct{ sinkv1.UnimplementedSinkServer }

func (rawServer) Configure(context.Context, *sinkv1.ConfigureRequest) (*sinkv1.ConfigureResponse, error) {
	return &sinkv1.ConfigureResponse{}, nil
}

func (rawServer) Send(_ context.Context, req *sinkv1.SendRequest) (*sinkv1.SendResponse, error) {
	resp := &sinkv1.SendResponse{}
	for _, e := range req.GetEvents() {
		switch e.GetKey() {
		case "short":
			return resp, nil
		case "unspecified":
			resp.Results = append(resp.Results, &sinkv1.Result{})
		case "echo":
			b, _ := json.Marshal(generatedEvent(e))
			resp.Results = append(resp.Results, &sinkv1.Result{Outcome: sinkv1.Outcome_OUTCOME_ACCEPTED, Ref: string(b)})
		default:
			resp.Results = append(resp.Results, &sinkv1.Result{Outcome: sinkv1.Outcome_OUTCOME_ACCEPTED})
		}
	}
	return resp, nil
}

// generatedEvent converts an event as the generated code decoded it, the way
// the SDK did before it decoded requests itself.
func generatedEvent(e *sinkv1.Event) sdk.Event {
	ev := sdk.Event{
		ID: e.GetId(), Rule: e.GetRule(), Status: sdk.Status(e.GetStatus()), Key: e.GetKey(), Severity: e.GetSeverity(),
		Title: e.GetTitle(), Message: e.GetMessage(), Host: e.GetHost(), Ref: e.GetRef(),
	}
	if len(e.GetFields()) > 0 {
		ev.Fields = e.GetFields()
	}
	if n := e.GetTimeUnixNano(); n != 0 {
		ev.Time = time.Unix(0, n).In(time.FixedZone("", int(e.GetTimeOffsetSeconds())))
	}
	return ev
}

// runParent plays an agent: it starts a raw plugin, prints the plugin's pid
// and waits to be killed.
func runParent() {
	self, err := os.Executable()
	if err != nil {
		panic(err)
	}
	p, err := Start(context.Background(), Spec{
		Name:    "orphan",
		Command: []string{self},
		Env:     []string{helperEnv + "=raw"},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(p.Pid())
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	os.Exit(0)
}

// startHelper starts the test binary as the plugin playing mode and stops it
// when the test ends.
func startHelper(t testing.TB, mode string, logger *slog.Logger) *Plugin {
	t.Helper()
	p, err := Start(context.Background(), helperSpec(t, mode, logger))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(p.Close)
	return p
}

func helperSpec(t testing.TB, mode string, logger *slog.Logger) Spec {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// A -race binary sleeps a second before exiting unless told otherwise.
	env := []string{helperEnv + "=" + mode, "GORACE=atexit_sleep_ms=0"}
	return Spec{Name: "pager", Command: []string{self}, Env: env, Logger: logger}
}

// logCapture is a slog.Handler that records what reaches it and lets a test
// wait for a record that arrives asynchronously.
type logCapture struct {
	mu      sync.Mutex
	records []captured
	changed chan struct{} // closed and replaced on every record
	attrs   []slog.Attr
	root    *logCapture
}

type captured struct {
	Level   slog.Level
	Message string
	Attrs   map[string]string
}

func newLogCapture() *logCapture {
	c := &logCapture{changed: make(chan struct{})}
	c.root = c
	return c
}

func (c *logCapture) Enabled(context.Context, slog.Level) bool { return true }

func (c *logCapture) Handle(_ context.Context, r slog.Record) error {
	rec := captured{Level: r.Level, Message: r.Message, Attrs: map[string]string{}}
	for _, a := range c.attrs {
		rec.Attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec.Attrs[a.Key] = a.Value.String()
		return true
	})
	root := c.root
	root.mu.Lock()
	root.records = append(root.records, rec)
	close(root.changed)
	root.changed = make(chan struct{})
	root.mu.Unlock()
	return nil
}

func (c *logCapture) WithAttrs(as []slog.Attr) slog.Handler {
	return &logCapture{root: c.root, attrs: append(append([]slog.Attr(nil), c.attrs...), as...)}
}

func (c *logCapture) WithGroup(string) slog.Handler { return c }

// waitFor returns the first record with message msg, waiting for it to arrive.
// A message that ends in " "+msg matches too: unstructured lines keep their
// prefixes (the log package's date, for one).
func (c *logCapture) waitFor(t *testing.T, msg string) captured {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		c.mu.Lock()
		for _, r := range c.records {
			if r.Message == msg || strings.HasSuffix(r.Message, " "+msg) {
				c.mu.Unlock()
				return r
			}
		}
		changed := c.changed
		c.mu.Unlock()
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("no log record %q; got:\n%s", msg, c.dump())
		}
	}
}

func (c *logCapture) dump() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := ""
	for _, r := range c.records {
		s += fmt.Sprintf("  %s %q %v\n", r.Level, r.Message, r.Attrs)
	}
	return s
}

// waitDone waits for the plugin process to exit.
func waitDone(t *testing.T, p *Plugin) {
	t.Helper()
	select {
	case <-p.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("plugin process did not exit")
	}
}

// lineWriter collects the lines written to it and lets a test wait for them.
type lineWriter struct {
	mu      sync.Mutex
	buf     []byte
	changed chan struct{}
}

func newLineWriter() *lineWriter { return &lineWriter{changed: make(chan struct{})} }

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	close(w.changed)
	w.changed = make(chan struct{})
	return len(p), nil
}

// waitLines waits until n complete lines have been written and returns them.
func (w *lineWriter) waitLines(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		w.mu.Lock()
		lines := strings.SplitAfter(string(w.buf), "\n")
		changed := w.changed
		w.mu.Unlock()
		var complete []string
		for _, l := range lines {
			if strings.HasSuffix(l, "\n") {
				complete = append(complete, strings.TrimSuffix(l, "\n"))
			}
		}
		if len(complete) >= n {
			return complete
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("got %d lines, want %d: %q", len(complete), n, complete)
		}
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}
