package main

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/heraldhq/herald/agent"
	"github.com/heraldhq/herald/agent/state"
	"github.com/heraldhq/herald/bench/qlikgen"
	"github.com/heraldhq/herald/plugins/sdk"
)

// crashSeed picks the kill points of TestSIGKILLWhileCatchingUp; set
// HERALD_CRASH_SEED to replay a failure.
func crashSeed(t *testing.T) uint64 {
	if s := os.Getenv("HERALD_CRASH_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("HERALD_CRASH_SEED=%q: %v", s, err)
		}
		return n
	}
	return 20261122
}

// TestSIGKILLWhileCatchingUp kills the agent with SIGKILL again and again while
// it catches up on a large scheduler log with 1% failed reloads, restarting it
// each time. Every alert must reach the receiver; an alert may arrive twice
// only if it was in the batch in flight when the agent was killed, and it is
// never raised twice (one event id per task).
func TestSIGKILLWhileCatchingUp(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses SIGKILL and SIGTERM")
	}
	const (
		// 20,000 lines keep the test under a minute with -race on two cores
		// even when catch-up commits its state about once per line (an
		// unbuffered tailer: ~1,000 lines/s). Once lines reach the pipeline
		// in batches, 100,000 lines (the figure) take about 11s.
		lines     = 100_000
		batchSize = 10
		kills     = 6
	)
	seed := crashSeed(t)
	rnd := rand.New(rand.NewPCG(seed, 0))

	dir := t.TempDir()
	logPath := filepath.Join(dir, "QS-NODE1_System_Scheduler.txt")
	want, size := writeGeneratedLog(t, logPath, lines)
	if len(want) != lines/qlikgen.AlertEvery {
		t.Fatalf("generated %d alerts, want %d", len(want), lines/qlikgen.AlertEvery)
	}

	// Kill when the receiver takes its nth event, from inside the request:
	// the plugin is then in the middle of a batch, the worst moment. Events
	// can still arrive between a kill and the restart (from the dying
	// plugin), so a kill point is a threshold: the first event at or past it
	// while an agent runs.
	// Half of them early, while the log is still being read.
	points := map[int]bool{}
	for len(points) < kills {
		limit := len(want) * 9 / 10
		if len(points) < kills/2 {
			limit = len(want) / 7
		}
		points[1+rnd.IntN(limit)] = true
	}
	thresholds := slices.Sorted(maps.Keys(points))
	var mu sync.Mutex
	var running *agentProc
	killed := make(chan int, kills)
	rcv := newRecorder(t)
	rcv.accepted = func(n int, _ sdk.Event) {
		mu.Lock()
		defer mu.Unlock()
		if running == nil || len(thresholds) == 0 || n < thresholds[0] {
			return
		}
		if err := running.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Errorf("kill the agent: %v", err)
		}
		running, thresholds = nil, thresholds[1:]
		killed <- n
	}
	cfg := writeConfig(t, dir, webhookConfig(rcv.URL, fmt.Sprintf("batch_size = %d", batchSize))+packs)
	statePath := agent.StatePath(filepath.Join(dir, "state"))

	start := time.Now()
	for k := range kills {
		p := startAgent(t, cfg)
		mu.Lock()
		running = p
		mu.Unlock()
		var at int
		select {
		case at = <-killed:
		case err := <-p.done:
			t.Fatalf("agent exited by itself before kill %d: %v\n%s", k+1, err, p.stderr.String())
		case <-time.After(60 * time.Second):
			t.Fatalf("kill %d: the receiver did not reach a kill point within 60s (has %d events)", k+1, len(rcv.got()))
		}
		<-p.done
		read, depth := inspectState(t, statePath)
		t.Logf("kill %d at receiver event %d: log read to byte %d of %d (%.0f%%), %d events queued",
			k+1, at, read, size, 100*float64(read)/float64(size), depth)
	}

	p := startAgent(t, cfg)
	evs := rcv.waitFor(t, 60*time.Second, "every alert", func(evs []sdk.Event) bool {
		keys := map[string]bool{}
		for _, ev := range evs {
			keys[ev.Key] = true
		}
		for key := range want {
			if !keys[key] {
				return false
			}
		}
		return true
	})
	p.stop(t)
	t.Logf("seed %d: %d kills, %d lines (%d bytes), %d alerts, %d events received in %s",
		seed, kills, lines, size, len(want), len(evs), time.Since(start).Round(time.Millisecond))

	// Exactly one event id per task: a line read again after a kill never
	// raised its alert a second time.
	idOf := map[string]string{}
	copies := map[string]int{}
	for _, ev := range evs {
		if !want[ev.Key] || ev.Rule != "qlik-reload-failed" || ev.Status != sdk.StatusFiring {
			t.Errorf("unexpected event %s %s %s", ev.Rule, ev.Status, ev.Key)
			continue
		}
		if id, ok := idOf[ev.Key]; ok && id != ev.ID {
			t.Errorf("task %s raised twice: events %s and %s", ev.Key, id, ev.ID)
		}
		idOf[ev.Key] = ev.ID
		copies[ev.ID]++
	}
	dups := len(evs) - len(copies)
	t.Logf("duplicates: %d (bound: %d kills × batch size %d = %d)", dups, kills, batchSize, kills*batchSize)
	if dups > kills*batchSize {
		t.Errorf("%d duplicate deliveries, more than the %d batches in flight at the kills could carry", dups, kills)
	}
	if most := slices.Max(slices.Collect(maps.Values(copies))); most > 2 {
		// Possible when a kill lands while the batch cut short by the
		// previous kill is re-sent; worth seeing, not wrong.
		t.Logf("an event was delivered %d times", most)
	}
	if _, depth := inspectState(t, statePath); depth != 0 {
		t.Errorf("%d events still queued after every alert was delivered", depth)
	}
}

// writeGeneratedLog writes a Qlik scheduler log of n rows with qlikgen and
// returns the TaskIds of its failed reloads and the file's size.
func writeGeneratedLog(t *testing.T, path string, n int) (map[string]bool, int64) {
	t.Helper()
	g := qlikgen.New(qlikgen.Options{Seed: 1})
	buf := g.AppendHeader(nil)
	want := map[string]bool{}
	for i := range n {
		if i%qlikgen.AlertEvery == qlikgen.AlertEvery-1 {
			var a qlikgen.Alert
			buf, a = g.AppendAlert(buf)
			want[a.TaskID] = true
			continue
		}
		buf, _ = g.AppendRow(buf)
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	return want, int64(len(buf))
}

// inspectState opens the state file of a stopped agent and returns how far the
// log was read and how many events are queued.
func inspectState(t *testing.T, path string) (read int64, depth int) {
	t.Helper()
	s, err := state.Open(path, state.Options{})
	if err != nil {
		t.Fatalf("state after the agent stopped: %v", err)
	}
	defer s.Close()
	if err := s.View(func(tx *state.Tx) error {
		for _, p := range tx.Positions() {
			read += p.Offset
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sinks, err := s.Sinks()
	if err != nil {
		t.Fatal(err)
	}
	for _, sink := range sinks {
		n, err := s.Depth(sink)
		if err != nil {
			t.Fatal(err)
		}
		depth += n
	}
	return read, depth
}

// TestCrashingPluginRestarted: a third-party sink plugin that exits in the
// middle of a batch is restarted, the agent says so in its log, and every
// event arrives; the only repeats are events of a batch cut short by a crash.
func TestCrashingPluginRestarted(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses SIGTERM")
	}
	const crashEvery, batchSize = 4, 3
	dir := t.TempDir()
	rcv := newRecorder(t)
	cfg := writeConfig(t, dir, fmt.Sprintf(tailPreamble("")+`
[[sink]]
name = "flaky"
plugin = %q
batch_size = %d
[sink.config]
url = "%s/events"
crash_every = %d
`, crashsinkBin(t), batchSize, rcv.URL, crashEvery)+packs)
	log := newQlikLog(t, filepath.Join(dir, "QS-NODE1_System_Scheduler.txt"))
	for task := 1; task <= 8; task++ {
		fail(log, task, fmt.Sprintf("exec-%d", task))
	}
	for task := 1; task <= 4; task++ {
		succeed(log, task, fmt.Sprintf("exec-%d-ok", task))
	}
	agent := startAgent(t, cfg)
	evs := rcv.waitFor(t, 60*time.Second, "8 firings and 4 resolutions", func(evs []sdk.Event) bool {
		return len(distinct(evs)) == 12
	})
	agent.stop(t)

	// Per task, in the order raised; repeats only right after a crash point.
	first := map[string]int{}
	for i, ev := range evs {
		k := string(ev.Status) + " " + ev.Key
		if _, ok := first[k]; !ok {
			first[k] = i
		}
	}
	for task := 1; task <= 4; task++ {
		f, r := first["firing "+taskID(task)], first["resolved "+taskID(task)]
		if r < f {
			t.Errorf("task %d resolved (#%d) before it fired (#%d)", task, r, f)
		}
	}
	// The plugin crashed at every crashEvery-th event the receiver took. The
	// agent restarted it after each crash but perhaps the last (it may have
	// been stopped first).
	got := len(rcv.got())
	crashes := got / crashEvery
	if dups := got - 12; dups > crashes*batchSize {
		t.Errorf("%d repeats after %d crashes; a batch cut short carries at most %d", dups, crashes, batchSize)
	}
	stderr := agent.stderr.String()
	restarts := strings.Count(stderr, "sink plugin restarted")
	exits := strings.Count(stderr, "plugin exited; restarting")
	t.Logf("%d events received, 12 distinct, %d crashes, %d restarts logged", got, crashes, restarts)
	if crashes < 2 || restarts < (got-1)/crashEvery || restarts > crashes || exits < restarts {
		t.Errorf("the plugin crashed %d times but the log reports %d exits and %d restarts:\n%s", crashes, exits, restarts, stderr)
	}
	if !bytes.Contains([]byte(stderr), []byte("crashsink: crashing after event")) {
		t.Errorf("the plugin's last words are not in the agent's log:\n%s", stderr)
	}
}

// distinct returns the distinct event ids of evs, sorted.
func distinct(evs []sdk.Event) []string {
	var ids []string
	for _, ev := range evs {
		ids = append(ids, ev.ID)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}
