package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/plugins/sdk"
	"github.com/heraldhq/herald/sinks/sinktest/fakesignl4"
)

// recorder is an HTTP endpoint that records, in arrival order, the events a
// webhook sink (or the crashsink test plugin) posts, and can refuse requests.
type recorder struct {
	*httptest.Server

	mu       sync.Mutex
	events   []sdk.Event // accepted, in arrival order
	requests int
	changed  chan struct{} // closed and replaced whenever events grows
	// status picks the answer to the nth request (1-based) carrying ev;
	// nil or 0 means 200.
	status func(n int, ev sdk.Event) int
	// accepted runs after the nth accepted event is recorded, before the
	// answer is written.
	accepted func(n int, ev sdk.Event)
}

func newRecorder(t *testing.T) *recorder {
	t.Helper()
	r := &recorder{changed: make(chan struct{})}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *recorder) serve(w http.ResponseWriter, req *http.Request) {
	var ev sdk.Event
	if err := json.NewDecoder(req.Body).Decode(&ev); err != nil {
		http.Error(w, "bad body: "+err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.requests++
	code := http.StatusOK
	if r.status != nil {
		if c := r.status(r.requests, ev); c != 0 {
			code = c
		}
	}
	if code != http.StatusOK {
		r.mu.Unlock()
		http.Error(w, http.StatusText(code), code)
		return
	}
	r.events = append(r.events, ev)
	n := len(r.events)
	close(r.changed)
	r.changed = make(chan struct{})
	accepted := r.accepted
	r.mu.Unlock()
	if accepted != nil {
		accepted(n, ev)
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"received":%d}`, n)
}

// got returns the accepted events so far.
func (r *recorder) got() []sdk.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sdk.Event(nil), r.events...)
}

// waitFor waits until done holds for the accepted events, or fails the test
// after timeout naming what it waited for.
func (r *recorder) waitFor(t *testing.T, timeout time.Duration, what string, done func([]sdk.Event) bool) []sdk.Event {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		evs, changed := append([]sdk.Event(nil), r.events...), r.changed
		r.mu.Unlock()
		if done(evs) {
			return evs
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("waited %s for %s; got %d events", timeout, what, len(evs))
		}
	}
}

// waitN waits until at least n events were accepted.
func (r *recorder) waitN(t *testing.T, n int) []sdk.Event {
	t.Helper()
	return r.waitFor(t, 30*time.Second, fmt.Sprintf("%d events", n), func(evs []sdk.Event) bool { return len(evs) >= n })
}

// crashsink builds testdata/crashsink once per test binary.
var crashsink = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "herald-crashsink")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "crashsink")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	out, err := exec.Command("go", "build", "-o", bin, "./testdata/crashsink").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building testdata/crashsink: %v\n%s", err, out)
	}
	return bin, nil
})

func crashsinkBin(t *testing.T) string {
	t.Helper()
	bin, err := crashsink()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// runOnce runs `herald run --once` and expects it to succeed.
func runOnce(t *testing.T, cfg string) {
	t.Helper()
	if _, stderr, code := runHerald(t, "run", "--once", "--config", cfg); code != 0 {
		t.Fatalf("herald run --once exited %d:\n%s", code, stderr)
	}
}

// webhookConfig is a herald.toml that tails *_System_Scheduler.txt from the
// beginning and posts to url with the webhook sink. extra is appended.
func webhookConfig(url, extra string) string {
	return fmt.Sprintf(tailPreamble(`host = "node-under-test"`)+`
[[sink]]
name = "hook"
plugin = "webhook"
%s
[sink.config]
url = "%s/alerts"
`, extra, url)
}

const packs = "\n[rules]\npacks = [\"qliksense\"]\n"

func fail(l *qlikLog, task int, exec string) {
	l.row("INFO", taskSession, "Execution State Change to FinishedFail", task, exec)
}

func succeed(l *qlikLog, task int, exec string) {
	l.row("INFO", taskSession, "Execution State Change to FinishedSuccess", task, exec)
}

// TestDeliveryThroughOutage: a receiver answers 503 to the first requests
// and then recovers. Every event arrives exactly once, and the events of one
// task in the order they were raised: firing before resolved.
func TestDeliveryThroughOutage(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses SIGTERM")
	}
	dir := t.TempDir()
	rcv := newRecorder(t)
	const refusals = 9 // not a multiple of a batch: part of a batch gets through
	rcv.status = func(n int, _ sdk.Event) int {
		if n <= refusals {
			return http.StatusServiceUnavailable
		}
		return 0
	}
	log := newQlikLog(t, filepath.Join(dir, "QS-NODE1_System_Scheduler.txt"))
	// Tasks 1-6 fail, then all succeed; task 7 fails. The outbox holds the six
	// firings, the six resolutions, then task 7's firing.
	for task := 1; task <= 6; task++ {
		fail(log, task, fmt.Sprintf("exec-%d-a", task))
	}
	for task := 1; task <= 6; task++ {
		succeed(log, task, fmt.Sprintf("exec-%d-b", task))
	}
	fail(log, 7, "exec-7-a")
	agent := startAgent(t, writeConfig(t, dir, webhookConfig(rcv.URL, "")+packs))

	evs := rcv.waitN(t, 13)
	agent.stop(t)

	type seen struct{ firing, resolved int }
	order := map[string]*seen{}
	ids := map[string]bool{}
	for i, ev := range evs {
		if ids[ev.ID] {
			t.Errorf("event %s (%s %s) delivered twice", ev.ID, ev.Status, ev.Key)
		}
		ids[ev.ID] = true
		s := order[ev.Key]
		if s == nil {
			s = &seen{-1, -1}
			order[ev.Key] = s
		}
		switch ev.Status {
		case sdk.StatusFiring:
			s.firing = i
		case sdk.StatusResolved:
			s.resolved = i
		}
	}
	for task := 1; task <= 7; task++ {
		s := order[taskID(task)]
		switch {
		case s == nil || s.firing < 0:
			t.Errorf("task %d: firing not delivered", task)
		case task <= 6 && s.resolved < 0:
			t.Errorf("task %d: resolution not delivered", task)
		case task <= 6 && s.resolved < s.firing:
			t.Errorf("task %d: resolution delivered (#%d) before its firing (#%d)", task, s.resolved, s.firing)
		case task == 7 && s.resolved >= 0:
			t.Errorf("task 7 never succeeded but a resolution was delivered")
		}
	}
	if len(evs) != 13 {
		t.Errorf("got %d events, want 13 (7 firings, 6 resolutions)", len(evs))
	}
	if !strings.Contains(agent.stderr.String(), "sink could not take events now; retrying") {
		t.Errorf("agent log does not say it is retrying:\n%s", agent.stderr.String())
	}
	rcv.mu.Lock()
	requests := rcv.requests
	rcv.mu.Unlock()
	if requests < refusals+13 {
		t.Errorf("receiver saw %d requests, want at least %d (%d refused, 13 accepted)", requests, refusals+13, refusals)
	}
}

// TestResolvedAcrossRestart: a failure before a restart is resolved by the
// success after it. SIGNL4 closes the alert the firing raised, and a sink that
// returns references gets the firing's reference back with the resolution.
func TestResolvedAcrossRestart(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses SIGTERM")
	}
	dir := t.TempDir()
	fake := fakesignl4.New(fakesignl4.Options{Secrets: []string{"team-secret"}})
	s4 := httptest.NewServer(fake)
	t.Cleanup(s4.Close)
	rcv := newRecorder(t)
	cfg := writeConfig(t, dir, fmt.Sprintf(tailPreamble("")+`
[[sink]]
name = "pager"
plugin = "signl4"
[sink.config]
url = "%s/webhook/team-secret"

[[sink]]
name = "refs"
plugin = %q
[sink.config]
url = "%s/events"
refs = true
`, s4.URL, crashsinkBin(t), rcv.URL)+packs)
	log := newQlikLog(t, filepath.Join(dir, "QS-NODE1_System_Scheduler.txt"))

	agent := startAgent(t, cfg)
	fail(log, 1, "exec-1")
	firing := rcv.waitN(t, 1)[0]
	assertEvent(t, firing, "qlik-reload-failed", sdk.StatusFiring, taskID(1), nil)
	waitAlert(t, fake, taskID(1), fakesignl4.StatusNew)
	agent.stop(t)

	succeed(log, 1, "exec-2")
	agent = startAgent(t, cfg)
	resolved := rcv.waitN(t, 2)[1]
	assertEvent(t, resolved, "qlik-reload-failed", sdk.StatusResolved, taskID(1), nil)
	if want := "ref-" + firing.ID; resolved.Ref != want {
		t.Errorf("resolution after the restart carries ref %q, want the firing's %q", resolved.Ref, want)
	}
	a := waitAlert(t, fake, taskID(1), fakesignl4.StatusClosed)
	agent.stop(t)
	if n := len(fake.Alerts()); n != 1 {
		t.Errorf("SIGNL4 has %d alerts, want the one the firing raised: %+v", n, fake.Alerts())
	}
	if a.Title == "" || !strings.Contains(a.Title, "Reload task 1") {
		t.Errorf("SIGNL4 alert title %q does not name the task", a.Title)
	}
}

// waitAlert waits until the fake SIGNL4 has an alert with externalID in status.
func waitAlert(t *testing.T, fake *fakesignl4.Server, externalID string, status int) fakesignl4.Alert {
	t.Helper()
	return waitFor(t, fmt.Sprintf("SIGNL4 alert %s in status %d", externalID, status), func() (fakesignl4.Alert, bool) {
		a, ok := fake.Alert(externalID)
		return a, ok && a.StatusCode == status
	})
}

// TestRateLimitAcrossRestarts: the rate-limit window and the count of
// suppressed repeats survive restarts. A repeat within the window after a
// restart is held back; the next delivered event of the key reports it.
func TestRateLimitAcrossRestarts(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses SIGTERM")
	}
	dir := t.TempDir()
	rcv := newRecorder(t)
	if err := os.WriteFile(filepath.Join(dir, "limited.toml"), []byte(`
[[rule]]
id = "task-failed"
inputs = ["scheduler"]
when = 'Logger == "System.Scheduler.Scheduler.Master.Task.TaskSession" && Message startsWith "Execution State Change to FinishedFail"'
key = 'TaskId'
dedup = 'ExecutionId'
title = '"Reload failed: " + TaskName'
message = '"Task " + TaskName + " failed (" + ExecutionId + ")."'
rate_limit = "10s"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, dir, webhookConfig(rcv.URL, "")+"\n[rules]\nfiles = [\"limited.toml\"]\n")
	log := newQlikLog(t, filepath.Join(dir, "QS-NODE1_System_Scheduler.txt"))

	// 06:00:41: the first failure goes out.
	agent := startAgent(t, cfg)
	fail(log, 1, "exec-1")
	first := rcv.waitN(t, 1)[0]
	if first.Message != "Task Reload task 1 failed (exec-1)." {
		t.Errorf("first message = %q", first.Message)
	}
	agent.stop(t)

	// 06:00:42, after a restart, within the 10s window: held back. --once
	// drains the outbox before it exits, so anything raised would be here.
	fail(log, 1, "exec-2")
	runOnce(t, cfg)
	if evs := rcv.got(); len(evs) != 1 {
		t.Fatalf("the repeat within the window after a restart was delivered: %+v", evs[1:])
	}

	// 06:00:56, after another restart, outside the window: delivered, with the
	// count of what was held back.
	log.seq = 115
	fail(log, 1, "exec-3")
	agent = startAgent(t, cfg)
	third := rcv.waitN(t, 2)[1]
	agent.stop(t)
	want := "Task Reload task 1 failed (exec-3).\n(1 more since 2026-11-22 06:00:42 +0100)"
	if third.Message != want {
		t.Errorf("event after the window:\n got %q\nwant %q", third.Message, want)
	}
	if n := len(rcv.got()); n != 2 {
		t.Errorf("receiver got %d events, want 2", n)
	}
}

// TestDedupAcrossFilesAndRestarts: the outcome of one execution seen in
// several files (two scheduler nodes writing the same TaskSession lines), in
// one run or after a restart, is one alert.
func TestDedupAcrossFilesAndRestarts(t *testing.T) {
	dir := t.TempDir()
	rcv := newRecorder(t)
	cfg := writeConfig(t, dir, webhookConfig(rcv.URL, "")+packs)
	node := func(name string) *qlikLog {
		l := newQlikLog(t, filepath.Join(dir, name+"_System_Scheduler.txt"))
		l.row("INFO", taskSession, "Max retries reached", 1, "exec-1")
		fail(l, 1, "exec-1")
		return l
	}

	node("QS-NODE1")
	node("QS-NODE2")
	runOnce(t, cfg)
	evs := rcv.got()
	if len(evs) != 1 {
		t.Fatalf("one execution's outcome in two files raised %d events, want 1: %+v", len(evs), evs)
	}
	assertEvent(t, evs[0], "qlik-reload-failed", sdk.StatusFiring, taskID(1), map[string]string{"ExecutionId": "exec-1"})

	// After a restart a third file repeats it, next to a new failure.
	node3 := node("QS-NODE3")
	fail(node3, 2, "exec-2")
	runOnce(t, cfg)
	evs = rcv.got()
	if len(evs) != 2 {
		t.Fatalf("after the restart got %d events in all, want 2 (task 1 once, task 2): %+v", len(evs), evs)
	}
	assertEvent(t, evs[1], "qlik-reload-failed", sdk.StatusFiring, taskID(2), nil)
}

// TestOutboxCommand drives `herald outbox` against a real state file: a
// rejected event is a dead letter, a refused one stays pending, both are
// listed, retried and dropped, and a running agent is named as the reason the
// state cannot be read.
func TestOutboxCommand(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses SIGTERM")
	}
	dir := t.TempDir()
	rcv := newRecorder(t)
	var mu sync.Mutex
	down, sent1 := true, false
	// A refusal of task 3 after task 1 was sent means the batch that carried
	// task 1 was answered and recorded: the dispatcher sends one batch at a
	// time.
	settled := make(chan struct{}, 100)
	rcv.status = func(_ int, ev sdk.Event) int {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case ev.Key == taskID(1):
			sent1 = true
		case ev.Key == taskID(2) && down:
			return http.StatusBadRequest
		case ev.Key == taskID(3) && down:
			if sent1 {
				settled <- struct{}{}
			}
			return http.StatusServiceUnavailable
		}
		return 0
	}
	cfg := writeConfig(t, dir, webhookConfig(rcv.URL, "")+packs)
	log := newQlikLog(t, filepath.Join(dir, "QS-NODE1_System_Scheduler.txt"))
	outbox := func(wantCode int, args ...string) string {
		t.Helper()
		stdout, stderr, code := runHerald(t, append([]string{"outbox", "--config", cfg}, args...)...)
		if code != wantCode {
			t.Fatalf("herald outbox %s exited %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, wantCode, stdout, stderr)
		}
		return stdout + stderr
	}

	if out := outbox(0); !strings.Contains(out, "nothing queued: no state file") {
		t.Errorf("before the first run:\n%s", out)
	}

	agent := startAgent(t, cfg)
	fail(log, 2, "exec-2") // rejected: a dead letter
	fail(log, 3, "exec-3") // refused: stays pending
	fail(log, 1, "exec-1") // accepted
	select {
	case <-settled:
	case <-time.After(30 * time.Second):
		t.Fatal("task 3 was not retried after task 1 was delivered within 30s")
	}
	if out := outbox(1); !strings.Contains(out, "the agent is running (state file ") ||
		!strings.Contains(out, "is locked): stop it") {
		t.Errorf("outbox while the agent runs:\n%s", out)
	}
	agent.stop(t)

	list := outbox(0)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^hook: 1 pending, 1 dead$`),
		regexp.MustCompile(`(?m)^SINK +SEQ +STATE +AGE +ATTEMPTS +RULE +STATUS +KEY +TITLE +ERROR$`),
		regexp.MustCompile(`(?m)^hook +\d+ +pending +\S+ +[1-9]\d* +qlik-reload-failed +firing +` + taskID(3) +
			` +Qlik Sense reload failed: Reload task 3 +HTTP 503 Service Unavailable`),
		regexp.MustCompile(`(?m)^hook +\d+ +dead +\S+ +0 +qlik-reload-failed +firing +` + taskID(2) +
			` +Qlik Sense reload failed: Reload task 2 +HTTP 400 Bad Request`),
	} {
		if !want.MatchString(list) {
			t.Errorf("outbox list lacks %s:\n%s", want, list)
		}
	}
	seqs := map[string]outboxRow{}
	for _, line := range strings.Split(strings.TrimSpace(outbox(0, "list", "--json")), "\n") {
		var r outboxRow
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("outbox list --json line %q: %v", line, err)
		}
		seqs[r.State+" "+r.Event.Key] = r
	}
	pending, ok1 := seqs["pending "+taskID(3)]
	dead, ok2 := seqs["dead "+taskID(2)]
	if !ok1 || !ok2 || len(seqs) != 2 || dead.Reason == "" || pending.LastError == "" || pending.Event.ID == "" {
		t.Fatalf("outbox list --json = %+v", seqs)
	}
	if out := outbox(0, "list", "--dead"); !strings.Contains(out, "hook: 1 dead\n") || strings.Contains(out, taskID(3)) {
		t.Errorf("outbox list --dead shows more than the dead letter:\n%s", out)
	}

	// Usage errors change nothing and exit 2.
	for _, args := range [][]string{
		{"drop", "--sink", "hook"},
		{"drop", "--all"},
		{"drop", "--sink", "hook", "--all", "1"},
		{"drop", "--sink", "hook", "one"},
		{"drop", "--sink", "nosuch", "--all"},
		{"retry", "--sink", "hook", fmt.Sprint(pending.Seq)}, // pending, not dead
		{"list", "extra"},
		{"frobnicate"},
		{"list", "--no-such-flag"},
	} {
		outbox(2, args...)
	}
	if out := outbox(2, "retry", "--sink", "hook", "999"); !strings.Contains(out, "hook: no dead letters 999") {
		t.Errorf("retry of a missing dead letter:\n%s", out)
	}

	// Retry the dead letter, drop the pending event.
	if out := outbox(0, "retry", "--sink", "hook", "--all"); !strings.Contains(out, "hook: moved 1 dead letters back to the outbox") {
		t.Errorf("retry:\n%s", out)
	}
	if out := outbox(0, "drop", "--sink", "hook", fmt.Sprint(pending.Seq)); !strings.Contains(out, "hook: dropped 1 pending events") {
		t.Errorf("drop:\n%s", out)
	}
	list = outbox(0, "list", "--json")
	var revived outboxRow
	if err := json.Unmarshal([]byte(list), &revived); err != nil || strings.Count(list, "\n") != 1 ||
		revived.State != "pending" || revived.Event.ID != dead.Event.ID || revived.Seq <= pending.Seq {
		t.Fatalf("after retry and drop, want only task 2 pending under a new sequence number:\n%s", list)
	}

	// The receiver is fixed: the next run delivers the revived event only.
	mu.Lock()
	down = false
	mu.Unlock()
	runOnce(t, cfg)
	evs := rcv.got()
	if len(evs) != 2 || evs[1].ID != dead.Event.ID {
		t.Fatalf("after the retry the agent delivered %+v, want task 1 then the revived task 2", evs)
	}
	if out := outbox(0); !strings.Contains(out, "hook: 0 pending, 0 dead") || strings.Contains(out, "SEQ") {
		t.Errorf("outbox after delivery:\n%s", out)
	}
	if out := outbox(0, "drop", "--sink", "hook", "--dead", "--all"); !strings.Contains(out, "hook: dropped 0 dead letters") {
		t.Errorf("drop --dead --all with nothing dead:\n%s", out)
	}
}

// TestCorruptStateFile: a damaged state file stops start-up (and herald
// outbox) with a message naming the file and how to recover; moving it aside
// recovers.
func TestCorruptStateFile(t *testing.T) {
	dir := t.TempDir()
	rcv := newRecorder(t)
	cfg := writeConfig(t, dir, webhookConfig(rcv.URL, "")+packs)
	db := filepath.Join(dir, "state", "herald.db")
	if err := os.MkdirAll(filepath.Dir(db), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(db, bytes.Repeat([]byte("not a bbolt file "), 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	log := newQlikLog(t, filepath.Join(dir, "QS-NODE1_System_Scheduler.txt"))
	fail(log, 1, "exec-1")

	for _, args := range [][]string{{"run", "--once", "--config", cfg}, {"outbox", "--config", cfg}} {
		_, stderr, code := runHerald(t, args...)
		if code != 1 || !strings.Contains(stderr, "state file is corrupt: cannot read "+db) ||
			!strings.Contains(stderr, "move the file aside") {
			t.Errorf("herald %s with a corrupt state file: exit %d\n%s", args[0], code, stderr)
		}
	}
	if len(rcv.got()) != 0 {
		t.Fatal("the agent delivered with a corrupt state file")
	}

	if err := os.Rename(db, db+".broken"); err != nil {
		t.Fatal(err)
	}
	runOnce(t, cfg)
	if evs := rcv.got(); len(evs) != 1 || evs[0].Key != taskID(1) {
		t.Errorf("after moving the file aside got %+v, want task 1's alert", evs)
	}
}

// TestRefOfResolutionQueuedBehindNewFiring: a task fails (delivered, the sink
// returns a reference), succeeds and fails again while the sink is down. The
// queued resolution belongs to the first alert and must carry its reference,
// although the second failure has opened a new alert of the same key by the
// time it is sent.
func TestRefOfResolutionQueuedBehindNewFiring(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses SIGTERM")
	}
	dir := t.TempDir()
	rcv := newRecorder(t)
	var mu sync.Mutex
	down := false
	rcv.status = func(int, sdk.Event) int {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return http.StatusServiceUnavailable
		}
		return 0
	}
	cfg := writeConfig(t, dir, fmt.Sprintf(tailPreamble("")+`
[[sink]]
name = "refs"
plugin = %q
[sink.config]
url = "%s/events"
refs = true
`, crashsinkBin(t), rcv.URL)+packs+`
[server]
listen = "127.0.0.1:0"
`)
	log := newQlikLog(t, filepath.Join(dir, "QS-NODE1_System_Scheduler.txt"))
	fail(log, 1, "exec-1")
	runOnce(t, cfg)
	firing := rcv.waitN(t, 1)[0]

	mu.Lock()
	down = true
	mu.Unlock()
	succeed(log, 1, "exec-2")
	fail(log, 1, "exec-3")
	agent := startAgent(t, cfg)
	// Both are queued once the outbox holds two events. (The refused
	// resolution is all that is sent meanwhile: a batch carries one event
	// per alert key, so it says nothing about the new firing.)
	waitMetric(t, agent, `herald_outbox_depth{sink="refs"} 2`+"\n")
	agent.stop(t)
	stdout, _, _ := runHerald(t, "outbox", "--config", cfg, "--json")
	if n := strings.Count(stdout, "\n"); n != 2 {
		t.Fatalf("want the resolution and the new firing queued, got:\n%s", stdout)
	}

	mu.Lock()
	down = false
	mu.Unlock()
	runOnce(t, cfg)
	evs := rcv.got()
	if len(evs) != 3 {
		t.Fatalf("got %d events, want firing, resolution, firing: %+v", len(evs), evs)
	}
	assertEvent(t, evs[1], "qlik-reload-failed", sdk.StatusResolved, taskID(1), nil)
	if want := "ref-" + firing.ID; evs[1].Ref != want {
		t.Errorf("the resolution of the first alert carries ref %q, want the first firing's %q", evs[1].Ref, want)
	}
	if evs[2].Ref != "" {
		t.Errorf("the second alert's firing carries ref %q from the first alert", evs[2].Ref)
	}
}
