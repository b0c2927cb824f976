package lifecycle

import (
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/agent/state"
	"github.com/heraldhq/herald/plugins/sdk"
	"github.com/heraldhq/herald/rules"
)

var (
	acked     = &RuleInfo{ID: "signl4-acked", Action: Acknowledge, Sinks: []string{"kind:rocketchat"}}
	closed    = &RuleInfo{ID: "signl4-closed", Action: Resolve, Sinks: []string{"kind:rocketchat"}}
	annotated = &RuleInfo{ID: "signl4-annotated", Action: Annotate, Sinks: []string{"kind:rocketchat"}}
	chatAck   = &RuleInfo{ID: "chat-ack", Action: Acknowledge, KeyFromRef: true, Sinks: []string{"kind:signl4"}}
)

func newActLifecycle(t *testing.T) *Lifecycle {
	t.Helper()
	l, err := New("node1", []*RuleInfo{failed, aborted, succeeded, acked, closed, annotated, chatAck},
		[]Sink{{Name: "pager", Kind: "signl4"}, {Name: "chat", Kind: "rocketchat"}}, func() time.Time { return t0 })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// callback is a match of a rule that acts on the alerts with key.
func callback(r *RuleInfo, key, by, title string, at time.Time) Match {
	return Match{Rule: r, Key: key, By: by, Title: title, Time: at, Origin: "hook@" + at.String(),
		Fields: map[string]string{"User": by}}
}

func alertOf(t *testing.T, s *state.Store, rule, key string) state.Alert {
	t.Helper()
	var a state.Alert
	if err := s.View(func(tx *state.Tx) error {
		a, _ = tx.Alert(rule, key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return a
}

// summary is "status rule key title -> sinks" per event.
func summary(rs []Routed) string {
	var out []string
	for _, r := range rs {
		ev := r.Event
		out = append(out, string(ev.Status)+" "+ev.Rule+" "+ev.Key+" "+ev.Title+" -> "+strings.Join(r.Sinks, ","))
	}
	return strings.Join(out, "|")
}

func TestActOnAlertsByKey(t *testing.T) {
	s, l := openStore(t), newActLifecycle(t)
	var st Stats
	apply(t, l, s, &st, match(failed, "task-1", "e1", t0))

	steps := []struct {
		name string
		m    Match
		want string
	}{
		{"acknowledged in SIGNL4", callback(acked, "task-1", "rene", "Alert acknowledged by rene", t0.Add(time.Minute)),
			"acknowledged failed task-1 Alert acknowledged by rene -> chat"},
		{"the same acknowledgement again", callback(acked, "task-1", "rene", "again", t0.Add(2*time.Minute)), ""},
		{"an acknowledgement by nobody (an echo)", callback(acked, "task-1", "", "echo", t0.Add(2*time.Minute)), ""},
		{"a second person acknowledges", callback(acked, "task-1", "bob", "Alert acknowledged by bob", t0.Add(3*time.Minute)),
			"acknowledged failed task-1 Alert acknowledged by bob -> chat"},
		{"a note without a title takes the alert's", callback(annotated, "task-1", "rene", "", t0.Add(4*time.Minute)),
			"info failed task-1 failed task-1 -> chat"},
		{"closed in SIGNL4", callback(closed, "task-1", "rene", "Alert closed by rene", t0.Add(5*time.Minute)),
			"resolved failed task-1 Alert closed by rene -> chat"},
		{"closed again", callback(closed, "task-1", "rene", "again", t0.Add(6*time.Minute)), ""},
		{"acknowledged after it closed", callback(acked, "task-1", "eve", "late", t0.Add(6*time.Minute)), ""},
		{"a note after it closed still goes out", callback(annotated, "task-1", "rene", "Post mortem", t0.Add(7*time.Minute)),
			"info failed task-1 Post mortem -> chat"},
		{"a key Herald never raised", callback(acked, "task-9", "rene", "x", t0), ""},
		{"an empty key", callback(acked, "", "rene", "x", t0), ""},
	}
	for _, step := range steps {
		if got := summary(apply(t, l, s, &st, step.m)); got != step.want {
			t.Errorf("%s: events %q, want %q", step.name, got, step.want)
		}
	}
	a := alertOf(t, s, "failed", "task-1")
	if a.Status != sdk.StatusResolved || a.AckedBy != "rene, bob" || a.ResolvedBy != "rene" || !a.ResolvedAt.Equal(t0.Add(5*time.Minute)) {
		t.Errorf("alert = %+v; want resolved by rene, acknowledged by rene and bob", a)
	}
	if st.Unmatched != 6 {
		t.Errorf("unmatched = %d, want 6", st.Unmatched)
	}

	// A success of the task now has nothing to resolve: SIGNL4 closed it.
	if got := apply(t, l, s, &st, match(succeeded, "task-1", "", t0.Add(time.Hour))); len(got) != 0 {
		t.Errorf("the task's success after a close in SIGNL4 sent %s", summary(got))
	}
}

func TestActRoutesOnlyWhereTheAlertWent(t *testing.T) {
	s, l := openStore(t), newActLifecycle(t)
	var st Stats
	// aborted routes to chat only; failed to every sink.
	apply(t, l, s, &st, match(aborted, "task-2", "e1", t0), match(failed, "task-2", "e2", t0))
	got := summary(apply(t, l, s, &st, callback(acked, "task-2", "rene", "ack", t0.Add(time.Minute))))
	if want := "acknowledged aborted task-2 ack -> chat|acknowledged failed task-2 ack -> chat"; got != want {
		t.Errorf("events %q, want %q", got, want)
	}
	// A chat reply acknowledges in SIGNL4, which never heard of the aborted alert.
	if err := s.Update(func(tx *state.Tx) error {
		for _, rule := range []string{"aborted", "failed"} {
			a, _ := tx.Alert(rule, "task-2")
			a.Status = sdk.StatusFiring
			a.AckedBy = ""
			a.Refs = map[string]string{"chat": "root-" + rule}
			if err := tx.PutAlert(a); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	m := callback(chatAck, "", "alice", "", t0.Add(2*time.Minute))
	m.Ref = "root-aborted"
	if got, want := summary(apply(t, l, s, &st, m)), "acknowledged aborted task-2 aborted task-2 -> "; got != want {
		t.Errorf("ack of the aborted alert's thread: %q, want %q (no sink: SIGNL4 never had it)", got, want)
	}
	m.Ref = "root-failed"
	if got, want := summary(apply(t, l, s, &st, m)), "acknowledged failed task-2 failed task-2 -> pager"; got != want {
		t.Errorf("ack of the failed alert's thread: %q, want %q", got, want)
	}
	if a := alertOf(t, s, "aborted", "task-2"); a.AckedBy != "alice" {
		t.Errorf("aborted alert acked by %q, want alice", a.AckedBy)
	}
	m.Ref = ""
	if got := apply(t, l, s, &st, m); len(got) != 0 {
		t.Errorf("a reply outside any thread acted: %s", summary(got))
	}
	m.Ref = "root-unknown"
	if got := apply(t, l, s, &st, m); len(got) != 0 {
		t.Errorf("a reply in a thread Herald did not start acted: %s", summary(got))
	}
}

func TestActDedup(t *testing.T) {
	s, l := openStore(t), newActLifecycle(t)
	var st Stats
	apply(t, l, s, &st, match(failed, "task-1", "e1", t0))
	m := callback(annotated, "task-1", "rene", "note", t0)
	m.Dedup = "notification-1"
	got := apply(t, l, s, &st, m, m)
	if len(got) != 1 || st.Duplicates != 1 {
		t.Errorf("the same note twice gave %d events, %d duplicates; want 1 and 1", len(got), st.Duplicates)
	}
}

func TestFollow(t *testing.T) {
	s, l := openStore(t), newActLifecycle(t)
	var st Stats
	apply(t, l, s, &st, match(failed, "task-1", "e1", t0), match(aborted, "task-1", "e2", t0))
	follow := func(status sdk.Status, by string) int {
		var n int
		if err := s.Update(func(tx *state.Tx) error {
			var err error
			n, err = l.Follow(tx, "task-1", status, by, t0.Add(time.Minute))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := follow(sdk.StatusAcknowledged, "rene"); n != 2 {
		t.Errorf("acknowledged %d alerts, want both", n)
	}
	if n := follow(sdk.StatusAcknowledged, "rene"); n != 0 {
		t.Errorf("the same acknowledgement changed %d alerts", n)
	}
	if n := follow(sdk.StatusResolved, "rene"); n != 2 {
		t.Errorf("resolved %d alerts, want both", n)
	}
	if n := follow(sdk.StatusAcknowledged, "bob"); n != 0 {
		t.Errorf("acknowledging resolved alerts changed %d", n)
	}
	a := alertOf(t, s, "aborted", "task-1")
	if a.Status != sdk.StatusResolved || a.AckedBy != "rene" || a.ResolvedBy != "rene" {
		t.Errorf("alert = %+v", a)
	}
}

func TestFromRule(t *testing.T) {
	r := &rules.Rule{ID: "r", Severity: "info", RateLimit: time.Minute, Sinks: []string{"kind:signl4"},
		Action: rules.ActionAcknowledge, KeyFromRef: "Tmid"}
	got := FromRule(r)
	if got.ID != "r" || got.Severity != "info" || got.RateLimit != time.Minute || got.Sinks[0] != "kind:signl4" ||
		got.Action != Acknowledge || !got.KeyFromRef || got.action() != Acknowledge {
		t.Errorf("FromRule = %+v", got)
	}
	if a := FromRule(&rules.Rule{ID: "fix", Action: rules.ActionResolve, Resolves: []string{"r"}}).action(); a != Resolve {
		t.Errorf("a rule with resolves acts as %q", a)
	}
}
