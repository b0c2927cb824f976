package agent

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/agent/dispatch"
	"github.com/heraldhq/herald/agent/lifecycle"
	"github.com/heraldhq/herald/agent/metrics"
	"github.com/heraldhq/herald/agent/selfwatch"
	"github.com/heraldhq/herald/agent/server"
	"github.com/heraldhq/herald/agent/state"
	"github.com/heraldhq/herald/plugins/sdk"
)

// selfState is what the self-watch keeps for the whole run, across reloads:
// the active conditions and what the detectors need to tell them.
type selfState struct {
	watch *selfwatch.Watch
	log   *slog.Logger
	now   func() time.Time

	mu       sync.Mutex
	inputs   map[string]*inputActivity
	restarts map[string][]time.Time // plugin restarts per sink, newest last
	lastDead map[string]time.Time   // when each sink last rejected an event for good
	dead     map[string]int         // events rejected for good while the condition lasts
	deadWhy  map[string]string      // why, the last time
	lastOK   map[string]time.Time   // when each sink last accepted events
	lastFail map[string]time.Time   // when each sink last answered retryable or rejected

	// recent are the last events produced, for the status page; kept across
	// reloads with the rest.
	recent *eventRing
}

func newSelfState(log *slog.Logger, now func() time.Time) *selfState {
	if now == nil {
		now = time.Now
	}
	return &selfState{
		watch: selfwatch.New(now), log: log, now: now,
		inputs: map[string]*inputActivity{}, restarts: map[string][]time.Time{},
		lastDead: map[string]time.Time{}, dead: map[string]int{}, deadWhy: map[string]string{},
		lastOK: map[string]time.Time{}, lastFail: map[string]time.Time{}, recent: newEventRing(recentEvents),
	}
}

// inputActivity is what a file input's pipeline tells the self-watch. The
// pipeline writes with atomic stores only; the check loop reads.
type inputActivity struct {
	// lastLine is the Unix nanoseconds of the newest line read, or of the
	// newest modification of a followed file when it was opened.
	lastLine atomic.Int64
	// rows and info are set when a Qlik row, and a Qlik row at INFO level,
	// was seen since the check loop last looked (and cleared them).
	rows, info atomic.Bool

	// The check loop's own.
	started, lastRow, lastInfo time.Time
}

// input returns the activity record of the input with this name.
func (s *selfState) input(name string) *inputActivity {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.inputs[name]
	if a == nil {
		now := s.now()
		a = &inputActivity{started: now, lastInfo: now}
		s.inputs[name] = a
	}
	return a
}

// sawLine records that the input read a line (or found a file modified) at t.
func (a *inputActivity) sawLine(t time.Time) {
	n := t.UnixNano()
	for {
		old := a.lastLine.Load()
		if old >= n || a.lastLine.CompareAndSwap(old, n) {
			return
		}
	}
}

// observer wraps the dispatchers' observer to learn of dead letters and
// plugin restarts.
func (s *selfState) observer(next dispatch.Observer) dispatch.Observer {
	return selfObserver{next: next, s: s}
}

type selfObserver struct {
	next dispatch.Observer
	s    *selfState
}

func (o selfObserver) Sent(sink string, outcome sdk.Outcome, n int) {
	o.next.Sent(sink, outcome, n)
	if n > 0 {
		o.s.mu.Lock()
		if outcome == sdk.Accepted {
			o.s.lastOK[sink] = o.s.now()
		} else {
			o.s.lastFail[sink] = o.s.now()
		}
		o.s.mu.Unlock()
	}
	if outcome == sdk.Rejected && n > 0 {
		o.s.mu.Lock()
		o.s.lastDead[sink] = o.s.now()
		o.s.dead[sink] += n
		o.s.mu.Unlock()
		o.s.watch.Set(selfwatch.Condition{
			Kind: selfwatch.SinkDeadLetters, Subject: sink,
			Summary: fmt.Sprintf("sink %s rejected events for good; they are in its dead letters", sink),
			Fix:     "Read the reasons with `herald outbox list --dead --sink " + sink + "`, fix the sink's config or the destination, then retry them with `herald outbox retry --sink " + sink + " --all`.",
		})
	}
}

func (o selfObserver) Retry(sink string) { o.next.Retry(sink) }

func (o selfObserver) Restart(sink string) {
	o.next.Restart(sink)
	o.s.mu.Lock()
	o.s.restarts[sink] = append(o.s.restarts[sink], o.s.now())
	o.s.mu.Unlock()
}

func (o selfObserver) Depth(sink string, n int) { o.next.Depth(sink, n) }

// stateFailed and stateOK are called by whatever commits to the store, so a
// store that cannot commit (a full disk) is a condition.
func (s *selfState) stateFailed(path string, err error) {
	s.watch.Set(selfwatch.Condition{
		Kind: selfwatch.StateFailing, Subject: "state",
		Summary: fmt.Sprintf("cannot save state in %s: %v", path, err),
		Fix:     "Free space on the disk of [agent] data_dir, or fix its permissions. Tailing waits and retries, so nothing read is lost, but no alert is raised or delivered while this lasts.",
	})
}

func (s *selfState) stateOK() { s.watch.Clear(selfwatch.StateFailing, "state") }

// health is /healthz: down while any condition is active, or an input or a
// plugin is down.
func (s *selfState) health(m *metrics.Metrics) server.Health {
	h := server.HealthOf(m.Up())
	for _, c := range s.watch.Active() {
		h.OK = false
		h.Conditions = append(h.Conditions, server.Condition{
			Condition: string(c.Kind), Subject: c.Subject, Since: c.Since, Summary: c.Summary, Fix: c.Fix,
		})
	}
	return h
}

// selfRules are the rules under which conditions are raised as alerts: one
// per kind, and one per kind that resolves it.
func selfRules(sw config.SelfWatch) []*lifecycle.RuleInfo {
	var out []*lifecycle.RuleInfo
	for _, k := range selfwatch.Kinds {
		out = append(out,
			&lifecycle.RuleInfo{ID: k.RuleID(), Severity: sw.Severity, Sinks: sw.Sinks, Action: lifecycle.Fire},
			&lifecycle.RuleInfo{ID: k.RuleID() + ".cleared", Severity: sw.Severity, Sinks: sw.Sinks, Resolves: []string{k.RuleID()}})
	}
	return out
}

// selfAlerter runs the time-based detectors and raises and resolves the
// self-alerts of one configuration (serve starts one per reload).
type selfAlerter struct {
	agent  *Agent
	s      *selfState
	store  *state.Store
	m      *metrics.Metrics
	sinks  []*runningSink
	notify func(sink string)
	cfg    config.SelfWatch

	// alerted are the conditions with an open self-alert, by rule id and
	// subject, each with whether that alert is in the state (it is not when
	// the store could not save it and it was sent directly).
	alerted map[[2]string]bool
}

func (a *Agent) newSelfAlerter(store *state.Store, m *metrics.Metrics, sinks []*runningSink, notify func(string)) *selfAlerter {
	return &selfAlerter{agent: a, s: a.self, store: store, m: m, sinks: sinks, notify: notify, cfg: a.cfg.SelfWatch, alerted: map[[2]string]bool{}}
}

// run checks the conditions every check_interval and whenever one starts or
// ends, until ctx ends.
func (sa *selfAlerter) run(ctx context.Context) {
	sa.forgetRemoved()
	if err := sa.store.View(func(tx *state.Tx) error {
		for _, al := range tx.Alerts(func(al state.Alert) bool {
			return strings.HasPrefix(al.Rule, "herald.") && al.Status != sdk.StatusResolved
		}) {
			sa.alerted[[2]string{al.Rule, al.Key}] = true // stored
		}
		return nil
	}); err != nil {
		sa.agent.log.Warn("self-watch: cannot read its open alerts", "err", err)
	}
	t := time.NewTicker(sa.cfg.CheckInterval.Duration)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-sa.s.watch.Changed():
		}
		sa.check(ctx)
	}
}

// forgetRemoved ends the conditions of inputs and sinks that the running
// configuration no longer has: nothing would clear them.
func (sa *selfAlerter) forgetRemoved() {
	inputs, sinks := map[string]bool{}, map[string]bool{}
	for _, in := range sa.agent.cfg.Inputs {
		inputs[in.Name] = true
	}
	for _, s := range sa.agent.cfg.Sinks {
		sinks[s.Name] = true
	}
	for _, c := range sa.s.watch.Active() {
		switch {
		case c.Kind.AboutSink() && !sinks[c.Subject],
			c.Kind == selfwatch.FileUnreadable && !inputs[c.Scope],
			(c.Kind == selfwatch.InputBlind || c.Kind == selfwatch.InputSilent || c.Kind == selfwatch.TraceLevel) && !inputs[c.Subject]:
			sa.s.watch.Clear(c.Kind, c.Subject)
		}
	}
}

// check runs the detectors that depend on time, then raises the conditions
// that have lasted their grace period and resolves the alerts of those that
// ended.
func (sa *selfAlerter) check(ctx context.Context) {
	now := sa.agent.opts.Now()
	sa.checkInputs(now)
	sa.checkSinks(now)
	if !sa.cfg.Alerts {
		return
	}
	active := map[[2]string]selfwatch.Condition{}
	for _, c := range sa.s.watch.Active() {
		k := [2]string{c.Kind.RuleID(), c.Subject}
		active[k] = c
		if _, open := sa.alerted[k]; !open && now.Sub(c.Since) >= sa.grace(c.Kind) {
			sa.raise(ctx, c, now)
		}
	}
	var ended [][2]string
	for k := range sa.alerted {
		if _, ok := active[k]; !ok {
			ended = append(ended, k)
		}
	}
	slices.SortFunc(ended, func(a, b [2]string) int { return cmp.Or(strings.Compare(a[0], b[0]), strings.Compare(a[1], b[1])) })
	for _, k := range ended {
		sa.resolve(ctx, k, now)
	}
}

// grace is how long a condition of kind k lasts before it is an alert. The
// kinds without one have their threshold in their definition already.
func (sa *selfAlerter) grace(k selfwatch.Kind) time.Duration {
	switch k {
	case selfwatch.InputBlind:
		return sa.cfg.InputBlindAfter.Duration
	case selfwatch.FileUnreadable:
		return sa.cfg.FileUnreadableAfter.Duration
	case selfwatch.StateFailing:
		return sa.cfg.StateFailingAfter.Duration
	}
	return 0
}

// checkInputs tells silent inputs and Qlik logs without INFO rows.
func (sa *selfAlerter) checkInputs(now time.Time) {
	for _, in := range sa.agent.inputs {
		name := in.cfg.Name
		act := sa.s.input(name)
		if limit := in.cfg.MaxSilence.Duration; limit > 0 {
			last := act.started
			if n := act.lastLine.Load(); n > 0 {
				last = time.Unix(0, n)
			}
			if quiet := now.Sub(last); quiet > limit {
				sa.s.watch.Set(selfwatch.Condition{
					Kind: selfwatch.InputSilent, Subject: name, Since: last.Add(limit),
					Summary: fmt.Sprintf("input %s has read no new line since %s (max_silence %s)", name, last.Format(time.RFC3339), limit),
					Fix:     "Check that the Qlik service that writes these files runs on this node, and that the input's paths still match the file it writes now (`herald check`). Raise max_silence if the log is quiet this long by design.",
				})
			} else {
				sa.s.watch.Clear(selfwatch.InputSilent, name)
			}
		}
		if in.cfg.Parser != "qlik" {
			continue
		}
		if act.rows.Swap(false) {
			act.lastRow = now
		}
		if act.info.Swap(false) {
			act.lastInfo = now
			sa.s.watch.Clear(selfwatch.TraceLevel, name)
			continue
		}
		window := sa.cfg.TraceLevelWindow.Duration
		if !act.lastRow.IsZero() && now.Sub(act.lastInfo) >= window {
			sa.s.watch.Set(selfwatch.Condition{
				Kind: selfwatch.TraceLevel, Subject: name,
				Summary: fmt.Sprintf("input %s: the Qlik log rows of the last %s have no INFO level; reload success, failure and abort rows are written at INFO, so Herald cannot see them", name, window),
				Fix:     "In the QMC, open Schedulers, edit this node's scheduler and under Logging set the trace level of the Scheduler's System log back to Info (at least). The alert resolves at the next INFO row.",
			})
		}
	}
}

// checkSinks tells sinks whose oldest event waits too long, whose events went
// to dead letters lately, and whose plugin keeps crashing.
func (sa *selfAlerter) checkSinks(now time.Time) {
	s := sa.s
	for _, sink := range sa.agent.sinks {
		name := sink.cfg.Name
		if p, err := sa.store.Pending(name, 1); err == nil && len(p) > 0 && now.Sub(p[0].Enqueued) > sa.cfg.SinkPendingAfter.Duration {
			n, _ := sa.store.Depth(name)
			why := ""
			if p[0].LastError != "" {
				why = "; last answer: " + p[0].LastError
			}
			s.watch.Set(selfwatch.Condition{
				Kind: selfwatch.SinkPending, Subject: name, Since: p[0].Enqueued.Add(sa.cfg.SinkPendingAfter.Duration),
				Summary: fmt.Sprintf("sink %s has not delivered its oldest event, queued at %s (%d waiting)%s", name, p[0].Enqueued.Format(time.RFC3339), n, why),
				Fix:     "Check the destination (its URL, credentials, the network from this node); `herald outbox " + name + "` lists what waits. Nothing is dropped: it is delivered when the sink answers again.",
			})
		} else if err == nil {
			s.watch.Clear(selfwatch.SinkPending, name)
		}

		s.mu.Lock()
		last, dead := s.lastDead[name], s.dead[name]
		keep := s.restarts[name][:0]
		for _, t := range s.restarts[name] {
			if now.Sub(t) <= sa.cfg.PluginRestartsWindow.Duration {
				keep = append(keep, t)
			}
		}
		s.restarts[name] = keep
		restarts := len(keep)
		if !last.IsZero() && now.Sub(last) > sa.cfg.DeadLettersFor.Duration {
			delete(s.lastDead, name)
			delete(s.dead, name)
			last = time.Time{}
		}
		s.mu.Unlock()

		if last.IsZero() {
			s.watch.Clear(selfwatch.SinkDeadLetters, name)
		} else if c, ok := s.watch.Get(selfwatch.SinkDeadLetters, name); ok {
			c.Summary = fmt.Sprintf("sink %s rejected %d events for good since %s, the last at %s; they are in its dead letters", name, dead, c.Since.Format(time.RFC3339), last.Format(time.RFC3339))
			s.watch.Set(c)
		}
		if restarts >= sa.cfg.PluginRestarts {
			s.watch.Set(selfwatch.Condition{
				Kind: selfwatch.PluginCrashing, Subject: name,
				Summary: fmt.Sprintf("the plugin of sink %s was restarted %d times in the last %s", name, restarts, sa.cfg.PluginRestartsWindow.Duration),
				Fix:     "The agent log has the plugin's last output before each exit; check the sink's config, and for a plugin of your own, its logs.",
			})
		} else {
			s.watch.Clear(selfwatch.PluginCrashing, name)
		}
	}
}

// targets returns the sinks a self-alert of kind k about subject goes to: the
// rule's sinks, less the sink the condition is about.
func (sa *selfAlerter) targets(k selfwatch.Kind, subject string, routed []string) []string {
	if !k.AboutSink() {
		return routed
	}
	return slices.DeleteFunc(slices.Clone(routed), func(s string) bool { return s == subject })
}

// raise opens the self-alert of condition c. If the state cannot save it, it
// is still sent, best effort, straight to the sinks' plugins.
func (sa *selfAlerter) raise(ctx context.Context, c selfwatch.Condition, now time.Time) {
	a := sa.agent
	rule := a.life.Rule(c.Kind.RuleID())
	title := "Herald: " + c.Summary
	msg := c.Summary + "\nSince " + c.Since.Format(time.RFC3339) + ".\nFix: " + c.Fix
	fields := map[string]string{"condition": string(c.Kind), "subject": c.Subject, "since": c.Since.Format(time.RFC3339)}
	match := lifecycle.Match{Rule: rule, Key: c.Subject, Title: title, Message: msg, Fields: fields,
		Time: c.Since, Origin: "herald:" + string(c.Kind) + ":" + c.Subject}
	k := [2]string{rule.ID, c.Subject}
	err := sa.apply(c.Kind, match)
	sa.alerted[k] = err == nil
	a.log.Warn("self-alert raised", "condition", c.Kind, "subject", c.Subject, "summary", c.Summary, "stored", err == nil)
	if err != nil {
		sa.sendDirect(ctx, c.Kind, c.Subject, sdk.Event{
			ID: directID(match.Origin, string(sdk.StatusFiring), c.Since), Rule: rule.ID, Status: sdk.StatusFiring, Key: c.Subject,
			Severity: rule.Severity, Title: title, Message: msg, Fields: fields, Time: c.Since, Host: a.cfg.Agent.Host,
		}, err)
	}
}

// resolve closes the self-alert k (rule id, subject) of a condition that ended.
func (sa *selfAlerter) resolve(ctx context.Context, k [2]string, now time.Time) {
	a := sa.agent
	kind := selfwatch.Kind(strings.TrimPrefix(k[0], "herald."))
	rule := a.life.Rule(k[0] + ".cleared")
	if rule == nil {
		delete(sa.alerted, k) // a kind of an earlier release
		return
	}
	title := fmt.Sprintf("Herald: %s %s is resolved", kind, k[1])
	match := lifecycle.Match{Rule: rule, Key: k[1], Title: title, Message: "The condition ended at " + now.Format(time.RFC3339) + ".",
		Time: now, Origin: "herald:" + string(kind) + ":" + k[1] + ":cleared"}
	// An alert that the state could not save was sent directly; so is its
	// resolution, as the state has nothing to resolve.
	var err error
	if stored := sa.alerted[k]; stored {
		err = sa.apply(kind, match)
	} else {
		err = errors.New("its alert was not saved either")
	}
	a.log.Info("self-alert resolved", "condition", kind, "subject", k[1], "stored", err == nil)
	delete(sa.alerted, k)
	if err != nil {
		sa.sendDirect(ctx, kind, k[1], sdk.Event{
			ID: directID(match.Origin, string(sdk.StatusResolved), now), Rule: k[0], Status: sdk.StatusResolved, Key: k[1],
			Severity: rule.Severity, Title: title, Message: match.Message, Time: now, Host: a.cfg.Agent.Host,
		}, err)
	}
}

// apply records a self-alert's match in the state and queues its events,
// like a rule's match on a log line.
func (sa *selfAlerter) apply(kind selfwatch.Kind, m lifecycle.Match) error {
	a := sa.agent
	var done applied
	err := sa.store.Update(func(tx *state.Tx) error {
		done = applied{touched: map[string]bool{}}
		var st lifecycle.Stats
		routed, err := a.life.Apply(tx, m, &st)
		if err != nil {
			return err
		}
		for i := range routed {
			if err := a.queue(tx, &routed[i].Event, sa.targets(kind, m.Key, routed[i].Sinks), &done); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		sa.s.stateFailed(sa.store.Path(), err)
		return err
	}
	a.publish(sa.m, done, sa.notify)
	return nil
}

// sendDirect sends a self-alert that could not be stored straight to the
// plugins of its sinks, once, and logs what came of it.
func (sa *selfAlerter) sendDirect(ctx context.Context, kind selfwatch.Kind, subject string, ev sdk.Event, cause error) {
	a := sa.agent
	to := sa.targets(kind, subject, a.life.Route(kind.RuleID()))
	for _, s := range sa.sinks {
		if !slices.Contains(to, s.spec.cfg.Name) {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		res, err := s.sendDirect(sctx, ev)
		cancel()
		switch {
		case err != nil:
			a.log.Error("self-alert could not be stored nor sent", "sink", s.spec.cfg.Name, "condition", kind, "subject", subject, "store_err", cause, "err", err)
		case res.Outcome != sdk.Accepted:
			a.log.Error("self-alert could not be stored, and the sink did not take it", "sink", s.spec.cfg.Name, "condition", kind, "subject", subject, "store_err", cause, "answer", res.Reason)
		default:
			a.log.Warn("self-alert could not be stored; sent directly, best effort", "sink", s.spec.cfg.Name, "condition", kind, "subject", subject, "status", ev.Status, "store_err", cause)
		}
	}
}

// directID is the id of a self-alert event sent without the state.
func directID(origin, status string, at time.Time) string {
	sum := sha256.Sum256([]byte(origin + "\x00" + status + "\x00" + at.UTC().Format(time.RFC3339Nano)))
	return hex.EncodeToString(sum[:12])
}
