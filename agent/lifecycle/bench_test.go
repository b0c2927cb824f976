package lifecycle

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/agent/state"
	"github.com/heraldhq/herald/plugins/sdk"
)

// BenchmarkApplyFire is the commit path of new alerts as the agent runs it
// during a catch-up: per transaction, 100 matches of a rule shaped like the
// qliksense pack's qlik-reload-failed (a dedup value, nine fields) each open an
// alert, and the event is enqueued for the one sink. ns/alert is per match;
// B/op and allocs/op are per transaction of 100. Run it with TMPDIR on a
// tmpfs to leave fsync out of the figure.
func BenchmarkApplyFire(b *testing.B) {
	s, err := state.Open(filepath.Join(b.TempDir(), "herald.db"), state.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	rule := &RuleInfo{ID: "qlik-reload-failed", Severity: "critical"}
	// The clock moves on with every match, as the agent's does: a clock that
	// stood still would key every dedup id by the same time, so each would
	// land on a page of its own instead of after the last one.
	n := 0
	now := func() time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	l, err := New("QS-NODE1", []*RuleInfo{rule}, []Sink{{Name: "hook", Kind: "webhook"}}, now)
	if err != nil {
		b.Fatal(err)
	}
	const perTx = 100
	matches := make([]Match, perTx)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		for i := range matches {
			n++
			task := fmt.Sprintf("5c7f2f5a-6d2b-4a39-a8a5-%012d", n)
			matches[i] = Match{
				Rule: rule, Key: task, Dedup: fmt.Sprintf("0f7b6f8e-3a55-4d8f-9e0c-%012d", n),
				Title:   "Qlik Sense reload failed: Reload Sales dashboard",
				Message: strings.Repeat("Reload task failed for app. ", 8),
				Fields: map[string]string{
					"TaskName": "Reload Sales dashboard", "TaskId": task, "AppName": "Sales dashboard",
					"AppId": "5c7f2f5a-6d2b-4a39-a8a5-2f0b0e1f5d3c", "ExecutionId": "0f7b6f8e-3a55-4d8f-9e0c-2b1f9d3c7a11",
					"Hostname": "QS-NODE1", "User": "INTERNAL\\sa_scheduler", "ScriptLogErrors": "", "ScriptLogTail": "",
				},
				Time: t0.Add(time.Duration(n) * time.Millisecond), Origin: fmt.Sprintf("scheduler:1024:0123456789abcdef@%d", n*270),
			}
		}
		b.StartTimer()
		err := s.Update(func(tx *state.Tx) error {
			var st Stats
			for _, m := range matches {
				routed, err := l.Apply(tx, m, &st)
				if err != nil {
					return err
				}
				for _, r := range routed {
					for _, sink := range r.Sinks {
						if _, err := tx.Enqueue(sink, r.Event); err != nil {
							return err
						}
					}
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		// Deliver as the dispatcher would, so the outbox stays small.
		b.StopTimer()
		pending, err := s.Pending("hook", 0)
		if err != nil || len(pending) != perTx {
			b.Fatalf("Pending: %d entries, %v", len(pending), err)
		}
		done := make([]state.Done, len(pending))
		for i, e := range pending {
			done[i] = state.Done{Seq: e.Seq, Result: sdk.Accept("")}
		}
		if err := s.Complete("hook", done); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/alert")
}
