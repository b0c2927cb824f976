package lifecycle

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/agent/state"
	"github.com/heraldhq/herald/plugins/sdk"
)

var t0 = time.Date(2026, 11, 22, 9, 12, 0, 0, time.UTC)

func openStore(t *testing.T) *state.Store {
	t.Helper()
	s, err := state.Open(filepath.Join(t.TempDir(), "herald.db"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var (
	failed    = &RuleInfo{ID: "failed", Severity: "critical"}
	aborted   = &RuleInfo{ID: "aborted", Severity: "warning", Sinks: []string{"kind:rocketchat"}}
	succeeded = &RuleInfo{ID: "succeeded", Resolves: []string{"failed", "aborted"}}
	limited   = &RuleInfo{ID: "limited", Severity: "warning", RateLimit: 5 * time.Minute, Sinks: []string{"pager"}}
)

func newLifecycle(t *testing.T) *Lifecycle {
	t.Helper()
	l, err := New("node1", []*RuleInfo{failed, aborted, succeeded, limited},
		[]Sink{{Name: "pager", Kind: "signl4"}, {Name: "chat", Kind: "rocketchat"}}, func() time.Time { return t0 })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// apply runs matches through one transaction each, as the pipeline does.
func apply(t *testing.T, l *Lifecycle, s *state.Store, st *Stats, ms ...Match) []Routed {
	t.Helper()
	var out []Routed
	for _, m := range ms {
		if err := s.Update(func(tx *state.Tx) error {
			r, err := l.Apply(tx, m, st)
			out = append(out, r...)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func match(r *RuleInfo, key, dedup string, at time.Time) Match {
	return Match{Rule: r, Key: key, Dedup: dedup, Title: r.ID + " " + key, Message: "msg", Time: at,
		Origin: "file@" + at.String(), Fields: map[string]string{"TaskId": key}}
}

func TestFireDedupResolve(t *testing.T) {
	s, l := openStore(t), newLifecycle(t)
	var st Stats

	got := apply(t, l, s, &st,
		match(failed, "task-1", "exec-1", t0),
		match(failed, "task-1", "exec-1", t0.Add(time.Second)), // FinishedFail after Max retries reached
	)
	if len(got) != 1 || st.Duplicates != 1 {
		t.Fatalf("one execution gave %d events, %d duplicates; want 1 and 1", len(got), st.Duplicates)
	}
	ev := got[0].Event
	if ev.Status != sdk.StatusFiring || ev.Rule != "failed" || ev.Key != "task-1" || ev.Severity != "critical" || ev.Host != "node1" {
		t.Errorf("firing event = %+v", ev)
	}
	if strings.Join(got[0].Sinks, ",") != "pager,chat" {
		t.Errorf("a rule with no sinks routes to %v, want every sink", got[0].Sinks)
	}

	got = apply(t, l, s, &st, match(succeeded, "task-1", "", t0.Add(time.Hour)))
	if len(got) != 1 {
		t.Fatalf("success gave %d events, want 1 resolution", len(got))
	}
	res := got[0].Event
	if res.Status != sdk.StatusResolved || res.Rule != "failed" || res.Key != "task-1" || res.Severity != "critical" {
		t.Errorf("resolution = %+v, want status resolved of rule failed", res)
	}
	if res.ID == ev.ID {
		t.Error("resolution reuses the firing's id")
	}

	// Resolved once: a second success and a success of another task send nothing.
	got = apply(t, l, s, &st, match(succeeded, "task-1", "", t0.Add(2*time.Hour)), match(succeeded, "task-2", "", t0))
	if len(got) != 0 || st.Unmatched != 2 {
		t.Fatalf("success with nothing open gave %d events (unmatched %d)", len(got), st.Unmatched)
	}

	if err := s.View(func(tx *state.Tx) error {
		a, ok := tx.Alert("failed", "task-1")
		if !ok || a.Status != sdk.StatusResolved || a.Count != 1 || !a.ResolvedAt.Equal(t0.Add(time.Hour)) {
			t.Errorf("stored alert = %+v", a)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestResolveRoutesLikeTheFiring(t *testing.T) {
	s, l := openStore(t), newLifecycle(t)
	var st Stats
	got := apply(t, l, s, &st, match(aborted, "task-7", "e1", t0), match(succeeded, "task-7", "", t0.Add(time.Minute)))
	if len(got) != 2 {
		t.Fatalf("got %d events, want firing and resolution", len(got))
	}
	for _, r := range got {
		if strings.Join(r.Sinks, ",") != "chat" {
			t.Errorf("%s event routed to %v, want [chat] (kind:rocketchat)", r.Event.Status, r.Sinks)
		}
	}
}

func TestRateLimitCountsAndReports(t *testing.T) {
	s, l := openStore(t), newLifecycle(t)
	var st Stats
	got := apply(t, l, s, &st,
		match(limited, "k", "", t0),
		match(limited, "k", "", t0.Add(1*time.Minute)),
		match(limited, "k", "", t0.Add(2*time.Minute)),
		match(limited, "k", "", t0.Add(3*time.Minute)),
		match(limited, "other", "", t0.Add(3*time.Minute)), // another key has its own window
		match(limited, "k", "", t0.Add(6*time.Minute)),
	)
	if st.Suppressed != 3 {
		t.Errorf("suppressed = %d, want 3", st.Suppressed)
	}
	if len(got) != 3 {
		t.Fatalf("got %d events, want 3 (first, other key, after the window)", len(got))
	}
	last := got[2].Event
	if !strings.Contains(last.Message, "3 more since 2026-11-22 09:13:00") {
		t.Errorf("the next delivered event does not report what was held back: %q", last.Message)
	}
	if strings.Contains(got[1].Event.Message, "more since") {
		t.Errorf("another key's event reports this key's suppressions: %q", got[1].Event.Message)
	}
}

func TestRefireAfterResolveIsANewAlert(t *testing.T) {
	s, l := openStore(t), newLifecycle(t)
	var st Stats
	apply(t, l, s, &st, match(failed, "t", "e1", t0))
	if err := s.Update(func(tx *state.Tx) error {
		a, _ := tx.Alert("failed", "t")
		a.Refs = map[string]string{"pager": "signl4-event-1"}
		return tx.PutAlert(a)
	}); err != nil {
		t.Fatal(err)
	}
	apply(t, l, s, &st, match(succeeded, "t", "", t0.Add(time.Minute)), match(failed, "t", "e2", t0.Add(time.Hour)))
	if err := s.View(func(tx *state.Tx) error {
		a, _ := tx.Alert("failed", "t")
		if a.Status != sdk.StatusFiring || len(a.Refs) != 0 || !a.FirstSeen.Equal(t0.Add(time.Hour)) || a.Count != 1 {
			t.Errorf("refired alert = %+v: want a fresh instance with no stale refs", a)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestStableIDs(t *testing.T) {
	var ids [2]string
	for i := range ids {
		s, l := openStore(t), newLifecycle(t)
		var st Stats
		got := apply(t, l, s, &st, match(failed, "t", "e1", t0))
		ids[i] = got[0].Event.ID
	}
	if ids[0] != ids[1] || ids[0] == "" {
		t.Errorf("the same record gave ids %q and %q; want equal and non-empty", ids[0], ids[1])
	}
}

func TestUnknownSinkName(t *testing.T) {
	_, err := New("h", []*RuleInfo{{ID: "r", Sinks: []string{"pagr"}}}, []Sink{{Name: "pager", Kind: "signl4"}}, nil)
	if err == nil || !strings.Contains(err.Error(), `rule r: sinks: no sink named "pagr"`) {
		t.Fatalf("err = %v", err)
	}
}

// TestEventIDStable pins event ids: the same record must give the same ids
// in every release, or a sink that deduplicates by id would take an event
// re-sent after an upgrade for a new one.
func TestEventIDStable(t *testing.T) {
	at := time.Date(2026, 11, 22, 9, 12, 3, 456789000, time.FixedZone("", 3600))
	for _, tc := range []struct {
		origin, rule, status, key string
		at                        time.Time
		want                      string
	}{
		{"scheduler:1024:0123456789abcdef@270", "qlik-reload-failed", "firing", "5c7f2f5a-6d2b-4a39-a8a5-2f0b0e1f5d3c", at, "9bd995b322e872d6e11938a3"},
		{"", "", "", "", time.Time{}, "8065563f8f8fd9da32ce75ab"},
		{string(make([]byte, 300)), "r", "resolved", "k", at, "f61a91ff681f103d6a2c3da2"}, // longer than the stack buffer
	} {
		if got := eventID(tc.origin, tc.rule, tc.status, tc.key, tc.at); got != tc.want {
			t.Errorf("eventID(%.20q, %q, %q, %q, %s) = %s, want %s", tc.origin, tc.rule, tc.status, tc.key, tc.at, got, tc.want)
		}
	}
}
