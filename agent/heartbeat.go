package agent

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/heraldhq/herald/agent/heartbeat"
	"github.com/heraldhq/herald/agent/metrics"
)

// healthReason is the agent's health as the heartbeat reports it: the same
// source as /healthz, and why not when it is not healthy. It is the one place
// the heartbeat learns the agent's health.
func (a *Agent) healthReason(m *metrics.Metrics) (ok bool, reason string) {
	h := a.health(m)
	if h.OK {
		return true, ""
	}
	var down []string
	for _, part := range []struct {
		kind string
		up   map[string]bool
	}{{"input", h.Inputs}, {"plugin", h.Plugins}} {
		var names []string
		for name, up := range part.up {
			if !up {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		for _, name := range names {
			down = append(down, fmt.Sprintf("%s %s down", part.kind, name))
		}
	}
	for _, c := range h.Conditions {
		down = append(down, c.Condition+": "+c.Summary)
	}
	return false, fmt.Sprintf("herald on %s: %s", a.cfg.Agent.Host, strings.Join(down, "; "))
}

// startHeartbeat starts pinging [heartbeat] url, once for the whole run (a
// reload does not restart it), and returns the function that stops it and
// waits for it. Without a url, or with Once, it does nothing.
func (a *Agent) startHeartbeat(ctx context.Context, m *metrics.Metrics, once bool) (stop func()) {
	c := a.cfg.Heartbeat
	if c.URL == "" || once {
		return func() {}
	}
	hb, err := heartbeat.New(heartbeat.Config{
		URL:       c.URL,
		Interval:  c.Interval.Duration,
		Timeout:   c.Timeout.Duration,
		Method:    c.Method,
		OnFailure: c.OnFailure,
		Style:     c.Style,
		Observe:   m.Heartbeat(heartbeat.ResultUp, heartbeat.ResultDown, heartbeat.ResultError),
	}, func() (bool, string) { return a.healthReason(m) }, a.log, nil)
	if err != nil {
		// The config was validated: only a bug gets here. Run on without it,
		// loudly; the dead-man's switch pages because nothing arrives.
		a.log.Error("heartbeat not started", "err", err)
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		hb.Run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// warnHeartbeatChange says that a changed [heartbeat] waits for a restart: the
// heartbeat runs once for the whole run.
func (a *Agent) warnHeartbeatChange(next *Agent) {
	if next.cfg.Heartbeat != a.cfg.Heartbeat {
		a.log.Warn("[heartbeat] changed in the config; it takes effect at the next restart")
	}
}
