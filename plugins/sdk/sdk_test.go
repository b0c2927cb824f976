package sdk

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	sinkv1 "github.com/heraldhq/herald/plugins/proto/sink/v1"
)

// helperEnv makes the test binary play a part in a test instead of running
// the tests (go-plugin's own helper-process pattern).
const helperEnv = "HERALD_SDK_TEST_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "serve":
		Serve(&funcSink{})
	case "parent":
		runParent()
	}
	os.Exit(0)
}

// funcSink is a Sink built from functions; nil ones accept everything.
type funcSink struct {
	configure func(context.Context, Config) error
	send      func(context.Context, []Event) []Result
}

func (s *funcSink) Configure(ctx context.Context, cfg Config) error {
	if s.configure == nil {
		return nil
	}
	return s.configure(ctx, cfg)
}

func (s *funcSink) Send(ctx context.Context, events []Event) []Result {
	if s.send == nil {
		out := make([]Result, len(events))
		for i := range out {
			out[i] = Accept("")
		}
		return out
	}
	return s.send(ctx, events)
}

// TestLogLevelFromTheAgent: a plugin writes only the lines at or above the
// level the agent named in LogLevelEnv, and everything when it named none.
func TestLogLevelFromTheAgent(t *testing.T) {
	for _, tt := range []struct {
		env  string
		want []string
	}{
		{"", []string{"trace", "debug", "info", "warn", "error"}},
		{"nonsense", []string{"trace", "debug", "info", "warn", "error"}},
		{"debug", []string{"debug", "info", "warn", "error"}},
		{"info", []string{"info", "warn", "error"}},
		{"warn", []string{"warn", "error"}},
		{"error", []string{"error"}},
	} {
		t.Run(tt.env, func(t *testing.T) {
			var buf bytes.Buffer
			l := slog.New(newLogHandler(&buf, levelFromEnv(tt.env)))
			for _, lv := range []slog.Level{levelTrace, slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
				l.Log(context.Background(), lv, "line")
			}
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
				var m map[string]any
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Fatalf("not JSON: %q", line)
				}
				got = append(got, m["@level"].(string))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("levels written = %v, want %v", got, tt.want)
			}
			if name := LogLevelName(levelFromEnv(tt.env)); tt.env != "" && tt.env != "nonsense" && name != tt.env {
				t.Errorf("LogLevelName(levelFromEnv(%q)) = %q", tt.env, name)
			}
		})
	}
}

func TestLogLinesAreHCLogJSON(t *testing.T) {
	tests := []struct {
		level slog.Level
		want  string
	}{
		{levelTrace, "trace"},
		{slog.LevelDebug, "debug"},
		{slog.LevelInfo, "info"},
		{slog.LevelInfo + 2, "info"},
		{slog.LevelWarn, "warn"},
		{slog.LevelError, "error"},
		{slog.LevelError + 4, "error"},
	}
	for _, tt := range tests {
		t.Run(tt.level.String(), func(t *testing.T) {
			var buf bytes.Buffer
			l := slog.New(newLogHandler(&buf, levelTrace))
			l.Log(context.Background(), tt.level, "sent batch", "events", 3, "error", errors.New("timeout"))
			l.With("sink", "pager").WithGroup("http").Info("second", "status", 503)

			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			if len(lines) != 2 {
				t.Fatalf("want 2 lines, got %q", buf.String())
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
				t.Fatalf("not JSON: %q", lines[0])
			}
			if got["@level"] != tt.want || got["@message"] != "sent batch" || got["events"] != 3.0 || got["error"] != "timeout" {
				t.Errorf("line = %v", got)
			}
			// go-plugin's host parses @timestamp with exactly this layout and
			// drops the level of a line it cannot parse.
			ts, _ := got["@timestamp"].(string)
			if _, err := time.Parse("2006-01-02T15:04:05.000000Z07:00", ts); err != nil {
				t.Errorf("@timestamp %q: %v", ts, err)
			}
			for _, k := range []string{"time", "level", "msg"} {
				if _, ok := got[k]; ok {
					t.Errorf("line has slog's own key %q: %v", k, got)
				}
			}
			if err := json.Unmarshal([]byte(lines[1]), &got); err != nil {
				t.Fatalf("not JSON: %q", lines[1])
			}
			if got["sink"] != "pager" || fmt.Sprint(got["http"]) != "map[status:503]" {
				t.Errorf("attributes and groups: %v", got)
			}
		})
	}
}

func TestServerConfigure(t *testing.T) {
	tests := []struct {
		name      string
		configure func(context.Context, Config) error
		wantError string
	}{
		{"accepted", func(context.Context, Config) error { return nil }, ""},
		{"rejected", func(context.Context, Config) error { return errors.New(`config key "url": required`) }, `config key "url": required`},
		{"panic", func(context.Context, Config) error { panic("nil map") }, "sink panicked while configuring: nil map"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Config
			s := &server{impl: &funcSink{configure: func(ctx context.Context, c Config) error {
				got = c
				return tt.configure(ctx, c)
			}}, logger: slog.New(slog.DiscardHandler)}
			resp, err := s.Configure(context.Background(), &sinkv1.ConfigureRequest{Name: "pager", ConfigJson: []byte(`{"url":""}`)})
			if err != nil {
				t.Fatalf("Configure returned an RPC error %v; config errors must travel as data", err)
			}
			if resp.GetError() != tt.wantError {
				t.Errorf("error = %q, want %q", resp.GetError(), tt.wantError)
			}
			if got.Name != "pager" || string(got.Raw) != `{"url":""}` || got.Logger == nil {
				t.Errorf("sink got Config %+v", got)
			}
		})
	}
}

func TestServerSend(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	tests := []struct {
		name    string
		send    func(context.Context, []Event) []Result
		want    []*sinkv1.Result
		wantErr string
	}{
		{
			name: "every outcome",
			send: func(context.Context, []Event) []Result {
				return []Result{Accept("r1"), Retry("429", at), Reject("400 bad request")}
			},
			want: []*sinkv1.Result{
				{Outcome: sinkv1.Outcome_OUTCOME_ACCEPTED, Ref: "r1"},
				{Outcome: sinkv1.Outcome_OUTCOME_RETRYABLE, Reason: "429", RetryAtUnixNano: at.UnixNano()},
				{Outcome: sinkv1.Outcome_OUTCOME_REJECTED, Reason: "400 bad request"},
			},
		},
		{
			name:    "too few results",
			send:    func(context.Context, []Event) []Result { return []Result{Accept("")} },
			wantErr: "sink returned 1 results for 3 events",
		},
		{
			name: "zero Result",
			send: func(context.Context, []Event) []Result {
				return []Result{Accept(""), {}, Accept("")}
			},
			wantErr: "result 1 (event b): no valid outcome (0)",
		},
		{
			name:    "panic",
			send:    func(context.Context, []Event) []Result { panic("index out of range") },
			wantErr: "sink panicked: index out of range",
		},
	}
	events := []Event{{ID: "a"}, {ID: "b"}, {ID: "c"}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &server{impl: &funcSink{send: tt.send}, logger: slog.New(slog.DiscardHandler)}
			resp, err := s.send(context.Background(), events)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Send error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := resp.GetResults()
			if len(got) != len(tt.want) {
				t.Fatalf("got %d results, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if !proto.Equal(got[i], tt.want[i]) {
					t.Errorf("result %d = %v, want %v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestServeRunByHand(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), helperEnv+"=serve")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit = %v, want status 1", err)
	}
	if len(out) != 0 {
		t.Errorf("wrote %q to stdout", out)
	}
	if !strings.Contains(stderr.String(), "This binary is a plugin") {
		t.Errorf("stderr = %q, want an explanation", stderr.String())
	}
}

// runParent plays an agent that starts a plugin without the host package, so
// without a parent-death signal, then waits to be killed.
func runParent() {
	self, err := os.Executable()
	if err != nil {
		panic(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(),
		helperEnv+"=serve",
		Handshake.MagicCookieKey+"="+Handshake.MagicCookieValue,
		"GORACE=atexit_sleep_ms=0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		panic(err)
	}
	if err := cmd.Start(); err != nil {
		panic(err)
	}
	if _, err := bufio.NewReader(stdout).ReadString('\n'); err != nil { // the handshake
		panic(err)
	}
	fmt.Println(cmd.Process.Pid)
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
}
