package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/plugins/host"
	"github.com/heraldhq/herald/plugins/sdk"
)

// TestPlugin builds the example the way its README says and runs it as the
// agent would, through plugins/host.
func TestPlugin(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("needs the go command to build the plugin")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "file-sink")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	build := exec.Command(goTool, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p, err := host.Start(context.Background(), host.Spec{Name: "archive", Command: []string{bin}, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	out := filepath.Join(dir, "alerts.jsonl")
	for _, tt := range []struct{ raw, want string }{
		{`{}`, `sink "archive": config key "path": required`},
		{`{"path":"alerts.jsonl"}`, `sink "archive": config key "path": "alerts.jsonl" must be an absolute path`},
		{`{"path":` + quote(filepath.Join(dir, "nope", "a.jsonl")) + `}`, `sink "archive": config key "path": directory ` + filepath.Join(dir, "nope") + ` does not exist`},
		{`{"path":` + quote(out) + `,"mode":"0600"}`, `sink "archive": unknown config key "mode"`},
	} {
		err := p.Configure(context.Background(), json.RawMessage(tt.raw))
		var ce *host.ConfigError
		if !errors.As(err, &ce) || err.Error() != tt.want {
			t.Errorf("Configure(%s) = %v, want config error %q", tt.raw, err, tt.want)
		}
	}
	if err := p.Configure(context.Background(), json.RawMessage(`{"path":`+quote(out)+`}`)); err != nil {
		t.Fatal(err)
	}

	at := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	batches := [][]sdk.Event{
		{
			{ID: "1", Rule: "qlik.reload.failed", Status: sdk.StatusFiring, Key: "task-1", Severity: "critical", Title: "Reload failed: Sales", Time: at, Host: "qs1"},
			{ID: "2", Rule: "qlik.reload.failed", Status: sdk.StatusFiring, Key: "task-2", Severity: "critical", Title: "Reload failed: HR", Time: at, Host: "qs1",
				Fields: map[string]string{"AppName": "HR"}},
		},
		{
			{ID: "3", Rule: "qlik.reload.failed", Status: sdk.StatusResolved, Key: "task-1", Title: "Reload succeeded: Sales", Time: at.Add(time.Hour), Host: "qs1"},
		},
	}
	var want []sdk.Event
	for _, b := range batches {
		res, err := p.Send(context.Background(), b)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			if r.Outcome != sdk.Accepted {
				t.Errorf("event %s: %+v", b[i].ID, r)
			}
		}
		want = append(want, b...)
	}

	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var got []sdk.Event
	for sc.Scan() {
		var e sdk.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		got = append(got, e)
	}
	if len(got) != len(want) {
		t.Fatalf("file has %d events, want %d", len(got), len(want))
	}
	for i := range want {
		g, _ := json.Marshal(got[i])
		w, _ := json.Marshal(want[i])
		if string(g) != string(w) {
			t.Errorf("line %d:\n got %s\nwant %s", i+1, g, w)
		}
	}

	p.Close() // waits until the plugin's log lines are all in
	if !strings.Contains(logs.String(), `msg="appended events"`) {
		t.Errorf("the plugin's debug log did not reach the agent's logger:\n%s", logs.String())
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// syncBuffer collects log output; the host logs from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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
