package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/heraldhq/herald/plugins/sdk"
)

// heraldBin is the real binary, built once for every end-to-end test.
var heraldBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "herald-e2e")
	if err != nil {
		panic(err)
	}
	heraldBin = filepath.Join(dir, "herald")
	if runtime.GOOS == "windows" {
		heraldBin += ".exe"
	}
	build := exec.Command("go", "build", "-race", "-o", heraldBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building herald:", err)
		os.Exit(1)
	}
	// Every herald process the tests start (and the plugin processes it
	// starts in turn) is race-built, and the race detector sleeps a second at
	// exit by default: across dozens of short runs that adds up.
	os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// receiver is an HTTP endpoint that records the events the webhook sink posts.
type receiver struct {
	*httptest.Server
	events chan sdk.Event
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{events: make(chan sdk.Event, 1000)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var ev sdk.Event
		if err := json.NewDecoder(req.Body).Decode(&ev); err != nil {
			t.Errorf("receiver: bad body: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.events <- ev
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(r.Close)
	return r
}

// next waits for the next delivered event.
func (r *receiver) next(t *testing.T) sdk.Event {
	t.Helper()
	select {
	case ev := <-r.events:
		return ev
	case <-time.After(60 * time.Second):
		t.Fatal("no event delivered within 60s")
		return sdk.Event{}
	}
}

// qlikLog writes scheduler rows the way Qlik does: tab separated, CRLF, BOM+header first.
type qlikLog struct {
	t   *testing.T
	f   *os.File
	seq int
}

var qlikColumns = []string{"Sequence#", "Timestamp", "Level", "Hostname", "Logger", "Thread", "Id", "ServiceUser",
	"Message", "Exception", "StackTrace", "TaskName", "TaskId", "ExecutionId", "AppName", "AppId", "UserDirectory", "UserId", "Id2"}

const (
	taskSession = "System.Scheduler.Scheduler.Master.Task.TaskSession"
	reloadTask  = "System.Scheduler.Scheduler.Slave.Tasks.ReloadTask"
)

func newQlikLog(t *testing.T, path string) *qlikLog {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	l := &qlikLog{t: t, f: f, seq: 100}
	l.write("\uFEFF" + strings.Join(qlikColumns, "\t"))
	return l
}

func (l *qlikLog) write(line string) {
	l.t.Helper()
	if _, err := l.f.WriteString(line + "\r\n"); err != nil {
		l.t.Fatal(err)
	}
}

// row appends one record for task n (TaskId/AppId derived from n).
func (l *qlikLog) row(level, logger, msg string, task int, exec string) {
	l.seq++
	ts := time.Date(2026, 11, 22, 6, 0, l.seq%60, 0, time.FixedZone("", 3600)).Format("20060102T150405.000-0700")
	vals := []string{fmt.Sprint(l.seq), ts, level, "QS-NODE1", logger, "47", fmt.Sprintf("row-%d", l.seq), `LAB\qlikservice`,
		msg, "", "", fmt.Sprintf("Reload task %d", task), taskID(task), exec, fmt.Sprintf("App %d", task),
		fmt.Sprintf("app-%d", task), "INTERNAL", "sa_scheduler", "0"}
	l.write(strings.Join(vals, "\t"))
}

func taskID(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

// agentProc is a running `herald run`.
type agentProc struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan error
}

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

func startAgent(t *testing.T, cfgPath string, args ...string) *agentProc {
	t.Helper()
	cmd := exec.Command(heraldBin, append([]string{"run", "--config", cfgPath}, args...)...)
	p := &agentProc{cmd: cmd, stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("agent stderr:\n%s", p.stderr.String())
		}
	})
	return p
}

// stop sends SIGTERM and expects a clean exit.
func (p *agentProc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("agent exited with %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("agent did not stop within 60s of SIGTERM")
	}
}

// serving is the line the agent logs each time it starts its HTTP server: at
// start-up and after every reload (with listen = "127.0.0.1:0", on a new port).
var serving = regexp.MustCompile(`msg="serving metrics and health" addr=(\S+)`)

// scrapeMetrics fetches /metrics from the server the agent started last; ok
// is false while there is none, or it is being replaced by a reload.
func scrapeMetrics(agent *agentProc) (body string, ok bool) {
	all := serving.FindAllStringSubmatch(agent.stderr.String(), -1)
	if len(all) == 0 {
		return "", false
	}
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + all[len(all)-1][1] + "/metrics")
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err == nil && resp.StatusCode == http.StatusOK
}

// waitMetric waits until a line of the agent's /metrics starts with prefix.
func waitMetric(t *testing.T, agent *agentProc, prefix string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%q in the agent's /metrics", prefix), func() (string, bool) {
		body, ok := scrapeMetrics(agent)
		if !ok {
			return "no /metrics yet", false
		}
		for line := range strings.Lines(body) {
			if strings.HasPrefix(line, prefix) {
				return line, true
			}
		}
		return "", false
	})
}

// runHerald runs the binary to completion and returns its output and exit code.
func runHerald(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, heraldBin, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("herald %s: %v", strings.Join(args, " "), err)
	}
	return o.String(), e.String(), code
}

// tailPreamble is the start of a test herald.toml: state in "state", and the
// input "scheduler" reading *_System_Scheduler.txt from the beginning. agent
// holds further [agent] lines.
func tailPreamble(agent string) string {
	return "\n[agent]\ndata_dir = \"state\"\n" + agent + `

[[input]]
name = "scheduler"
paths = ["*_System_Scheduler.txt"]
parser = "qlik"
start_at = "beginning"
poll_interval = "100ms"
`
}

func writeConfig(t *testing.T, dir, body string) string {
	t.Helper()
	path := filepath.Join(dir, "herald.toml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestEndToEndWebhook tails a log written line by line and checks the exact
// alerts the real webhook plugin process delivers: a failure fires once (not
// once per line of the execution), an abort fires, a success resolves, and a
// success with nothing open sends nothing.
func TestEndToEndWebhook(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses SIGTERM")
	}
	dir := t.TempDir()
	rcv := newReceiver(t)
	log := newQlikLog(t, filepath.Join(dir, "QS-NODE1_System_Scheduler.txt"))
	cfg := writeConfig(t, dir, fmt.Sprintf(tailPreamble(`host = "node-under-test"`)+`
[[sink]]
name = "hook"
plugin = "webhook"
[sink.config]
url = "%s/alerts"

[rules]
packs = ["qliksense"]
`, rcv.URL))
	agent := startAgent(t, cfg)

	// Task 1 fails: per-attempt ERROR, then both final lines of one execution.
	log.row("INFO", taskSession, "Execution State Change to Started", 1, "exec-1")
	log.row("ERROR", reloadTask, "Message from ReloadProvider: Reload failed in Engine. Check engine or script logs.", 1, "exec-1")
	log.row("INFO", taskSession, "Max retries reached", 1, "exec-1")
	log.row("INFO", taskSession, "Execution State Change to FinishedFail", 1, "exec-1")
	ev := rcv.next(t)
	want := map[string]string{"TaskName": "Reload task 1", "TaskId": taskID(1), "AppName": "App 1", "AppId": "app-1", "ExecutionId": "exec-1", "Hostname": "QS-NODE1"}
	assertEvent(t, ev, "qlik-reload-failed", sdk.StatusFiring, taskID(1), want)
	if ev.Host != "node-under-test" {
		t.Errorf("host = %q, want node-under-test", ev.Host)
	}

	// Task 2 is aborted.
	log.row("INFO", taskSession, "Execution State Change to Aborting", 2, "exec-2")
	assertEvent(t, rcv.next(t), "qlik-reload-aborted", sdk.StatusFiring, taskID(2), nil)

	// Task 1 succeeds: its alert resolves.
	log.row("INFO", taskSession, "Execution State Change to FinishedSuccess", 1, "exec-3")
	assertEvent(t, rcv.next(t), "qlik-reload-failed", sdk.StatusResolved, taskID(1), nil)

	// Task 3 succeeds with nothing open, and the words under another logger raise
	// nothing: the next delivery is task 4's failure.
	log.row("INFO", taskSession, "Execution State Change to FinishedSuccess", 3, "exec-4")
	log.row("INFO", reloadTask, "Max retries reached", 5, "exec-5")
	log.row("INFO", taskSession, "Execution State Change to FinishedFail", 4, "exec-6")
	assertEvent(t, rcv.next(t), "qlik-reload-failed", sdk.StatusFiring, taskID(4), nil)

	agent.stop(t)
	select {
	case ev := <-rcv.events:
		t.Fatalf("unexpected extra event %+v", ev)
	default:
	}
}

func assertEvent(t *testing.T, ev sdk.Event, rule string, status sdk.Status, key string, fields map[string]string) {
	t.Helper()
	if ev.Rule != rule || ev.Status != status || ev.Key != key {
		t.Fatalf("got event rule=%s status=%s key=%s, want rule=%s status=%s key=%s (%+v)", ev.Rule, ev.Status, ev.Key, rule, status, key, ev)
	}
	if ev.ID == "" || ev.Title == "" || ev.Time.IsZero() {
		t.Errorf("event lacks id, title or time: %+v", ev)
	}
	for k, v := range fields {
		if ev.Fields[k] != v {
			t.Errorf("field %s = %q, want %q", k, ev.Fields[k], v)
		}
	}
}

// TestQuickstart runs the README's first command and checks the alerts it shows.
func TestQuickstart(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"herald.toml", "QS-NODE1_System_Scheduler.txt"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "examples", "quickstart", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, heraldBin, "run", "--once", "--config", filepath.Join(dir, "herald.toml"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("quickstart: %v\n%s", err, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"FIRING", "Sales dashboard", "Finance KPIs", "RESOLVED"} {
		if !strings.Contains(out, want) {
			t.Errorf("quickstart output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "\n"); n != 3 {
		t.Errorf("quickstart printed %d alerts, want 3 (sales failed, finance aborted, sales resolved):\n%s", n, out)
	}
	// The log beside the alerts is for the admin: no empty maps, no path of
	// the executable (a go-build temporary under go run), and a last line
	// saying where the state is and how to replay the log.
	log := stderr.String()
	for _, noise := range []string{"map[", heraldBin, "go-build"} {
		if strings.Contains(log, noise) {
			t.Errorf("quickstart log shows %q:\n%s", noise, log)
		}
	}
	lines := strings.Split(strings.TrimSpace(log), "\n")
	last := lines[len(lines)-1]
	wantState := "state=" + filepath.Join(dir, "data", "herald.db")
	wantReplay := fmt.Sprintf(`herald rules test --config %s '%s'`, filepath.Join(dir, "herald.toml"), filepath.Join(dir, "*_System_Scheduler.txt"))
	replay := ""
	if _, quoted, ok := strings.Cut(last, " replay="); ok {
		replay, _ = strconv.Unquote(quoted)
	}
	if !strings.Contains(last, wantState+" ") || replay != wantReplay {
		t.Errorf("the log's last line is\n%s\nwant one with\n%s\nreplay=%q", last, wantState, wantReplay)
	}

	// A second run resumes where the first stopped and prints nothing.
	cmd = exec.CommandContext(ctx, heraldBin, "run", "--once", "--config", filepath.Join(dir, "herald.toml"))
	stdout.Reset()
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("second run: %v\n%s", err, stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("second run printed alerts again:\n%s", stdout.String())
	}
}
