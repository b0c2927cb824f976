package agent

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/agent/metrics"
	"github.com/heraldhq/herald/agent/scriptlog"
	"github.com/heraldhq/herald/agent/selfwatch"
	"github.com/prometheus/client_golang/prometheus"
)

func TestHealthReason(t *testing.T) {
	a := &Agent{cfg: &config.Config{Agent: config.Agent{Host: "qs-node-1"}}, self: newSelfState(nil, nil)}
	m := metrics.New(prometheus.NewRegistry())
	m.Input("scheduler").SetUp(true)
	m.Sink("pager").SetUp(true)
	if ok, reason := a.healthReason(m); !ok || reason != "" {
		t.Errorf("healthReason = %v, %q; want healthy", ok, reason)
	}
	m.Sink("pager").SetUp(false)
	m.Sink("chat").SetUp(false)
	m.Input("scheduler").SetUp(false)
	ok, reason := a.healthReason(m)
	if want := "herald on qs-node-1: input scheduler down; plugin chat down; plugin pager down"; ok || reason != want {
		t.Errorf("healthReason = %v, %q; want false, %q", ok, reason, want)
	}

	// A self-watch condition makes the heartbeat unhealthy too, and says why.
	m.Sink("pager").SetUp(true)
	m.Sink("chat").SetUp(true)
	m.Input("scheduler").SetUp(true)
	a.self.watch.Set(selfwatch.Condition{Kind: selfwatch.StateFailing, Subject: "state", Summary: "cannot save state: disk full"})
	ok, reason = a.healthReason(m)
	if want := "herald on qs-node-1: state_failing: cannot save state: disk full"; ok || reason != want {
		t.Errorf("healthReason = %v, %q; want false, %q", ok, reason, want)
	}
}

// TestHealthScriptLogDirDown: a script log directory that does not answer
// makes /healthz (and the heartbeat) unhealthy, naming the directory.
func TestHealthScriptLogDirDown(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "Script")
	a := &Agent{cfg: &config.Config{Agent: config.Agent{Host: "qs-node-1"}}, self: newSelfState(nil, nil),
		scriptLogs: &scriptlog.Finder{Dirs: []string{missing}}}
	m := metrics.New(prometheus.NewRegistry())
	a.scriptLogs.Check()
	h := a.health(m)
	if h.OK || len(h.Conditions) != 1 || h.Conditions[0].Condition != "script_log_dir_down" || h.Conditions[0].Subject != missing {
		t.Fatalf("health = %+v, want down naming %s", h, missing)
	}
	if err := os.Mkdir(missing, 0o755); err != nil {
		t.Fatal(err)
	}
	a.scriptLogs.Check()
	if h := a.health(m); !h.OK {
		t.Errorf("health once the directory exists = %+v", h)
	}
}
