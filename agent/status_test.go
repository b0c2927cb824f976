package agent

import (
	"strings"
	"testing"
	"unsafe"

	"github.com/heraldhq/herald/plugins/sdk"
)

// TestEventRingKeepsCopies: the ring of recent events keeps its own copies
// of the strings it shows, not the log chunks they were cut from, and
// returns them oldest first once it has wrapped.
func TestEventRingKeepsCopies(t *testing.T) {
	chunk := strings.Repeat("x", 4096) + "task-1 Reload failed"
	ev := sdk.Event{Rule: "r", Key: chunk[4096:4102], Title: chunk[4103:], Status: sdk.StatusFiring}
	r := newEventRing(2)
	r.add(&ev, []string{"pager"}, "")
	got := r.list()
	if len(got) != 1 || got[0].Key != "task-1" || got[0].Title != "Reload failed" {
		t.Fatalf("list = %+v", got)
	}
	if unsafe.StringData(got[0].Key) == unsafe.StringData(ev.Key) || unsafe.StringData(got[0].Title) == unsafe.StringData(ev.Title) {
		t.Error("the ring keeps the caller's strings, and with them the chunk they were cut from")
	}
	for _, k := range []string{"task-2", "task-3"} {
		r.add(&sdk.Event{Rule: "r", Key: k}, nil, "")
	}
	if got := r.list(); len(got) != 2 || got[0].Key != "task-2" || got[1].Key != "task-3" {
		t.Errorf("after wrapping, list = %+v", got)
	}
}
