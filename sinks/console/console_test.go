package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/plugins/host"
	"github.com/heraldhq/herald/plugins/sdk"
	"github.com/heraldhq/herald/sinks/sinktest"
)

const helperEnv = "HERALD_CONSOLE_TEST_SERVE"

// TestMain lets the test binary serve the console sink as a plugin process,
// as `herald plugin serve console` does.
func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		sdk.Serve(New())
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// example is the event shown in README.md.
var example = sdk.Event{
	ID:       "01JD3V8Q2N4K7X",
	Rule:     "qlik.reload.failed",
	Status:   sdk.StatusFiring,
	Key:      "7552d9fc-d1bb-4975-9a38-18357de531ea",
	Severity: "critical",
	Title:    "Reload failed: Sales dashboard",
	Message:  "Execution Failed: Field 'Region' not found",
	Fields:   map[string]string{"TaskName": "Reload Sales dashboard", "AppName": "Sales"},
	Time:     time.Date(2021, 11, 9, 19, 37, 44, 331e6, time.FixedZone("", 3600)),
	Host:     "qs-node-1",
}

func TestSample(t *testing.T) {
	sinktest.CheckSample(t, SampleConfig(), "README.md", Name, func() sdk.Sink { return New() })
}

func TestConfigure(t *testing.T) {
	tests := []struct {
		raw      string
		wantText bool
		wantErr  string
	}{
		{``, false, ""},
		{`{"format":"json"}`, false, ""},
		{`{"format":"text"}`, true, ""},
		{`{"format":"yaml"}`, false, `config key "format": must be "json" or "text", not "yaml"`},
		{`{"fromat":"text"}`, false, `unknown config key "fromat"`},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			s := New()
			err := s.Configure(context.Background(), sdk.Config{Name: "stdout", Raw: json.RawMessage(tt.raw)})
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Configure = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.text != tt.wantText {
				t.Errorf("text = %v, want %v", s.text, tt.wantText)
			}
		})
	}
}

// TestREADMEShowsRealOutput keeps the README's example lines honest.
func TestREADMEShowsRealOutput(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"json", "text"} {
		s := configured(t, format)
		var buf bytes.Buffer
		s.out = &buf
		s.Send(context.Background(), []sdk.Event{example})
		if !strings.Contains(string(readme), buf.String()) {
			t.Errorf("README.md lacks the %s line the sink writes:\n%s", format, buf.String())
		}
	}
}

func TestSendWritesOneLinePerEvent(t *testing.T) {
	second := sdk.Event{ID: "2", Status: sdk.StatusResolved, Key: "k", Title: "", Message: "two\nlines"}
	tests := []struct {
		format string
		want   []string
	}{
		{"json", []string{mustJSON(t, example), mustJSON(t, second)}},
		{"text", []string{
			`2021-11-09T19:37:44+01:00 FIRING critical "Reload failed: Sales dashboard" host=qs-node-1 rule=qlik.reload.failed ` +
				`key=7552d9fc-d1bb-4975-9a38-18357de531ea id=01JD3V8Q2N4K7X AppName=Sales TaskName="Reload Sales dashboard" ` +
				`message="Execution Failed: Field 'Region' not found"`,
			`- RESOLVED "" key=k id=2 message="two\nlines"`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			s := configured(t, tt.format)
			var buf bytes.Buffer
			s.out = &buf
			res := s.Send(context.Background(), []sdk.Event{example, second})
			for i, r := range res {
				if r.Outcome != sdk.Accepted {
					t.Errorf("result %d = %+v", i, r)
				}
			}
			if got := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n"); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestSendFailuresAreRetryable(t *testing.T) {
	events := []sdk.Event{{ID: "1"}, {ID: "2"}, {ID: "3"}}
	t.Run("write error", func(t *testing.T) {
		s := configured(t, "json")
		s.out = &failAfter{n: 1}
		res := s.Send(context.Background(), events)
		want := []sdk.Outcome{sdk.Accepted, sdk.Retryable, sdk.Retryable}
		for i, r := range res {
			if r.Outcome != want[i] {
				t.Errorf("result %d = %+v, want %v", i, r, want[i])
			}
		}
		if !strings.Contains(res[1].Reason, "pipe is full") {
			t.Errorf("reason %q does not say why", res[1].Reason)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		s := configured(t, "json")
		var buf bytes.Buffer
		s.out = &buf
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		for i, r := range s.Send(ctx, events) {
			if r.Outcome != sdk.Retryable {
				t.Errorf("result %d = %+v, want retryable", i, r)
			}
		}
		if buf.Len() != 0 {
			t.Errorf("wrote %q after cancellation", buf.String())
		}
	})
}

// TestThroughAPluginProcess runs the sink as the agent does: in its own
// process, its standard output streamed to the agent's.
func TestThroughAPluginProcess(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			out := &lines{changed: make(chan struct{})}
			p, err := host.Start(context.Background(), host.Spec{
				Name:    "stdout",
				Command: []string{self},
				Env:     []string{helperEnv + "=1", "GORACE=atexit_sleep_ms=0"},
				Stdout:  out,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if err := p.Configure(context.Background(), json.RawMessage(`{"format":"`+format+`"}`)); err != nil {
				t.Fatal(err)
			}
			second := example
			second.ID, second.Status = "01JD3V8Q2N4K7Y", sdk.StatusResolved
			res, err := p.Send(context.Background(), []sdk.Event{example, second})
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range res {
				if r.Outcome != sdk.Accepted {
					t.Errorf("result %d = %+v", i, r)
				}
			}
			s := configured(t, format)
			var want bytes.Buffer
			s.out = &want
			s.Send(context.Background(), []sdk.Event{example, second})
			if got := out.wait(t, 2); got != want.String() {
				t.Errorf("agent's stdout got\n%s\nwant\n%s", got, want.String())
			}
		})
	}
}

func configured(t *testing.T, format string) *Sink {
	t.Helper()
	s := New()
	if err := s.Configure(context.Background(), sdk.Config{Raw: json.RawMessage(`{"format":"` + format + `"}`)}); err != nil {
		t.Fatal(err)
	}
	return s
}

func mustJSON(t *testing.T, e sdk.Event) string {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type failAfter struct{ n int }

func (w *failAfter) Write(p []byte) (int, error) {
	if w.n == 0 {
		return 0, errors.New("pipe is full")
	}
	w.n--
	return len(p), nil
}

// lines collects output and lets a test wait for a number of lines.
type lines struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	close(l.changed)
	l.changed = make(chan struct{})
	return len(p), nil
}

func (l *lines) wait(t *testing.T, n int) string {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		l.mu.Lock()
		s, changed := l.buf.String(), l.changed
		l.mu.Unlock()
		if strings.Count(s, "\n") >= n {
			return s
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("got %q, want %d lines", s, n)
		}
	}
}
