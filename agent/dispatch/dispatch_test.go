package dispatch

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/agent/state"
	"github.com/heraldhq/herald/plugins/sdk"
)

func TestNotifyWakesIdleDispatcher(t *testing.T) {
	h := newHarness(t, 0)
	h.start()
	h.idle()

	h.enqueue(ev("a", "task-1"), ev("b", "task-2"))
	h.answer([]string{"a", "b"}, accept(2)...)
	h.idle()
	h.enqueue(ev("c", "task-3"))
	h.answer([]string{"c"}, accept(1)...)
	h.idle()

	// Nothing polled: the clock never moved and no timer was armed.
	h.noTimers()
	if got := h.pending(); len(got) != 0 {
		t.Errorf("outbox after delivery = %v", got)
	}
	h.stop()
	if h.obs.sent[sdk.Accepted] != 3 || h.obs.depth != 0 {
		t.Errorf("observer counted %d accepted and depth %d, want 3 and 0", h.obs.sent[sdk.Accepted], h.obs.depth)
	}
}

func TestDeliversWhatWasQueuedBeforeStart(t *testing.T) {
	h := newHarness(t, 2)
	h.enqueue(ev("a", "k1"), ev("b", "k2"), ev("c", "k3"), ev("d", "k4"), ev("e", "k5"))
	h.start()
	h.answer([]string{"a", "b"}, accept(2)...)
	h.answer([]string{"c", "d"}, accept(2)...)
	h.answer([]string{"e"}, accept(1)...)
	h.idle()
	h.noTimers()
}

// A batch never holds two events of one alert, and a retryable answer stops
// the alert's later events until it is accepted.
func TestOrderPerKeyUnderRetry(t *testing.T) {
	h := newHarness(t, 0)
	resolved := ev("a2", "task-a")
	resolved.Status = sdk.StatusResolved
	h.enqueue(ev("a1", "task-a"), ev("b1", "task-b"), resolved, ev("c1", "task-c"), ev("n1", ""), ev("n2", ""))
	h.start()

	h.answer([]string{"a1", "b1"}, sdk.Retry("503 Service Unavailable", time.Time{}), sdk.Accept(""))
	if d := h.timer(); d != time.Second {
		t.Fatalf("retry wait = %s, want 1s", d)
	}
	if got := h.pending(); !slices.Equal(got, []string{"a1", "a2", "c1", "n1", "n2"}) {
		t.Fatalf("outbox while waiting = %v", got)
	}
	h.clock.Advance(time.Second)
	h.answer([]string{"a1"}, accept(1)...)
	// Events without a key belong to no alert and share a batch.
	h.answer([]string{"a2", "c1", "n1", "n2"}, accept(4)...)
	h.idle()

	if h.obs.retries != 1 {
		t.Errorf("observer counted %d retries, want 1", h.obs.retries)
	}
}

func TestRetryAtIsHonoured(t *testing.T) {
	h := newHarness(t, 0)
	h.enqueue(ev("a", "k"))
	h.start()
	h.answer([]string{"a"}, sdk.Retry("429 Too Many Requests", t0.Add(30*time.Second)))
	if d := h.timer(); d != 30*time.Second {
		t.Fatalf("wait = %s, want the 30s the sink asked for", d)
	}
	h.clock.Advance(29 * time.Second) // not yet due: no Send
	h.clock.Advance(time.Second)
	h.answer([]string{"a"}, accept(1)...)
	h.idle()
	if !strings.Contains(h.logs.String(), "429 Too Many Requests") {
		t.Errorf("log does not give the reason:\n%s", h.logs)
	}
}

func TestBackoffGrowsAndResets(t *testing.T) {
	h := newHarness(t, 0)
	h.enqueue(ev("a", "k"))
	h.start()
	for _, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		h.answer([]string{"a"}, sdk.Retry("timeout", time.Time{}))
		if d := h.timer(); d != want {
			t.Fatalf("wait = %s, want %s", d, want)
		}
		h.clock.Advance(want)
	}
	h.answer([]string{"a"}, accept(1)...)
	h.idle()

	h.enqueue(ev("b", "k"))
	h.answer([]string{"b"}, sdk.Retry("timeout", time.Time{}))
	if d := h.timer(); d != time.Second {
		t.Fatalf("wait after a success = %s, want 1s again", d)
	}
}

func TestRejectedGoToDeadLetters(t *testing.T) {
	h := newHarness(t, 0)
	h.enqueue(ev("a", "k1"), ev("b", "k2"))
	h.start()
	h.answer([]string{"a", "b"}, sdk.Reject("400 Bad Request: Title is required"), sdk.Accept(""))
	h.idle()
	h.noTimers() // a rejection is final: no wait

	dead, err := h.store.Dead("pager")
	if err != nil || len(dead) != 1 {
		t.Fatalf("Dead = %+v, %v", dead, err)
	}
	if dead[0].Event.ID != "a" || dead[0].Reason != "400 Bad Request: Title is required" {
		t.Errorf("dead letter = %+v", dead[0])
	}
	if !strings.Contains(h.logs.String(), "dead letters") {
		t.Errorf("log does not report the rejection:\n%s", h.logs)
	}
}

// The ref a sink returned for a firing reaches the resolution, also when the
// dispatcher was restarted in between; an event's own ref wins.
func TestRefFromStoredAlert(t *testing.T) {
	h := newHarness(t, 0)
	err := h.store.Update(func(tx *state.Tx) error {
		return tx.PutAlert(state.Alert{Rule: "reload-failed", Key: "task-1", Status: sdk.StatusFiring})
	})
	if err != nil {
		t.Fatal(err)
	}
	h.enqueue(ev("fire", "task-1"))
	h.start()
	c := h.answer([]string{"fire"}, sdk.Accept("signl4-event-7"))
	if c.events[0].Ref != "" {
		t.Errorf("first event carried ref %q", c.events[0].Ref)
	}
	h.idle()
	h.stop()

	h2 := newHarnessWith(t, 0, h.store)
	resolve := ev("resolve", "task-1")
	resolve.Status = sdk.StatusResolved
	own := ev("own", "task-2")
	own.Ref = "given"
	h2.enqueue(resolve, own)
	h2.start()
	c = h2.answer([]string{"resolve", "own"}, accept(2)...)
	if c.events[0].Ref != "signl4-event-7" || c.events[1].Ref != "given" {
		t.Errorf("refs sent = %q, %q; want signl4-event-7, given", c.events[0].Ref, c.events[1].Ref)
	}
}

func TestPluginCrashRestartsAndLosesNothing(t *testing.T) {
	h := newHarness(t, 2)
	h.enqueue(ev("a", "k1"), ev("b", "k2"), ev("c", "k3"))
	h.start()
	first := <-h.connects

	c := h.next()
	c.reply <- reply{err: errPluginExited}
	if d := h.timer(); d != time.Second {
		t.Fatalf("restart wait = %s, want 1s", d)
	}
	if !first.isClosed() {
		t.Error("the dead plugin's client was not closed")
	}
	// The restart fails once; the wait grows.
	h.connErrs <- context.DeadlineExceeded
	h.clock.Advance(time.Second)
	if d := h.timer(); d != 2*time.Second {
		t.Fatalf("wait after a failed start = %s, want 2s", d)
	}
	h.clock.Advance(2 * time.Second)
	if second := <-h.connects; second.id != 2 {
		t.Fatalf("reconnected plugin id %d", second.id)
	}

	// The in-flight batch is sent again, then the rest, each event once more.
	h.answer(ids(c.events), accept(2)...)
	h.answer([]string{"c"}, accept(1)...)
	h.idle()
	// After a successful send the restart backoff starts again at 1s.
	h.enqueue(ev("d", "k4"))
	h.next().reply <- reply{err: errPluginExited}
	if d := h.timer(); d != time.Second {
		t.Errorf("restart wait after a success = %s, want 1s", d)
	}
	h.stop()

	if got := ids(c.events); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("in-flight batch = %v", got)
	}
	if h.obs.restarts != 2 { // the third restart is still waiting
		t.Errorf("observer counted %d restarts, want 2", h.obs.restarts)
	}
	for _, want := range []string{"sink pager plugin exited; restarting in 1s", "plugin failed to start; retrying in 2s"} {
		if !strings.Contains(h.logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, h.logs)
		}
	}
}

func TestWrongResultCountIsAPluginFailure(t *testing.T) {
	h := newHarness(t, 0)
	h.enqueue(ev("a", "k1"), ev("b", "k2"))
	h.start()
	h.answer([]string{"a", "b"}, sdk.Accept(""))
	if d := h.timer(); d != time.Second {
		t.Fatalf("restart wait = %s, want 1s", d)
	}
	if got := h.pending(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("outbox = %v; nothing may be recorded from a malformed answer", got)
	}
	if !strings.Contains(h.logs.String(), "1 results for 2 events") {
		t.Errorf("log does not say what was wrong:\n%s", h.logs)
	}
}

func TestShutdownDuringSend(t *testing.T) {
	h := newHarness(t, 0)
	h.enqueue(ev("a", "k"))
	h.start()
	h.next() // in flight, never answered
	h.stop()
	if got := h.pending(); !slices.Equal(got, []string{"a"}) {
		t.Errorf("outbox after shutdown = %v, want [a]", got)
	}
}

// TestShutdownLetsInFlightSendFinish: a batch already sent when the
// dispatcher stops gets its answer recorded, so the next start does not send
// it again.
func TestShutdownLetsInFlightSendFinish(t *testing.T) {
	h := newHarness(t, 0)
	h.d.cfg.ShutdownGrace = time.Minute
	h.enqueue(ev("a", "k"))
	h.start()
	c := h.next()
	h.cancel()
	c.reply <- reply{results: []sdk.Result{sdk.Accept("")}}
	select {
	case err := <-h.done:
		if err != nil {
			t.Fatalf("Run returned %v", err)
		}
	case <-time.After(deadline):
		t.Fatal("Run did not return after the in-flight send finished")
	}
	h.cancel = nil
	if got := h.pending(); len(got) != 0 {
		t.Errorf("outbox after a graceful stop = %v, want the answered batch recorded", got)
	}
}

func TestShutdownWhileWaiting(t *testing.T) {
	h := newHarness(t, 0)
	h.enqueue(ev("a", "k"))
	h.start()
	h.answer([]string{"a"}, sdk.Retry("busy", time.Time{}))
	h.timer()
	h.stop() // returns although the clock never reaches the retry
}

func TestRunRejectsIncompleteConfig(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{Sink: "pager"},
		{Sink: "pager", Store: &state.Store{}},
	} {
		if err := New(cfg).Run(context.Background()); err == nil {
			t.Errorf("Run with %+v succeeded", cfg)
		}
	}
}
