package dispatch

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/heraldhq/herald/agent/state"
	"github.com/heraldhq/herald/plugins/sdk"
)

// The store keeps the events this process enqueued in memory and decodes the
// others from the file (after a restart, beyond its bound). A sink gets the
// same events either way.
func TestSinkGetsTheSameEventsFromMemoryAndFromTheFile(t *testing.T) {
	zoned := ev("zoned", "task-2")
	zoned.Time = time.Date(2025, 3, 1, 13, 0, 0, 5, time.FixedZone("CET", 3600))
	zoned.Fields = map[string]string{"TaskName": "Nightly <reload>", "Empty": ""}
	local := ev("local", "task-3")
	local.Time = time.Now()
	local.Ref = "given"
	badUTF8 := ev("latin1", "task-4")
	badUTF8.Message = "caf\xe9"
	events := []sdk.Event{ev("plain", "task-1"), zoned, local, badUTF8}

	tests := []struct {
		name    string
		restart bool // reopen the store between enqueuing and sending
		cache   int  // state.Options.CacheBytes
	}{
		{"from memory", false, 0},
		{"from the file after a restart", true, 0},
		{"from the file without a cache", false, -1},
	}
	var want []sdk.Event
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "herald.db")
			store, err := state.Open(path, state.Options{CacheBytes: tt.cache})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = store.Close() })
			h := newHarnessWith(t, 0, store)
			h.enqueue(events...)
			if tt.restart {
				if err := store.Close(); err != nil {
					t.Fatal(err)
				}
				if store, err = state.Open(path, state.Options{CacheBytes: tt.cache}); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = store.Close() })
				h = newHarnessWith(t, 0, store)
			}
			h.start()
			c := h.answer([]string{"plain", "zoned", "local", "latin1"}, accept(4)...)
			h.idle()
			if want == nil {
				want = c.events
				return
			}
			if !reflect.DeepEqual(c.events, want) {
				t.Errorf("sink got\n%#v\nwant as in the first case\n%#v", c.events, want)
			}
		})
	}
}

// A sink (or an in-process Sender) that changes the events it is given changes
// nothing queued: a retry sends the events as they were enqueued.
func TestSenderChangingEventsDoesNotChangeTheRetry(t *testing.T) {
	h := newHarness(t, 0)
	fired := ev("a", "task-1")
	fired.Fields = map[string]string{"TaskName": "Nightly"}
	h.enqueue(fired)
	h.start()

	c := h.answer([]string{"a"}, sdk.Retry("503", time.Time{}))
	c.events[0].Fields["TaskName"] = "changed by the sink"
	c.events[0].Fields["Extra"] = "added by the sink"
	if d := h.timer(); d != time.Second {
		t.Fatalf("retry wait = %s, want 1s", d)
	}
	h.clock.Advance(time.Second)
	c = h.answer([]string{"a"}, accept(1)...)
	if got := c.events[0].Fields; !reflect.DeepEqual(got, map[string]string{"TaskName": "Nightly"}) {
		t.Errorf("retry sent fields %v, want them as enqueued", got)
	}
	h.idle()
}

// An event the sink refuses goes to the dead letters with its content intact,
// and one retried from there is sent again as it was.
func TestDeadLetterKeepsTheEvent(t *testing.T) {
	h := newHarness(t, 0)
	fired := ev("a", "task-1")
	fired.Fields = map[string]string{"TaskName": "Nightly"}
	h.enqueue(fired)
	h.start()
	sent := h.answer([]string{"a"}, sdk.Reject("400 Bad Request")).events[0]
	h.idle()

	dead, err := h.store.Dead("pager")
	if err != nil || len(dead) != 1 {
		t.Fatalf("Dead = %v, %v", dead, err)
	}
	if !reflect.DeepEqual(dead[0].Event, sent) || dead[0].Reason != "400 Bad Request" {
		t.Errorf("dead letter = %+v (reason %q), want the event sent %+v", dead[0].Event, dead[0].Reason, sent)
	}
	if _, err := h.store.RetryDead("pager", state.All); err != nil {
		t.Fatal(err)
	}
	h.d.Notify()
	if again := h.answer([]string{"a"}, accept(1)...).events[0]; !reflect.DeepEqual(again, sent) {
		t.Errorf("retried dead letter sent as %+v, want %+v", again, sent)
	}
	h.idle()
}
