package agent

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestPipelineCountsPerRule: the per-rule counters a user graphs (matches,
// events by status, duplicates) follow what a pipeline run committed.
func TestPipelineCountsPerRule(t *testing.T) {
	e := newTestEnv(t)
	e.write(qlikHeader + row(1, "ERROR", "a", "boom") + row(2, "ERROR", "b", "boom") + row(3, "ERROR", "a", "again") +
		row(4, "INFO", "a", "ok") + row(5, "INFO", "c", "ok"))

	if err := waitRun(t, e.start(t.Context(), true)); err != nil {
		t.Fatalf("run: %v", err)
	}
	failed, ok := e.metrics.Rule("task-failed"), e.metrics.Rule("task-ok")
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"task-failed matches", testutil.ToFloat64(failed.Matches), 3},
		{"task-failed firing events", testutil.ToFloat64(failed.Firing), 3}, // a fires again: no rate limit
		{"task-failed resolved events", testutil.ToFloat64(failed.Resolved), 1},
		{"task-ok matches", testutil.ToFloat64(ok.Matches), 2},
		{"task-ok resolved events", testutil.ToFloat64(ok.Resolved), 0}, // counted under the alert's rule
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}
