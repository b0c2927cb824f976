package lifecycle

import (
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/plugins/sdk"
)

// TestResolveUnknown: a success for a key with no open alert here (another
// node's agent raised it before the master moved) sends one resolution, to
// the sinks with ResolveUnknown only, once per success.
func TestResolveUnknown(t *testing.T) {
	s := openStore(t)
	l, err := New("node-b", []*RuleInfo{failed, aborted, succeeded},
		[]Sink{
			{Name: "pager", Kind: "signl4", ResolveUnknown: ResolveUnknownDefault("signl4")},
			{Name: "chat", Kind: "rocketchat", ResolveUnknown: ResolveUnknownDefault("rocketchat")},
			{Name: "hook", Kind: "webhook"},
		}, func() time.Time { return t0 })
	if err != nil {
		t.Fatal(err)
	}
	var st Stats
	sinks := func(r Routed) string { return strings.Join(r.Sinks, ",") }

	// Unknown key: one event (not one per resolved rule), to the pager only.
	got := apply(t, l, s, &st, match(succeeded, "task-1", "exec-2", t0))
	if len(got) != 1 || sinks(got[0]) != "pager" {
		t.Fatalf("success of an unknown key: %+v", got)
	}
	ev := got[0].Event
	if ev.Status != sdk.StatusResolved || ev.Key != "task-1" || ev.Rule != "failed" || ev.Severity != "critical" || ev.Host != "node-b" {
		t.Errorf("event %+v", ev)
	}
	// The same success read again (its dedup value) sends nothing.
	if got := apply(t, l, s, &st, match(succeeded, "task-1", "exec-2", t0.Add(time.Second))); len(got) != 0 || st.Duplicates != 1 {
		t.Errorf("the same success again: %+v, %d duplicates", got, st.Duplicates)
	}
	// A later success (another run) sends one more: SIGNL4 ignores it.
	if got := apply(t, l, s, &st, match(succeeded, "task-1", "exec-3", t0.Add(time.Minute))); len(got) != 1 {
		t.Errorf("the next success: %+v", got)
	}

	// A key with an open alert here: the normal resolution, to every sink
	// the alert went to, and no second event.
	apply(t, l, s, &st, match(failed, "task-2", "exec-4", t0))
	got = apply(t, l, s, &st, match(succeeded, "task-2", "exec-5", t0.Add(time.Minute)))
	if len(got) != 1 || sinks(got[0]) != "pager,chat,hook" || got[0].Event.Status != sdk.StatusResolved {
		t.Fatalf("success of an open alert: %+v", got)
	}
	// Now resolved here: a next success is treated as unknown again.
	got = apply(t, l, s, &st, match(succeeded, "task-2", "exec-6", t0.Add(2*time.Minute)))
	if len(got) != 1 || sinks(got[0]) != "pager" {
		t.Errorf("success after the resolution: %+v", got)
	}
	// No key, nothing.
	if got := apply(t, l, s, &st, match(succeeded, "", "exec-7", t0)); len(got) != 0 {
		t.Errorf("empty key: %+v", got)
	}

	// Without a sink that takes them, nothing is sent.
	l2, err := New("node-b", []*RuleInfo{failed, aborted, succeeded}, []Sink{{Name: "chat", Kind: "rocketchat"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := apply(t, l2, s, &st, match(succeeded, "task-9", "exec-8", t0)); len(got) != 0 {
		t.Errorf("no resolve_unknown sink: %+v", got)
	}
}
