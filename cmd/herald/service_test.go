package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/agent"
	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/agent/state"
)

// notes records what the service program writes to the event log.
type notes struct {
	mu   sync.Mutex
	msgs []string
}

func (n *notes) add(level string, v []any) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.msgs = append(n.msgs, level+": "+fmt.Sprint(v...))
	return nil
}
func (n *notes) Error(v ...any) error { return n.add("error", v) }
func (n *notes) Info(v ...any) error  { return n.add("info", v) }

func (n *notes) String() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return strings.Join(n.msgs, "\n")
}

// lineChan is a writer that hands each line written to it to a channel.
type lineChan chan string

func (c lineChan) Write(p []byte) (int, error) {
	for line := range strings.Lines(string(p)) {
		c <- strings.TrimRight(line, "\n")
	}
	return len(p), nil
}

// quickstartDir copies the quickstart sample into a temporary folder with a
// config whose state lives there, and returns the config's path.
func quickstartDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	log, err := os.ReadFile(filepath.Join("..", "..", "examples", "quickstart", "QS-NODE1_System_Scheduler.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "QS-NODE1_System_Scheduler.txt"), log, 0o644); err != nil {
		t.Fatal(err)
	}
	return writeConfig(t, dir, `
[agent]
data_dir = "state"
host = "QS-NODE1"

[[input]]
name = "scheduler"
paths = ["*_System_Scheduler.txt"]
parser = "qlik"
start_at = "beginning"

[[sink]]
name = "console"
plugin = "console"
[sink.config]
format = "text"

[rules]
packs = ["qliksense"]
`)
}

// loadWith loads the agent the way `herald run` does, with the real binary
// for plugins and the console sink's output going to stdout.
func loadWith(stdout io.Writer) func(string, io.Writer) (agentRunner, error) {
	return func(path string, logOut io.Writer) (agentRunner, error) {
		cfg, err := config.Load(path)
		if err != nil {
			return nil, err
		}
		return agent.Load(cfg, agent.Options{Logger: newLogger(logOut, "info", "text"), Executable: heraldBin, Stdout: stdout})
	}
}

func noExit(t *testing.T) func(int) {
	return func(code int) { t.Errorf("the program exited the process with status %d", code) }
}

// TestServiceProgramStartStop runs the agent the way the Windows service
// manager does: Start returns at once, the alerts go out, Stop ends the agent
// cleanly (state saved and unlocked) and the log file tells the story.
func TestServiceProgramStartStop(t *testing.T) {
	cfgPath := quickstartDir(t)
	dataDir := filepath.Join(filepath.Dir(cfgPath), "state")
	out := make(lineChan, 10)
	ev := &notes{}
	p := &agentProgram{
		cfgPath: cfgPath,
		openLog: func(dir string) (io.WriteCloser, error) {
			return openRotatingFile(filepath.Join(dir, serviceLogName), serviceLogMaxBytes)
		},
		load:        loadWith(out),
		events:      ev,
		stopTimeout: 30 * time.Second,
		exit:        noExit(t),
	}
	if err := p.Start(nil); err != nil {
		t.Fatal(err)
	}
	for i := range 3 { // sales failed, finance aborted, sales resolved
		select {
		case line := <-out:
			if !strings.Contains(line, "QS-NODE1") {
				t.Errorf("alert %d: %s", i, line)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("alert %d not delivered within 30s; events: %s", i, ev)
		}
	}
	if err := p.Stop(nil); err != nil {
		t.Fatalf("Stop: %v", err)
	}

	logText, err := os.ReadFile(filepath.Join(dataDir, serviceLogName))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`msg="herald running"`, `msg="herald stopped"`} {
		if !bytes.Contains(logText, []byte(want)) {
			t.Errorf("herald.log lacks %s:\n%s", want, logText)
		}
	}
	if got := ev.String(); !strings.Contains(got, "info: Herald started with config "+cfgPath) || !strings.HasSuffix(got, "info: Herald stopped") {
		t.Errorf("event log:\n%s", got)
	}
	// A clean stop released the state file and saved how far the log was read.
	st, err := state.Open(agent.StatePath(dataDir), state.Options{Timeout: time.Second})
	if err != nil {
		t.Fatalf("state after stop: %v", err)
	}
	defer st.Close()
	if err := st.View(func(tx *state.Tx) error {
		if len(tx.Positions()) != 1 {
			t.Errorf("saved positions: %v", tx.Positions())
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// TestServiceProgramAgentFails: an agent that ends by itself (here: its
// data_dir is a file, so the state cannot be opened) makes the process exit
// with status 1, so the service manager restarts it, and says why.
func TestServiceProgramAgentFails(t *testing.T) {
	cfgPath := quickstartDir(t)
	if err := os.WriteFile(filepath.Join(filepath.Dir(cfgPath), "state"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	exited := make(chan int, 1)
	ev := &notes{}
	var logBuf syncBuffer
	p := &agentProgram{
		cfgPath: cfgPath,
		openLog: func(string) (io.WriteCloser, error) { return nopWriteCloser{&logBuf}, nil },
		load:    loadWith(io.Discard),
		events:  ev,
		exit:    func(code int) { exited <- code },
	}
	if err := p.Start(nil); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-exited:
		if code != 1 {
			t.Errorf("exit status %d, want 1", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the program did not exit")
	}
	if got := ev.String(); !strings.Contains(got, "error: Herald stopped unexpectedly: ") || !strings.Contains(got, "state") {
		t.Errorf("event log:\n%s", got)
	}
}

// TestServiceProgramStartFails: a broken config fails Start, with the
// reason in the event log, where an administrator looks for it.
func TestServiceProgramStartFails(t *testing.T) {
	cfgPath := writeConfig(t, t.TempDir(), "[agent]\nbogus = 1\n")
	ev := &notes{}
	p := &agentProgram{cfgPath: cfgPath, events: ev, exit: noExit(t),
		openLog: func(string) (io.WriteCloser, error) { t.Error("log opened for a bad config"); return nil, nil }}
	if err := p.Start(nil); err == nil {
		t.Fatal("Start succeeded with a bad config")
	}
	if got := ev.String(); !strings.Contains(got, "error: Herald did not start (config "+cfgPath+"): ") || !strings.Contains(got, "bogus") {
		t.Errorf("event log:\n%s", got)
	}
	if err := p.Stop(nil); err != nil {
		t.Errorf("Stop after a failed Start: %v", err)
	}
}

// stuckAgent ignores cancellation until released.
type stuckAgent struct{ release chan struct{} }

func (s stuckAgent) Run(context.Context, agent.RunOptions) error { <-s.release; return nil }

// TestServiceProgramStopTimeout: Stop gives up on an agent that does not
// stop, rather than hang the service manager.
func TestServiceProgramStopTimeout(t *testing.T) {
	stuck := stuckAgent{release: make(chan struct{})}
	defer close(stuck.release)
	ev := &notes{}
	p := &agentProgram{
		cfgPath:     quickstartDir(t),
		openLog:     func(string) (io.WriteCloser, error) { return nopWriteCloser{io.Discard}, nil },
		load:        func(string, io.Writer) (agentRunner, error) { return stuck, nil },
		events:      ev,
		stopTimeout: 10 * time.Millisecond,
		exit:        noExit(t),
	}
	if err := p.Start(nil); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(nil); err == nil || !strings.Contains(err.Error(), "did not stop within 10ms") {
		t.Errorf("Stop = %v, want a timeout", err)
	}
	if !strings.Contains(ev.String(), "error: Herald stopped uncleanly") {
		t.Errorf("event log:\n%s", ev)
	}
}

func TestServiceCommandUsage(t *testing.T) {
	cfg := quickstartDir(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"service", "restart"}, `unknown action "restart": want one of install, uninstall, start, stop, status`},
		{[]string{"service"}, "accepts 1 arg(s), received 0"},
		{[]string{"service", "install"}, "install needs --config"},
		{[]string{"service", "status", "--config", cfg}, "--config is for install only"},
		{[]string{"service", "install", "--config", cfg + ".missing"}, "reading config"},
	}
	for _, tt := range tests {
		_, stderr, code := runHerald(t, tt.args...)
		if code != 2 || !strings.Contains(stderr, tt.want) {
			t.Errorf("herald %s: exit status %d, stderr %q; want 2 and %q", strings.Join(tt.args, " "), code, stderr, tt.want)
		}
	}
}

// TestSystemdUnitExample keeps examples/service/herald.service the unit
// `herald service install` writes.
func TestSystemdUnitExample(t *testing.T) {
	got := systemdUnit("/usr/local/bin/herald", serviceArguments("/etc/herald/herald.toml", "/etc/herald/herald.env"), "/var/lib/herald")
	path := filepath.Join("..", "..", "examples", "service", "herald.service")
	if updatingGolden() {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the unit herald writes (run with -update):\n%s", path, got)
	}
	for _, want := range []string{
		"ExecStart=/usr/local/bin/herald run --config /etc/herald/herald.toml --env-file /etc/herald/herald.env\n",
		"Restart=on-failure\n", "ProtectSystem=strict\n", "ReadWritePaths=/var/lib/herald\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("unit lacks %q", want)
		}
	}
}

func TestSystemdWord(t *testing.T) {
	tests := []struct {
		in   string
		exec bool
		want string
	}{
		{"/usr/bin/herald", true, "/usr/bin/herald"},
		{"/opt/my herald/herald.toml", true, `"/opt/my herald/herald.toml"`},
		{"/etc/100%/$HOME", true, "/etc/100%%/$$HOME"},
		{"/var/lib/$x", false, "/var/lib/$x"},
		{`/a"b\c`, false, `"/a\"b\\c"`},
		{"", true, `""`},
	}
	for _, tt := range tests {
		if got := systemdWord(tt.in, tt.exec); got != tt.want {
			t.Errorf("systemdWord(%q, %v) = %s, want %s", tt.in, tt.exec, got, tt.want)
		}
	}
}

// TestRotatingFile: the service log moves aside at its size limit, keeps
// whole lines, and keeps one old file.
func TestRotatingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs", "herald.log")
	f, err := openRotatingFile(path, 100)
	if err != nil {
		t.Fatal(err)
	}
	line := func(i int) string { return fmt.Sprintf("line %02d %s\n", i, strings.Repeat("x", 30)) } // 39 bytes
	for i := range 7 {
		if _, err := io.WriteString(f, line(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("late\n")); err == nil {
		t.Error("write after Close succeeded")
	}
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	// 2 lines fit in 100 bytes: 0-1, 2-3, 4-5 (moved aside), 6 current.
	if got, want := read(path+".1"), line(4)+line(5); got != want {
		t.Errorf("herald.log.1 = %q, want %q", got, want)
	}
	if got, want := read(path), line(6); got != want {
		t.Errorf("herald.log = %q, want %q", got, want)
	}
	// Reopening appends and counts what is there.
	f, err = openRotatingFile(path, 100)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	io.WriteString(f, line(7))
	io.WriteString(f, line(8))
	if got, want := read(path), line(8); got != want {
		t.Errorf("after reopening, herald.log = %q, want %q", got, want)
	}
}
