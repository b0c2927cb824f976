package agent

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldhq/herald/agent/silence"
	"github.com/heraldhq/herald/plugins/sdk"
)

// testClock is a clock a test moves.
type testClock struct{ ns atomic.Int64 }

func newTestClock(t time.Time) *testClock {
	c := &testClock{}
	c.ns.Store(t.UnixNano())
	return c
}
func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *testClock) Add(d time.Duration)     { c.ns.Add(int64(d)) }
func (e *pipelineEnv) useClock(c *testClock) { e.agent.opts.Now, e.agent.sil.now = c.Now, c.Now }

// startSilences runs the agent's silence goroutine for the test.
func (e *pipelineEnv) startSilences(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	e.agent.watchSilences(ctx, &wg, e.store, e.metrics, func(sink string) { e.notified <- sink })
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// drainNotified forgets the notifications so far, so waitEvent waits for
// the next commit.
func (e *pipelineEnv) drainNotified() {
	for {
		select {
		case <-e.notified:
		default:
			return
		}
	}
}

// outbox returns the events queued for the sink.
func (e *pipelineEnv) outbox() []sdk.Event {
	e.tb.Helper()
	entries, err := e.store.Pending(pipelineSink, 0)
	if err != nil {
		e.tb.Fatal(err)
	}
	out := make([]sdk.Event, len(entries))
	for i, en := range entries {
		out[i] = en.Event
	}
	return out
}

func mustMatchers(t *testing.T, ss ...string) []silence.Matcher {
	t.Helper()
	ms, err := silence.ParseMatchers(ss)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// TestSilenceHoldsAndReleases: while a silence is active its firings are
// held, not queued; a held alert that resolves sends nothing; when the
// silence is expired by hand, the held alert still firing is queued once
// with the note, and other events flow throughout.
func TestSilenceHoldsAndReleases(t *testing.T) {
	e := newTestEnv(t)
	clock := newTestClock(time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC))
	e.useClock(clock)
	e.startSilences(t)
	ctx := context.Background()

	s, err := e.agent.AddSilence(ctx, silence.Silence{Matchers: mustMatchers(t, `rule="task-failed"`, `key=~"Nightly.*"`),
		EndsAt: clock.Now().Add(2 * time.Hour), Comment: "DB upgrade", CreatedBy: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	e.write(qlikHeader +
		row(1, "ERROR", "Nightly A", "boom") + // held, first of its alert
		row(2, "ERROR", "Nightly A", "boom again") + // held repeat
		row(3, "ERROR", "Nightly B", "boom") + // held
		row(4, "INFO", "Nightly B", "ok") + // resolves B, which the sinks never heard of: nothing
		row(5, "ERROR", "Daily C", "boom")) // not silenced
	if err := waitRun(t, e.start(ctx, true)); err != nil {
		t.Fatal(err)
	}
	if got, want := e.events(), []string{"firing Daily C"}; !equal(got, want) {
		t.Fatalf("queued while silenced: %v, want %v", got, want)
	}
	list, err := e.agent.Silences(false)
	if err != nil || len(list) != 1 || list[0].Suppressed != 3 {
		t.Fatalf("Silences = %+v, %v; want one with Suppressed 3", list, err)
	}
	a := e.saved().alerts["Nightly A"]
	if a.HeldBy != s.ID || a.HeldCount != 2 || !a.HeldUnsent || a.HeldEvent == nil {
		t.Fatalf("held alert: %+v", a)
	}
	if b := e.saved().alerts["Nightly B"]; b.HeldBy != "" || b.Status != sdk.StatusResolved {
		t.Fatalf("resolved held alert: %+v", b)
	}

	clock.Add(30 * time.Minute)
	e.drainNotified()
	if err := e.agent.ExpireSilence(ctx, s.ID, "ops"); err != nil {
		t.Fatal(err)
	}
	e.waitEvent() // the release
	out := e.outbox()
	if len(out) != 2 || out[1].Key != "Nightly A" || out[1].Status != sdk.StatusFiring {
		t.Fatalf("after expiry: %v", e.events())
	}
	if want := "boom again\n(held by maintenance window 'DB upgrade' since 06:00 +01:00; 1 repeat)"; out[1].Message != want {
		t.Errorf("released message %q, want %q", out[1].Message, want)
	}
	if a := e.saved().alerts["Nightly A"]; a.HeldBy != "" || a.HeldEvent != nil {
		t.Errorf("alert still held after release: %+v", a)
	}
	if list, _ := e.agent.Silences(false); len(list) != 0 {
		t.Errorf("expired silence still listed as current: %+v", list)
	}
	all, _ := e.agent.Silences(true)
	if len(all) != 1 || all[0].ExpiredBy != "ops" || !all[0].Released {
		t.Errorf("Silences(true) = %+v", all)
	}
	if err := e.agent.ExpireSilence(ctx, s.ID, "ops"); err == nil {
		t.Error("expiring twice succeeded")
	}
	if err := e.agent.ExpireSilence(ctx, "nope", "ops"); err == nil {
		t.Error("expiring an unknown silence succeeded")
	}
}

// TestSilenceEndsByTime: when EndsAt passes, the goroutine releases; a
// firing that goes out before (held earlier, silence over) carries the note
// itself, and a resolution of an alert the sinks knew goes out.
func TestSilenceEndsByTime(t *testing.T) {
	e := newTestEnv(t)
	clock := newTestClock(time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC))
	e.useClock(clock)
	e.startSilences(t)
	ctx := context.Background()

	// Fired before the silence: the sinks know of it.
	e.write(qlikHeader + row(1, "ERROR", "T1", "first"))
	if err := waitRun(t, e.start(ctx, true)); err != nil {
		t.Fatal(err)
	}
	_, err := e.agent.AddSilence(ctx, silence.Silence{Matchers: mustMatchers(t, `rule="task-failed"`),
		EndsAt: clock.Now().Add(time.Hour), Comment: "patching"})
	if err != nil {
		t.Fatal(err)
	}
	e.write(row(2, "ERROR", "T1", "again") + row(3, "ERROR", "T2", "new") + row(4, "INFO", "T1", "ok"))
	if err := waitRun(t, e.start(ctx, true)); err != nil {
		t.Fatal(err)
	}
	// T1's resolution goes out (its firing had); T2 is held.
	if got, want := e.events(), []string{"firing T1", "resolved T1"}; !equal(got, want) {
		t.Fatalf("during the silence: %v, want %v", got, want)
	}
	clock.Add(time.Hour)
	e.drainNotified()
	e.agent.sil.kick() // the timer waits real time; the test clock has moved
	e.waitEvent()
	out := e.outbox()
	if got, want := e.events(), []string{"firing T1", "resolved T1", "firing T2"}; !equal(got, want) {
		t.Fatalf("after the end: %v, want %v", got, want)
	}
	if !strings.HasSuffix(out[2].Message, "(held by maintenance window 'patching' since 06:00 +01:00; no repeats)") {
		t.Errorf("released message %q", out[2].Message)
	}
}

// TestSilenceNoteOnNextFiring: a held alert that fires after its silence
// ended, before the release ran, goes out with the note and is not released
// again.
func TestSilenceNoteOnNextFiring(t *testing.T) {
	e := newTestEnv(t)
	clock := newTestClock(time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC))
	e.useClock(clock)
	// No goroutine: the release does not run.
	e.agent.sil.store.Store(e.store)
	e.agent.sil.mu.Lock()
	_ = e.agent.sil.refresh(e.store)
	e.agent.sil.mu.Unlock()
	ctx := context.Background()
	if _, err := e.agent.AddSilence(ctx, silence.Silence{Matchers: mustMatchers(t, `key="T1"`),
		EndsAt: clock.Now().Add(time.Hour), Comment: "w"}); err != nil {
		t.Fatal(err)
	}
	e.write(qlikHeader + row(1, "ERROR", "T1", "first"))
	if err := waitRun(t, e.start(ctx, true)); err != nil {
		t.Fatal(err)
	}
	clock.Add(2 * time.Hour)
	e.write(row(2, "ERROR", "T1", "second"))
	if err := waitRun(t, e.start(ctx, true)); err != nil {
		t.Fatal(err)
	}
	out := e.outbox()
	if len(out) != 1 || out[0].Message != "second\n(held by maintenance window 'w' since 06:00 +01:00; no repeats)" {
		t.Fatalf("outbox: %+v", out)
	}
	if a := e.saved().alerts["T1"]; a.HeldBy != "" {
		t.Errorf("still held: %+v", a)
	}
}

// TestMaintenanceWindowMaterialised: a [[maintenance]] window's current
// occurrence is a silence with source config:<name>, once, and it holds.
func TestMaintenanceWindowMaterialised(t *testing.T) {
	e := newTestEnv(t)
	clock := newTestClock(time.Date(2026, 11, 22, 5, 30, 0, 0, time.UTC)) // a Sunday
	e.useClock(clock)
	e.agent.windows = []silence.Window{{Name: "sunday-patch", Matchers: mustMatchers(t, `rule="task-failed"`),
		Weekdays: []time.Weekday{time.Sunday}, Start: 5 * 60, End: 7 * 60, Loc: time.UTC}}
	e.startSilences(t)
	e.agent.materialise(e.store, clock.Now()) // again: idempotent
	list, err := e.agent.Silences(false)
	if err != nil || len(list) != 1 || list[0].Source != "config:sunday-patch" || list[0].ID != "cfg-sunday-patch-20261122T0500Z" {
		t.Fatalf("Silences = %+v, %v", list, err)
	}
	e.write(qlikHeader + row(1, "ERROR", "T1", "boom"))
	if err := waitRun(t, e.start(context.Background(), true)); err != nil {
		t.Fatal(err)
	}
	if got := e.events(); len(got) != 0 {
		t.Fatalf("queued during the window: %v", got)
	}
}
