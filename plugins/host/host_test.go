package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/plugins/sdk"
)

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 891011121, time.UTC)

func TestConfigure(t *testing.T) {
	p := startHelper(t, "sdk", nil)
	tests := []struct {
		name    string
		raw     string
		wantErr string // "" = accepted
	}{
		{"accepted", `{}`, ""},
		{"empty config", ``, ""},
		{"rejected by the sink", `{"fail":"url: must start with https://"}`, `sink "pager": url: must start with https://`},
		{"unknown key", `{"colour":"red"}`, `sink "pager": unknown config key "colour"`},
		{"wrong type", `{"log":"yes"}`, `sink "pager": config key "log": expected bool, got string`},
		{"panic is reported as data", `{"panic":true}`, `sink "pager": sink panicked while configuring: configure exploded`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := p.Configure(context.Background(), json.RawMessage(tt.raw))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Configure: %v", err)
				}
				return
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("Configure error = %v (%T), want a *ConfigError", err, err)
			}
			if err.Error() != tt.wantErr {
				t.Errorf("Configure error = %q, want %q", err, tt.wantErr)
			}
		})
	}
	if p.Exited() {
		t.Error("plugin exited after config errors; they must travel as data")
	}
}

func TestSendMapsEveryOutcome(t *testing.T) {
	p := startHelper(t, "sdk", nil)
	if err := p.Configure(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	events := []sdk.Event{
		{ID: "e1", Key: "accept", Time: t0},
		{ID: "e2", Key: "retry", Time: t0},
		{ID: "e3", Key: "reject", Title: "Reload failed", Time: t0},
		{ID: "e4", Key: "retry"}, // zero time: RetryAt stays zero
	}
	got, err := p.Send(context.Background(), events)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	want := []sdk.Result{
		{Outcome: sdk.Accepted, Ref: "ref-e1"},
		{Outcome: sdk.Retryable, Reason: "rate limited", RetryAt: t0.Add(time.Minute)},
		{Outcome: sdk.Rejected, Reason: "bad request: Reload failed"},
		{Outcome: sdk.Retryable, Reason: "rate limited"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d results, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Outcome != want[i].Outcome || got[i].Ref != want[i].Ref || got[i].Reason != want[i].Reason {
			t.Errorf("result %d = %+v, want %+v", i, got[i], want[i])
		}
		if !got[i].RetryAt.Equal(want[i].RetryAt) || got[i].RetryAt.IsZero() != want[i].RetryAt.IsZero() {
			t.Errorf("result %d RetryAt = %v, want %v", i, got[i].RetryAt, want[i].RetryAt)
		}
	}
}

// TestSendCarriesEveryEventField: every field of an event reaches a plugin
// built on the SDK, and one that decodes requests with the generated code
// (as the SDK did until it decoded them itself).
func TestSendCarriesEveryEventField(t *testing.T) {
	for _, mode := range []string{"sdk", "raw"} {
		t.Run(mode, func(t *testing.T) { testSendCarriesEveryEventField(t, mode) })
	}
}

func testSendCarriesEveryEventField(t *testing.T, mode string) {
	p := startHelper(t, mode, nil)
	if err := p.Configure(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	events := []sdk.Event{
		{
			ID: "01J9", Rule: "qlik.reload.failed", Status: sdk.StatusFiring, Key: "echo",
			Severity: "critical", Title: "Reload failed: Sales", Message: "line 1\nline 2 ✓",
			Fields: map[string]string{"TaskName": "Reload Sales", "AppId": "a1"},
			Time:   t0.In(time.FixedZone("CET", 3600)), Host: "qs-node-1", Ref: "s4-123",
		},
		{ID: "02", Status: sdk.StatusResolved, Key: "echo"}, // empty fields and zero time
	}
	got, err := p.Send(context.Background(), events)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	for i, want := range events {
		var seen sdk.Event
		if err := json.Unmarshal([]byte(got[i].Ref), &seen); err != nil {
			t.Fatalf("event %d: sink echoed %q: %v", i, got[i].Ref, err)
		}
		_, seenOffset := seen.Time.Zone()
		_, wantOffset := want.Time.Zone()
		if !seen.Time.Equal(want.Time) || seenOffset != wantOffset {
			t.Errorf("event %d: sink saw time %v, want %v", i, seen.Time, want.Time)
		}
		seen.Time, want.Time = time.Time{}, time.Time{}
		if fmt.Sprint(seen) != fmt.Sprint(want) {
			t.Errorf("event %d: sink saw\n%+v\nwant\n%+v", i, seen, want)
		}
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		mode    string
		keys    []string
		wantErr string
	}{
		{"sdk", []string{"accept", "panic"}, "sink panicked: send exploded"},
		{"sdk", []string{"accept", "short"}, "sink returned 1 results for 2 events"},
		{"sdk", []string{"bogus"}, "no valid outcome"},
		{"raw", []string{"accept", "short"}, `sink "pager": plugin answered 1 results for 2 events`},
		{"raw", []string{"unspecified"}, `sink "pager": result for event e0: plugin gave no valid outcome (OUTCOME_UNSPECIFIED)`},
	}
	for _, tt := range tests {
		t.Run(tt.mode+"/"+strings.Join(tt.keys, ","), func(t *testing.T) {
			p := startHelper(t, tt.mode, nil)
			if err := p.Configure(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			events := make([]sdk.Event, len(tt.keys))
			for i, k := range tt.keys {
				events[i] = sdk.Event{ID: fmt.Sprintf("e%d", i), Key: k}
			}
			res, err := p.Send(context.Background(), events)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), `sink "pager"`) {
				t.Fatalf("Send = %v, %v; want an error naming the sink and containing %q", res, err, tt.wantErr)
			}
			// A sink bug fails the batch, not the process.
			if _, err := p.Send(context.Background(), []sdk.Event{{ID: "next", Key: "accept"}}); err != nil {
				t.Errorf("Send after the failed batch: %v", err)
			}
		})
	}
}

func TestPluginExitingMidSendIsATransportError(t *testing.T) {
	logs := newLogCapture()
	p := startHelper(t, "sdk", slog.New(logs))
	if err := p.Configure(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	_, err := p.Send(context.Background(), []sdk.Event{{ID: "a", Key: "accept"}, {ID: "b", Key: "exit"}})
	if err == nil || !strings.Contains(err.Error(), `sink "pager": sending 2 events`) {
		t.Fatalf("Send error = %v, want a transport error naming the sink", err)
	}
	waitDone(t, p)
	if !p.Exited() {
		t.Error("Exited() = false after the process exited")
	}
	// Everything the plugin logged before dying is in the log once Done is closed.
	if r := logs.waitFor(t, "exiting in the middle of Send"); r.Level != slog.LevelWarn {
		t.Errorf("plugin's last words logged at %v, want WARN", r.Level)
	}
	if _, err := p.Send(context.Background(), []sdk.Event{{ID: "c", Key: "accept"}}); err == nil {
		t.Error("Send to an exited plugin succeeded")
	}
	p.Close() // closing a dead plugin is fine, and so is closing twice (cleanup)
}

func TestPluginLogsReachTheHostLoggerAtTheirLevel(t *testing.T) {
	logs := newLogCapture()
	p := startHelper(t, "sdk", slog.New(logs))
	if err := p.Configure(context.Background(), json.RawMessage(`{"log":true}`)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		msg   string
		level slog.Level
		attrs map[string]string
	}{
		{"debug line", slog.LevelDebug, map[string]string{"n": "1"}},
		{"info line", slog.LevelInfo, map[string]string{"sink": "pager"}},
		{"warn line", slog.LevelWarn, nil},
		{"error line", slog.LevelError, map[string]string{"error": "disk full"}},
	}
	for _, tt := range tests {
		r := logs.waitFor(t, tt.msg)
		if r.Level != tt.level {
			t.Errorf("%q logged at %v, want %v", tt.msg, r.Level, tt.level)
		}
		for k, v := range tt.attrs {
			if r.Attrs[k] != v {
				t.Errorf("%q: attribute %s = %q, want %q (all: %v)", tt.msg, k, r.Attrs[k], v, r.Attrs)
			}
		}
		if _, ok := r.Attrs["timestamp"]; ok {
			t.Errorf("%q: the plugin's timestamp was not dropped: %v", tt.msg, r.Attrs)
		}
	}
}

// TestPluginIsToldTheLogLevel: the plugin learns the lowest level the agent's
// log keeps, so it does not write lines the agent would drop.
func TestPluginIsToldTheLogLevel(t *testing.T) {
	for _, tt := range []struct {
		level slog.Level
		want  string
	}{
		{slog.LevelDebug - 4, "trace"},
		{slog.LevelDebug, "debug"},
		{slog.LevelInfo, "info"},
		{slog.LevelWarn, "warn"},
		{slog.LevelError, "error"},
	} {
		t.Run(tt.want, func(t *testing.T) {
			logger := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: tt.level}))
			p := startHelper(t, "sdk", logger)
			if err := p.Configure(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			res, err := p.Send(context.Background(), []sdk.Event{{ID: "1", Key: "loglevel"}})
			if err != nil {
				t.Fatal(err)
			}
			if res[0].Ref != tt.want {
				t.Errorf("the plugin has %s=%q, want %q", sdk.LogLevelEnv, res[0].Ref, tt.want)
			}
		})
	}
}

// TestPluginRuntimeEnv: a plugin runs on one thread (GOMAXPROCS=1) unless
// the agent's environment says otherwise, and collects garbage at Go's
// default GOGC unless the agent's environment sets one; the plugin inherits
// what the agent's environment sets.
func TestPluginRuntimeEnv(t *testing.T) {
	for _, tt := range []struct {
		env   string
		agent string // "" leaves env unset
		want  string
	}{
		{"GOGC", "", ""},
		{"GOGC", "200", "200"},
		{"GOMAXPROCS", "", "1"},
		{"GOMAXPROCS", "2", "2"},
	} {
		t.Run(tt.env+"="+tt.agent, func(t *testing.T) {
			t.Setenv(tt.env, tt.agent) // restored when the test ends
			if tt.agent == "" {
				os.Unsetenv(tt.env)
			}
			p := startHelper(t, "sdk", nil)
			if err := p.Configure(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			res, err := p.Send(context.Background(), []sdk.Event{{ID: "1", Key: strings.ToLower(tt.env)}})
			if err != nil {
				t.Fatal(err)
			}
			if res[0].Ref != tt.want {
				t.Errorf("the plugin has %s=%q, want %q", tt.env, res[0].Ref, tt.want)
			}
		})
	}
}

func TestPluginStdioAfterHandshake(t *testing.T) {
	tests := []struct {
		name   string
		config string
		want   string
		level  slog.Level
		skip   string
	}{
		// Stray output through a handle to the original stdout is diverted
		// to stderr, and so to the log, instead of the handshake channel.
		{"stale stdout handle", `{"stray":true}`, "stray line on the original stdout", slog.LevelDebug, "windows"},
		{"os.Stderr after the handshake", `{"stdio":true}`, "line on stderr", slog.LevelInfo, ""},
		{"log package", `{"stdlog":true}`, "line from the log package", slog.LevelDebug, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if runtime.GOOS == tt.skip {
				t.Skip("not supported on " + tt.skip)
			}
			logs := newLogCapture()
			p := startHelper(t, "sdk", slog.New(logs))
			if err := p.Configure(context.Background(), json.RawMessage(tt.config)); err != nil {
				t.Fatal(err)
			}
			r := logs.waitFor(t, tt.want)
			if r.Level != tt.level {
				t.Errorf("%q logged at %v, want %v", r.Message, r.Level, tt.level)
			}
		})
	}
}

func TestPluginStdoutGoesToSpecStdout(t *testing.T) {
	out := newLineWriter()
	spec := helperSpec(t, "sdk", nil)
	spec.Stdout = out
	p, err := Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Configure(context.Background(), json.RawMessage(`{"stdio":true}`)); err != nil {
		t.Fatal(err)
	}
	if got := out.waitLines(t, 1); got[0] != "line on stdout" {
		t.Errorf("Spec.Stdout got %q", got)
	}
}

func TestStartFailures(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-plugin")
	tests := []struct {
		name    string
		spec    Spec
		want    []string
		wantNot []string
	}{
		{
			name: "no command",
			spec: Spec{Name: "pager"},
			want: []string{`sink "pager": no plugin command`},
		},
		{
			name: "missing executable",
			spec: Spec{Name: "pager", Command: []string{missing}},
			want: []string{`sink "pager": plugin executable`, "no-such-plugin", "not found"},
		},
		{
			name: "missing on PATH",
			spec: Spec{Name: "pager", Command: []string{"herald-no-such-sink-plugin"}},
			want: []string{`sink "pager": plugin executable "herald-no-such-sink-plugin" not found`},
		},
		{
			name: "crash at start-up",
			spec: helperSpec(t, "crash-at-start", nil),
			want: []string{
				`sink "pager": plugin `, "exited during start-up (exit status 3)",
				"loading settings | error: cannot open settings: open /etc/sink.conf: permission denied",
			},
		},
		{
			name:    "not a plugin",
			spec:    helperSpec(t, "not-a-plugin", nil),
			want:    []string{`sink "pager": plugin `, "handshake failed", "Usage: not-a-plugin [flags]", "sdk.Serve"},
			wantNot: []string{"exited"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Start(context.Background(), tt.spec)
			if err == nil {
				p.Close()
				t.Fatal("Start succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ncontains %q", err, w)
				}
			}
		})
	}
}

func TestStartHonoursContext(t *testing.T) {
	t.Run("cancelled before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := Start(ctx, helperSpec(t, "sdk", nil))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Start = %v, want context.Canceled", err)
		}
	})
	t.Run("cancelled while waiting for the handshake", func(t *testing.T) {
		logs := newLogCapture()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		errc := make(chan error, 1)
		go func() {
			_, err := Start(ctx, helperSpec(t, "hang", slog.New(logs)))
			errc <- err
		}()
		logs.waitFor(t, "[INFO] hanging before the handshake")
		cancel()
		select {
		case err := <-errc:
			if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), `sink "pager"`) {
				t.Fatalf("Start = %v, want context.Canceled naming the sink", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("Start did not return after cancellation")
		}
	})
}

func TestSendHonoursContext(t *testing.T) {
	p := startHelper(t, "sdk", nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := p.Send(ctx, []sdk.Event{{ID: "a", Key: "accept"}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Send = %v, want context.Canceled", err)
	}
	if p.Exited() {
		t.Error("a cancelled Send stopped the plugin")
	}
}

func TestCloseStopsThePlugin(t *testing.T) {
	p := startHelper(t, "sdk", nil)
	p.Close()
	select {
	case <-p.Done():
	default:
		t.Fatal("Close returned before the process exited")
	}
}

func BenchmarkSend(b *testing.B) {
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			p := startHelper(b, "sdk", nil)
			if err := p.Configure(context.Background(), nil); err != nil {
				b.Fatal(err)
			}
			events := make([]sdk.Event, n)
			for i := range events {
				events[i] = sdk.Event{
					ID: fmt.Sprintf("01J9ZK%04d", i), Rule: "qlik.reload.failed", Status: sdk.StatusFiring,
					Key: "accept", Severity: "critical", Title: "Reload failed: Sales",
					Message: "Execution Failed: Field 'x' not found", Time: t0, Host: "qs-node-1",
					Fields: map[string]string{"TaskName": "Reload Sales", "AppId": "a1b2c3", "ExecutionId": "e1"},
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := p.Send(context.Background(), events); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
		})
	}
}
