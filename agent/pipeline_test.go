package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/agent/metrics"
	"github.com/heraldhq/herald/agent/state"
	"github.com/heraldhq/herald/bench/qlikgen"
	"github.com/heraldhq/herald/plugins/sdk"
)

// The pipeline tests run one file input against a real state file, without
// sink processes: what a sink would be sent is read from its outbox.

const pipelineSink = "out"

// qlikHeader is a Qlik scheduler header with only the columns the test rules read.
const qlikHeader = "Sequence#\tTimestamp\tLevel\tTaskName\tMessage\r\n"

// testRules fire an alert per failed task and resolve it when the task succeeds.
const testRules = `
[[rule]]
id = "task-failed"
when = 'Level == "ERROR"'
key = 'TaskName'
title = '"failed: " + TaskName'
message = 'Message'

[[rule]]
id = "task-ok"
when = 'Level == "INFO" && Message == "ok"'
key = 'TaskName'
resolves = ["task-failed"]
`

// row is one complete record of the test log.
func row(seq int, level, task, msg string) string {
	return fmt.Sprintf("%d\t20261122T060000.%03d+0100\t%s\t%s\t%s\r\n", seq, seq%1000, level, task, msg)
}

// pipelineEnv is an agent with one qlik file input and one sink, its state,
// and what the pipeline reports while it runs.
type pipelineEnv struct {
	tb      testing.TB
	log     string // the followed file
	agent   *Agent
	store   *state.Store
	metrics *metrics.Metrics
	caps    map[string]int
	pace    pacing
	// notified receives the sink name of every committed batch that queued
	// events; its buffer is large enough that commits never wait for the test.
	notified chan string
	signals  *logSignals
}

func newPipelineEnv(tb testing.TB, rulesTOML, rulesFiles, packs string) *pipelineEnv {
	tb.Helper()
	dir := tb.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.toml"), []byte(rulesTOML), 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "logs"), 0o750); err != nil {
		tb.Fatal(err)
	}
	text := fmt.Sprintf(`
[agent]
data_dir = "state"
host = "node1"

[[input]]
name = "scheduler"
paths = ["logs/*.txt"]
parser = "qlik"
start_at = "beginning"
poll_interval = "50ms"

[[sink]]
name = %q
plugin = "webhook"
[sink.config]
url = "http://127.0.0.1:1/hook"

[rules]
files = [%s]
packs = [%s]
`, pipelineSink, rulesFiles, packs)
	cfg, err := config.Parse(filepath.Join(dir, "herald.toml"), []byte(text), func(string) (string, bool) { return "", false })
	if err != nil {
		tb.Fatal(err)
	}
	signals := &logSignals{waiting: map[string]chan struct{}{}}
	a, err := Load(cfg, Options{Executable: os.Args[0], Logger: slog.New(signals),
		Now: func() time.Time { return time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC) }})
	if err != nil {
		tb.Fatal(err)
	}
	store, err := state.Open(StatePath(a.cfg.Agent.DataDir), state.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	return &pipelineEnv{
		tb: tb, log: filepath.Join(dir, "logs", "NODE1_System_Scheduler.txt"),
		agent: a, store: store, metrics: metrics.New(prometheus.NewRegistry()),
		notified: make(chan string, 1<<16), signals: signals,
	}
}

// newTestEnv is a pipelineEnv with testRules.
func newTestEnv(t *testing.T) *pipelineEnv {
	return newPipelineEnv(t, testRules, `"rules.toml"`, "")
}

func (e *pipelineEnv) pipeline(once bool) *pipeline {
	in := e.agent.inputs[0]
	return &pipeline{agent: e.agent, in: in, store: e.store, once: once, metrics: e.metrics,
		im: e.metrics.Input(in.cfg.Name), caps: e.caps, pace: e.pace, notify: func(sink string) { e.notified <- sink }}
}

// start runs the pipeline until ctx ends (or, once, until the file is read);
// its error arrives on the returned channel.
func (e *pipelineEnv) start(ctx context.Context, once bool) <-chan error {
	done := make(chan error, 1)
	p := e.pipeline(once)
	go func() { done <- p.run(ctx) }()
	return done
}

func (e *pipelineEnv) write(text string) {
	e.tb.Helper()
	f, err := os.OpenFile(e.log, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		e.tb.Fatal(err)
	}
	if _, err := f.WriteString(text); err != nil {
		e.tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		e.tb.Fatal(err)
	}
}

// saved is what the state holds for the followed file, read in one
// transaction: its position and the alerts.
type saved struct {
	offset int64
	alerts map[string]state.Alert // by key
}

func (e *pipelineEnv) saved() saved {
	e.tb.Helper()
	s := saved{alerts: map[string]state.Alert{}}
	err := e.store.View(func(tx *state.Tx) error {
		for _, p := range tx.Positions() {
			s.offset = p.Offset
		}
		for _, a := range tx.Alerts(nil) {
			s.alerts[a.Key] = a
		}
		return nil
	})
	if err != nil {
		e.tb.Fatal(err)
	}
	return s
}

// events returns the events queued for the sink, in outbox order, as
// "status key" strings.
func (e *pipelineEnv) events() []string {
	e.tb.Helper()
	entries, err := e.store.Pending(pipelineSink, 0)
	if err != nil {
		e.tb.Fatal(err)
	}
	out := make([]string, len(entries))
	for i, en := range entries {
		out[i] = string(en.Event.Status) + " " + en.Event.Key
	}
	return out
}

// waitEvent waits until a commit queues an event.
func (e *pipelineEnv) waitEvent() {
	e.tb.Helper()
	select {
	case <-e.notified:
	case <-time.After(30 * time.Second):
		e.tb.Fatal("no event was committed within 30s")
	}
}

// waitRun waits for a pipeline to return.
func waitRun(tb testing.TB, done <-chan error) error {
	tb.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		tb.Fatal("the pipeline did not return within 30s")
		return nil
	}
}

// logSignals is a slog handler that signals the log messages a test waits for.
type logSignals struct {
	mu      sync.Mutex
	waiting map[string]chan struct{}
}

// on returns a channel that receives a value whenever msg is logged (values
// are not queued: one waiting is enough).
func (l *logSignals) on(msg string) <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := make(chan struct{}, 1)
	l.waiting[msg] = c
	return c
}

func (l *logSignals) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case l.waiting[r.Message] <- struct{}{}:
	default:
	}
	return nil
}

func (l *logSignals) Enabled(context.Context, slog.Level) bool { return true }
func (l *logSignals) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logSignals) WithGroup(string) slog.Handler            { return l }

// TestPipelineOnce reads a file to its end, commits everything it raised,
// including a last record still waiting for continuation lines, and returns.
func TestPipelineOnce(t *testing.T) {
	e := newTestEnv(t)
	text := qlikHeader + row(1, "ERROR", "a", "boom") + row(2, "INFO", "x", "noise") + row(3, "ERROR", "b", "boom") +
		"4\t20261122T060000.004+0100\tERROR\tc" // short of a column, no line end: held, then flushed at the end
	e.write(text + "\r\n")

	if err := waitRun(t, e.start(t.Context(), true)); err != nil {
		t.Fatalf("run: %v", err)
	}
	if got, want := e.events(), []string{"firing a", "firing b", "firing c"}; !equal(got, want) {
		t.Errorf("queued events = %q, want %q", got, want)
	}
	if got, want := e.saved().offset, int64(len(text)+2); got != want {
		t.Errorf("saved position = %d, want the end of the file, %d", got, want)
	}
}

// TestPipelineOrderAcrossBatches: more matches than one batch holds are
// committed in several transactions, and what they queue keeps the log's order.
func TestPipelineOrderAcrossBatches(t *testing.T) {
	e := newTestEnv(t)
	n := maxBatchMatches + maxBatchMatches/2
	var b strings.Builder
	b.WriteString(qlikHeader)
	var want []string
	for i := range n {
		task := fmt.Sprintf("t%04d", i)
		b.WriteString(row(2*i+1, "ERROR", task, "boom"))
		want = append(want, "firing "+task)
		if i%2 == 1 { // every other task succeeds later, in a later batch
			b.WriteString(row(2*i+2, "INFO", fmt.Sprintf("t%04d", i-1), "ok"))
			want = append(want, "resolved "+fmt.Sprintf("t%04d", i-1))
		}
	}
	e.write(b.String())

	if err := waitRun(t, e.start(t.Context(), true)); err != nil {
		t.Fatalf("run: %v", err)
	}
	if got := e.events(); !equal(got, want) {
		t.Errorf("queued %d events, want %d in log order; first difference: %s", len(got), len(want), firstDiff(got, want))
	}
	if commits := len(e.notified); commits < 2 {
		t.Errorf("%d matches were committed in %d transactions, want at least 2 (a batch holds at most %d)", len(want), commits, maxBatchMatches)
	}
	s := e.saved()
	if s.offset != int64(b.Len()) {
		t.Errorf("saved position = %d, want the end of the file, %d", s.offset, b.Len())
	}
	for i := range n {
		task := fmt.Sprintf("t%04d", i)
		wantStatus := sdk.StatusFiring
		if i%2 == 0 && i+1 < n {
			wantStatus = sdk.StatusResolved
		}
		if a := s.alerts[task]; a.Status != wantStatus {
			t.Fatalf("alert %s is %q, want %q", task, a.Status, wantStatus)
		}
	}
}

// errorRows writes n failing tasks, t0000 up, and returns where each row ends.
func (e *pipelineEnv) errorRows(first, n int, size int64) (ends []int64) {
	var b strings.Builder
	for i := first; i < first+n; i++ {
		b.WriteString(row(i+1, "ERROR", fmt.Sprintf("t%04d", i), "boom"))
		ends = append(ends, size+int64(b.Len()))
	}
	e.write(b.String())
	return ends
}

// checkConsistent fails unless the saved position and the saved alerts agree:
// every row up to the position raised its alert, and no row after it did. A
// crash at any moment leaves what was saved last, so this must hold after every
// transaction.
func (e *pipelineEnv) checkConsistent(s saved, ends []int64) {
	e.tb.Helper()
	for i, end := range ends {
		task := fmt.Sprintf("t%04d", i)
		if _, ok := s.alerts[task]; ok != (end <= s.offset) {
			e.tb.Fatalf("saved position %d, but the alert of the row ending at %d is saved: %v", s.offset, end, ok)
		}
	}
}

// TestPipelinePositionsCommitWithMatches follows a backlog and checks, after
// every commit, that positions never run ahead of or behind the alerts.
func TestPipelinePositionsCommitWithMatches(t *testing.T) {
	e := newTestEnv(t)
	e.write(qlikHeader)
	ends := e.errorRows(0, 2*maxBatchMatches, int64(len(qlikHeader)))
	size := ends[len(ends)-1]
	ctx, cancel := context.WithCancel(t.Context())
	done := e.start(ctx, false)
	for {
		e.waitEvent()
		s := e.saved()
		e.checkConsistent(s, ends)
		if s.offset == size {
			break
		}
	}
	cancel()
	if err := waitRun(t, done); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("run: %v", err)
	}
}

// TestPipelineFailingCommit: a batch the store refuses (here one with an
// alert whose 900 KB key does not fit in a state file capped at 1 MiB, as on
// a full disk) is retried until ctx ends and then given up: run
// returns the cause, decoding that went on meanwhile is not saved, and the
// saved position stays before the refused row.
func TestPipelineFailingCommit(t *testing.T) {
	for _, tt := range []struct {
		name string
		once bool
	}{{"once", true}, {"follow", false}} {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			path := e.store.Path()
			if err := e.store.Close(); err != nil {
				t.Fatal(err)
			}
			// The refused row's task id alone (900 KB, in the alert's head,
			// which is not compressed) is more than the file may hold.
			store, err := state.Open(path, state.Options{MaxSize: 512 << 10})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { store.Close() })
			e.store = store
			retrying := e.signals.on("cannot save state; tailing waits and retries")
			e.write(qlikHeader)
			const bad = 100
			ends := e.errorRows(0, bad, int64(len(qlikHeader)))
			poison := row(bad+1, "ERROR", strings.Repeat("x", 900<<10), "boom")
			e.write(poison)
			// More than a batch holds after it, so decoding also waits at the bound.
			e.errorRows(bad+1, 2*maxBatchMatches, ends[bad-1]+int64(len(poison)))

			ctx, cancel := context.WithCancel(t.Context())
			done := e.start(ctx, tt.once)
			select {
			case <-retrying:
			case err := <-done:
				t.Fatalf("run returned %v before the refused commit was retried", err)
			case <-time.After(30 * time.Second):
				t.Fatal("the refused commit was not reported within 30s")
			}
			cancel()
			if err := waitRun(t, done); !errors.Is(err, context.Canceled) {
				t.Fatalf("run returned %v, want context.Canceled", err)
			}
			s := e.saved()
			if s.offset > ends[bad-1] {
				t.Errorf("saved position %d is past the start of the refused row, %d", s.offset, ends[bad-1])
			}
			e.checkConsistent(s, ends)
			if len(s.alerts) > bad {
				t.Errorf("%d alerts saved, want at most the %d before the refused row", len(s.alerts), bad)
			}
		})
	}
}

// TestPipelineLiveLine: a single line appended to a followed file is
// committed on its own, without waiting for more.
func TestPipelineLiveLine(t *testing.T) {
	e := newTestEnv(t)
	e.write(qlikHeader + row(1, "ERROR", "a", "boom"))
	ctx, cancel := context.WithCancel(t.Context())
	done := e.start(ctx, false)
	e.waitEvent()
	last := row(2, "ERROR", "b", "boom")
	e.write(last)
	e.waitEvent()
	if got, want := e.events(), []string{"firing a", "firing b"}; !equal(got, want) {
		t.Errorf("queued events = %q, want %q", got, want)
	}
	if got, want := e.saved().offset, int64(len(qlikHeader)+len(row(1, "ERROR", "a", "boom"))+len(last)); got != want {
		t.Errorf("saved position = %d, want the end of the file, %d", got, want)
	}
	cancel()
	if err := waitRun(t, done); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("run: %v", err)
	}
}

// TestPipelineIdleFlush: a record still short of columns when the file goes
// quiet is completed after a moment, and until then the saved position stays
// at its start, so a restart reads it again.
func TestPipelineIdleFlush(t *testing.T) {
	e := newTestEnv(t)
	complete := qlikHeader + row(1, "ERROR", "a", "boom")
	held := "2\t20261122T060000.002+0100\tERROR\tc\r\n" // no Message column yet
	e.write(complete + held)
	ctx, cancel := context.WithCancel(t.Context())
	done := e.start(ctx, false)
	for {
		e.waitEvent()
		s := e.saved()
		if _, ok := s.alerts["c"]; !ok {
			if s.offset != int64(len(complete)) {
				t.Fatalf("saved position = %d while the held record is not committed, want its start, %d", s.offset, len(complete))
			}
			continue
		}
		if want := int64(len(complete) + len(held)); s.offset != want {
			t.Errorf("saved position = %d after the held record was completed, want the end of the file, %d", s.offset, want)
		}
		break
	}
	if got, want := e.events(), []string{"firing a", "firing c"}; !equal(got, want) {
		t.Errorf("queued events = %q, want %q", got, want)
	}
	cancel()
	if err := waitRun(t, done); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("run: %v", err)
	}
}

// TestPipelineOutboxFull: while the sink's outbox is at its cap, reading
// pauses with at most one more batch saved; once the sink catches up (here:
// entries dropped), it resumes and nothing is lost.
func TestPipelineOutboxFull(t *testing.T) {
	e := newTestEnv(t)
	const limit = 10
	e.caps = map[string]int{pipelineSink: limit}
	paused := e.signals.on("outbox full; tailing paused until the sink catches up (nothing is dropped)")
	e.write(qlikHeader)
	n := 3 * maxBatchMatches
	e.errorRows(0, n, int64(len(qlikHeader)))

	done := e.start(t.Context(), true)
	pauses := 0
	for {
		select {
		case <-paused:
			pauses++
			// A batch holds fewer matches than there are rows, so the
			// first pause comes before the end.
			if saved := len(e.saved().alerts); pauses == 1 && saved == n {
				t.Fatalf("first paused after every alert was saved")
			}
			if depth, _ := e.store.Depth(pipelineSink); depth >= limit+maxBatchMatches {
				t.Fatalf("paused with %d events queued, want fewer than the cap plus one batch (%d)", depth, limit+maxBatchMatches)
			}
			if _, err := e.store.DropPending(pipelineSink, state.All); err != nil {
				t.Fatal(err)
			}
			continue
		case err := <-done:
			if err != nil {
				t.Fatalf("run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the pipeline did not finish within 30s")
		}
		break
	}
	if pauses == 0 {
		t.Error("reading never paused for the full outbox")
	}
	if got := len(e.saved().alerts); got != n {
		t.Errorf("%d alerts saved, want %d", got, n)
	}
}

// TestPipelineKeepsPace: reading a backlog runs at most pace.ahead events in
// front of a sink that delivers (plus the batch committed when it got below),
// and every alert is queued in the end.
func TestPipelineKeepsPace(t *testing.T) {
	e := newTestEnv(t)
	e.caps = map[string]int{pipelineSink: 1 << 20}
	e.pace = pacing{ahead: 20, patience: time.Minute}
	e.write(qlikHeader)
	n := 4 * maxBatchMatches
	e.errorRows(0, n, int64(len(qlikHeader)))
	done := e.start(t.Context(), true)

	// Deliver ten at a time, as a dispatcher does, until every alert is.
	delivered, deepest, finished := 0, 0, false
	for delivered < n {
		entries, err := e.store.Pending(pipelineSink, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) == 0 {
			select {
			case <-e.notified:
			case err := <-done:
				if err != nil {
					t.Fatalf("run: %v", err)
				}
				if finished {
					t.Fatalf("the pipeline finished with %d of %d alerts queued", delivered, n)
				}
				finished = true
			case <-time.After(30 * time.Second):
				t.Fatalf("no new events after %d of %d", delivered, n)
			}
			continue
		}
		depth, _ := e.store.Depth(pipelineSink)
		deepest = max(deepest, depth)
		var results []state.Done
		for _, en := range entries {
			results = append(results, state.Done{Seq: en.Seq, Result: sdk.Accept("")})
		}
		if err := e.store.Complete(pipelineSink, results); err != nil {
			t.Fatal(err)
		}
		delivered += len(entries)
	}
	if !finished {
		if err := waitRun(t, done); err != nil {
			t.Fatalf("run: %v", err)
		}
	}
	if limit := e.pace.ahead + maxBatchMatches; deepest > limit {
		t.Errorf("the outbox held %d events, want at most %d (pace plus one batch)", deepest, limit)
	}
	if deepest < e.pace.ahead {
		t.Errorf("the outbox never held more than %d events: the test did not make reading wait", deepest)
	}
	if got := len(e.saved().alerts); got != n {
		t.Errorf("%d alerts saved, want %d", got, n)
	}
}

// TestPipelinePaceInAnOutage: when the sinks do not deliver, reading waits
// for them once, for pace.patience, and then reads on: the outbox cap, not
// the pace, bounds what an outage queues.
func TestPipelinePaceInAnOutage(t *testing.T) {
	e := newTestEnv(t)
	e.caps = map[string]int{pipelineSink: 1 << 20}
	e.pace = pacing{ahead: 20, patience: 50 * time.Millisecond}
	e.write(qlikHeader)
	n := 3 * maxBatchMatches
	e.errorRows(0, n, int64(len(qlikHeader)))
	if err := waitRun(t, e.start(t.Context(), true)); err != nil {
		t.Fatalf("run: %v", err)
	}
	if depth, _ := e.store.Depth(pipelineSink); depth != n {
		t.Errorf("%d events queued, want all %d", depth, n)
	}
}

func equal(a, b []string) bool { return firstDiff(a, b) == "" }

func firstDiff(got, want []string) string {
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			return fmt.Sprintf("#%d is %q, want %q", i, g, w)
		}
	}
	return ""
}

// BenchmarkPipelineCatchUp is the file input's catch-up of a backlog: reading,
// decoding, the benchmark's 20 rules (bench/driver) and committing alerts,
// outbox entries and positions to a real state file, without delivering. One op
// reads the whole file into a fresh state; lines/s is the figure to compare.
func BenchmarkPipelineCatchUp(b *testing.B) {
	const rows = 200_000
	rulesFile, err := filepath.Abs("../bench/driver/testdata/rules.toml")
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := qlikgen.Write(&buf, qlikgen.New(qlikgen.Options{Seed: 1}), rows); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	batches := 0
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		e := newPipelineEnv(b, "", fmt.Sprintf("%q", rulesFile), `"qliksense"`)
		if err := os.WriteFile(e.log, buf.Bytes(), 0o600); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		cpu0 := cpuTime()
		if err := e.pipeline(true).run(b.Context()); err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime() - cpu0
		batches += len(e.notified)
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
	if cpu > 0 {
		// CPU time of the whole process (tailer, decoding, committing) is
		// steadier than wall time on a shared machine.
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(rows*b.N), "cpu-ns/line")
	}
	// Every batch of more than a few hundred lines of this log queues events,
	// so this is about the number of transactions.
	b.ReportMetric(float64(batches)/float64(b.N), "batches/op")
}
