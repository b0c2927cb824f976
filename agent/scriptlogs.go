package agent

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/agent/metrics"
	"github.com/heraldhq/herald/agent/scriptlog"
	"github.com/heraldhq/herald/agent/server"
)

// scriptLogCheckInterval is how often the script log directories are listed
// when no alert needed them, so a dead share shows on /healthz and in
// herald_script_log_dir_up before a failure needs it.
const scriptLogCheckInterval = time.Minute

// newScriptLogFinder returns the Finder of [agent] script_log_dir and
// script_log_dirs, which logs when a directory stops or starts answering.
func newScriptLogFinder(a config.Agent, now func() time.Time, log *slog.Logger) *scriptlog.Finder {
	return &scriptlog.Finder{
		Dirs: a.ScriptLogDirList(),
		Now:  now,
		OnStatus: func(s scriptlog.DirStatus) {
			if s.OK {
				log.Info("script log directory answers", "dir", s.Dir)
			} else {
				log.Warn("script log directory unreachable; alerts go without its script logs", "dir", s.Dir, "err", s.Err)
			}
		},
	}
}

// ScriptLogDirsDown returns the script log directories that cannot be listed
// or did not answer in time, each as "dir: why"; nil when all answer. For
// /healthz.
func (a *Agent) ScriptLogDirsDown() []string {
	if a == nil || a.scriptLogs == nil {
		return nil
	}
	return a.scriptLogs.Down()
}

// health is /healthz: the self-watch's health, and down while a script log
// directory does not answer (its alerts would go without their script logs).
func (a *Agent) health(m *metrics.Metrics) server.Health {
	h := a.self.health(m)
	for _, d := range a.ScriptLogDirsDown() {
		h.OK = false
		dir, why, _ := strings.Cut(d, ": ")
		h.Conditions = append(h.Conditions, server.Condition{
			Condition: "script_log_dir_down", Subject: dir, Summary: "script log directory " + dir + " does not answer: " + why,
			Fix: "Check the share or folder and the service account's right to list it; alerts meanwhile go without the script logs it holds.",
		})
	}
	return h
}

// scriptLogDirsUp is herald_script_log_dir_up of the running agent.
func scriptLogDirsUp(current *atomic.Pointer[Agent]) func() []metrics.DirUp {
	return func() []metrics.DirUp {
		a := current.Load()
		if a == nil || a.scriptLogs == nil {
			return nil
		}
		var out []metrics.DirUp
		for _, s := range a.scriptLogs.Status() {
			out = append(out, metrics.DirUp{Dir: s.Dir, Up: s.OK})
		}
		return out
	}
}

// watchScriptLogs lists the running agent's script log directories every
// scriptLogCheckInterval until ctx ends. A hung directory costs at most one
// waiting goroutine (see scriptlog.Finder).
func watchScriptLogs(ctx context.Context, current *atomic.Pointer[Agent]) {
	t := time.NewTicker(scriptLogCheckInterval)
	defer t.Stop()
	for {
		if a := current.Load(); a != nil && a.scriptLogs != nil {
			a.scriptLogs.Check()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
