package agent

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/agent/state"
	"github.com/heraldhq/herald/plugins/sdk"
)

// deliverAll empties the sink's outbox as if the sink accepted everything,
// and returns the events it held.
func (e *pipelineEnv) deliverAll() []sdk.Event {
	e.tb.Helper()
	entries, err := e.store.Pending(pipelineSink, 0)
	if err != nil {
		e.tb.Fatal(err)
	}
	var done []state.Done
	var evs []sdk.Event
	for _, en := range entries {
		done = append(done, state.Done{Seq: en.Seq, Result: sdk.Accept("")})
		evs = append(evs, en.Event)
	}
	if err := e.store.Complete(pipelineSink, done); err != nil {
		e.tb.Fatal(err)
	}
	return evs
}

// TestResend: every round queues a fresh copy of the firing event of each
// open alert (not of resolved ones, not of one whose last event still waits),
// with a new id per round and the original's content.
func TestResend(t *testing.T) {
	e := newTestEnv(t)
	e.write(qlikHeader + row(1, "ERROR", "a", "boom a") + row(2, "ERROR", "b", "boom b") + row(3, "ERROR", "c", "boom c") + row(4, "INFO", "c", "ok"))
	if err := waitRun(t, e.start(t.Context(), true)); err != nil {
		t.Fatal(err)
	}
	a := e.agent
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

	// Everything still waits in the outbox: nothing to re-send.
	if n, err := a.resend(e.store, pipelineSink, now); err != nil || n != 0 {
		t.Fatalf("resend with all waiting = %d, %v; want 0", n, err)
	}
	first := e.deliverAll()
	if len(first) != 4 {
		t.Fatalf("queued %d events, want 3 firing and 1 resolved", len(first))
	}
	// Alert "a" is acknowledged: still open, still re-sent.
	if err := e.store.Update(func(tx *state.Tx) error {
		al, _ := tx.Alert("task-failed", "a")
		al.Status = sdk.StatusAcknowledged
		return tx.PutAlert(al)
	}); err != nil {
		t.Fatal(err)
	}

	n, err := a.resend(e.store, pipelineSink, now)
	if err != nil || n != 2 {
		t.Fatalf("resend = %d, %v; want a and b (c is resolved)", n, err)
	}
	if got, want := e.events(), []string{"firing a", "firing b"}; !equal(got, want) {
		t.Fatalf("re-sent %q, want %q", got, want)
	}
	// b's copy is waiting; a round now re-sends nothing for b, nor for a.
	entries, _ := e.store.Pending(pipelineSink, 0)
	if err := e.store.Complete(pipelineSink, []state.Done{{Seq: entries[0].Seq, Result: sdk.Accept("")}}); err != nil {
		t.Fatal(err)
	}
	if n, _ := a.resend(e.store, pipelineSink, now.Add(time.Minute)); n != 1 {
		t.Errorf("with b's copy waiting: re-sent %d, want 1 (a)", n)
	}
	copies := e.deliverAll()
	orig := first[1] // b's firing event
	b := copies[0]
	if b.Key != "b" {
		t.Fatalf("copies %+v", copies)
	}
	if b.ID == orig.ID || b.Title != orig.Title || b.Message != orig.Message || !b.Time.Equal(orig.Time) ||
		b.Severity != orig.Severity || b.Host != orig.Host || b.Fields["TaskName"] != orig.Fields["TaskName"] || b.Status != sdk.StatusFiring {
		t.Errorf("copy %+v\nof      %+v\nwant the same content under a new id", b, orig)
	}

	// Another round: a new id again.
	if n, _ := a.resend(e.store, pipelineSink, now.Add(2*time.Minute)); n != 2 {
		t.Fatalf("third round re-sent %d, want 2", n)
	}
	for _, ev := range e.deliverAll() {
		if ev.ID == b.ID || ev.ID == orig.ID {
			t.Errorf("round 3 reused id %s", ev.ID)
		}
	}
}

// TestResendLoop: the agent's goroutine runs rounds for a sink with
// resend_interval and notifies its dispatcher.
func TestResendLoop(t *testing.T) {
	e := newTestEnv(t)
	e.write(qlikHeader + row(1, "ERROR", "a", "boom a"))
	if err := waitRun(t, e.start(t.Context(), true)); err != nil {
		t.Fatal(err)
	}
	e.deliverAll()
	for len(e.notified) > 0 {
		<-e.notified
	}
	e.agent.sinks[0].cfg.ResendInterval.Duration = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	e.agent.startResend(ctx, &wg, e.store, func(sink string) { e.notified <- sink })
	e.waitEvent()
	cancel()
	wg.Wait()
	if got := e.events(); len(got) == 0 || got[0] != "firing a" {
		t.Errorf("queued %q, want copies of a", got)
	}
}
