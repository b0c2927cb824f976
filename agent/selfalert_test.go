package agent

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/agent/selfwatch"
	"github.com/heraldhq/herald/agent/state"
	"github.com/heraldhq/herald/agent/tail"
	"github.com/heraldhq/herald/plugins/sdk"
)

// clock is a test clock that moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// selfEnv is a pipelineEnv whose agent runs on a test clock, with a self
// alerter over its state (no sink processes: what would be sent is read
// from the outbox).
type selfEnv struct {
	*pipelineEnv
	clock *clock
	sa    *selfAlerter
}

func newSelfEnv(t *testing.T, configure func(a *Agent)) *selfEnv {
	e := newTestEnv(t)
	c := &clock{t: time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)}
	a := e.agent
	a.opts.Now = c.Now
	if configure != nil {
		configure(a)
	}
	a.self = newSelfState(a.log, c.Now)
	sa := a.newSelfAlerter(e.store, e.metrics, nil, func(sink string) { e.notified <- sink })
	return &selfEnv{pipelineEnv: e, clock: c, sa: sa}
}

// selfEvents are the self-alert events queued for the sink, as "status
// rule key" strings.
func (e *selfEnv) selfEvents() []string {
	var out []string
	entries, err := e.store.Pending(pipelineSink, 0)
	if err != nil {
		e.tb.Fatal(err)
	}
	for _, en := range entries {
		if strings.HasPrefix(en.Event.Rule, "herald.") {
			out = append(out, string(en.Event.Status)+" "+en.Event.Rule+" "+en.Event.Key)
		}
	}
	return out
}

func (e *selfEnv) check() { e.sa.check(context.Background()) }

func equalStrings(a, b []string) bool {
	return strings.Join(a, "|") == strings.Join(b, "|")
}

// TestSelfAlertLifecycle: a condition is raised once it has lasted its grace
// period, not before and not twice, and resolved once when it ends.
func TestSelfAlertLifecycle(t *testing.T) {
	e := newSelfEnv(t, func(a *Agent) { a.cfg.SelfWatch.InputBlindAfter.Duration = 3 * time.Minute })
	p := e.pipeline(false)
	p.act = e.agent.self.input("scheduler")
	blind := tail.Status{Patterns: []tail.PatternStatus{{Pattern: "/logs/*.txt", Problem: "no file matches /logs/*.txt; the deepest folder that exists is /"}}}
	p.tailStatus(blind)
	if inputs, _ := e.metrics.Up(); inputs["scheduler"] {
		t.Error("a blind input shows up in herald_inputs_up")
	}

	e.check()
	if got := e.selfEvents(); len(got) != 0 {
		t.Fatalf("raised before its grace period: %v", got)
	}
	e.clock.add(3 * time.Minute)
	e.check()
	e.check()
	if got, want := e.selfEvents(), []string{"firing herald.input_blind scheduler"}; !equalStrings(got, want) {
		t.Fatalf("after the grace period: %v, want %v", got, want)
	}
	var al state.Alert
	e.store.View(func(tx *state.Tx) error { al, _ = tx.Alert("herald.input_blind", "scheduler"); return nil })
	if al.Status != sdk.StatusFiring || al.Severity != "critical" || !strings.Contains(al.Title, "/logs/*.txt") {
		t.Errorf("stored self-alert = %+v", al)
	}

	p.tailStatus(tail.Status{Patterns: []tail.PatternStatus{{Pattern: "/logs/*.txt", Files: 1}}, Followed: 1})
	if inputs, _ := e.metrics.Up(); !inputs["scheduler"] {
		t.Error("the input stays down once it follows a file")
	}
	e.check()
	e.check()
	want := []string{"firing herald.input_blind scheduler", "resolved herald.input_blind scheduler"}
	if got := e.selfEvents(); !equalStrings(got, want) {
		t.Fatalf("after it ended: %v, want %v", got, want)
	}

	// A condition that ends within its grace period raises nothing.
	p.tailStatus(blind)
	e.clock.add(time.Minute)
	e.check()
	p.tailStatus(tail.Status{Patterns: []tail.PatternStatus{{Pattern: "/logs/*.txt", Files: 1}}, Followed: 1})
	e.clock.add(5 * time.Minute)
	e.check()
	if got := e.selfEvents(); !equalStrings(got, want) {
		t.Fatalf("a short blindness raised: %v", got)
	}
}

// TestSelfAlertUnreadableFiles: each unreadable file is its own condition,
// and ends when the tailer no longer reports it.
func TestSelfAlertUnreadableFiles(t *testing.T) {
	e := newSelfEnv(t, func(a *Agent) { a.cfg.SelfWatch.FileUnreadableAfter.Duration = 0 })
	p := e.pipeline(false)
	p.act = e.agent.self.input("scheduler")
	since := e.clock.Now()
	p.tailStatus(tail.Status{Followed: 1, Unreadable: []tail.FileProblem{
		{Path: "/logs/a.txt", Err: "open /logs/a.txt: permission denied", Since: since},
		{Path: "/logs/b.txt", Err: "read /logs/b.txt: sharing violation", Since: since},
	}})
	e.check()
	want := []string{"firing herald.file_unreadable /logs/a.txt", "firing herald.file_unreadable /logs/b.txt"}
	if got := e.selfEvents(); !equalStrings(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	c, _ := e.agent.self.watch.Get(selfwatch.FileUnreadable, "/logs/a.txt")
	if !strings.Contains(c.Summary, "permission denied") || !c.Since.Equal(since) {
		t.Errorf("condition = %+v", c)
	}
	p.tailStatus(tail.Status{Followed: 2, Unreadable: []tail.FileProblem{{Path: "/logs/b.txt", Err: "x", Since: since}}})
	e.check()
	want = append(want, "resolved herald.file_unreadable /logs/a.txt")
	if got := e.selfEvents(); !equalStrings(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// TestSelfAlertSilenceAndTraceLevel: an input with max_silence is silent
// once no line came for that long; a Qlik input whose rows have no INFO
// level for the window raises qlik_trace_level, which an INFO row ends.
func TestSelfAlertSilenceAndTraceLevel(t *testing.T) {
	e := newSelfEnv(t, func(a *Agent) {
		a.inputs[0].cfg.MaxSilence.Duration = time.Hour
		a.cfg.SelfWatch.TraceLevelWindow.Duration = 2 * time.Hour
	})
	p := e.pipeline(false)
	p.act = e.agent.self.input("scheduler")
	filter := p.filter()

	p.act.sawLine(e.clock.Now())
	filter("1\t20261205T090000.000+0100\tINFO\tt\tok")
	e.check()
	e.clock.add(59 * time.Minute)
	filter("2\t20261205T095900.000+0100\tWARN\tt\tslow")
	p.act.sawLine(e.clock.Now())
	e.check()
	if got := e.selfEvents(); len(got) != 0 {
		t.Fatalf("raised too early: %v", got)
	}

	// Rows keep coming, none at INFO; then nothing at all.
	for range 4 {
		e.clock.add(30 * time.Minute)
		filter("3\t20261205T103000.000+0100\tWARN\tt\tslow")
		p.act.sawLine(e.clock.Now())
		e.check()
	}
	if got, want := e.selfEvents(), []string{"firing herald.qlik_trace_level scheduler"}; !equalStrings(got, want) {
		t.Fatalf("after 2h of rows without INFO: %v, want %v", got, want)
	}
	e.clock.add(61 * time.Minute)
	e.check()
	want := []string{"firing herald.qlik_trace_level scheduler", "firing herald.input_silent scheduler"}
	if got := e.selfEvents(); !equalStrings(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	c, _ := e.agent.self.watch.Get(selfwatch.TraceLevel, "scheduler")
	if !strings.Contains(c.Fix, "QMC") {
		t.Errorf("the trace level condition does not say which QMC setting to change: %+v", c)
	}

	filter("4\t20261205T130000.000+0100\tINFO\tt\tok")
	p.act.sawLine(e.clock.Now())
	e.check()
	want = append(want, "resolved herald.input_silent scheduler", "resolved herald.qlik_trace_level scheduler")
	if got := e.selfEvents(); !equalStrings(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// TestSelfAlertSinks: a sink's dead letters and a crashing plugin are
// conditions that end on their own after their window; an alert about a
// sink is not queued for that sink.
func TestSelfAlertSinks(t *testing.T) {
	e := newSelfEnv(t, func(a *Agent) {
		a.cfg.SelfWatch.DeadLettersFor.Duration = time.Hour
		a.cfg.SelfWatch.PluginRestarts = 2
		a.cfg.SelfWatch.PluginRestartsWindow.Duration = 10 * time.Minute
	})
	obs := e.agent.self.observer(e.metrics.Dispatch())
	obs.Sent(pipelineSink, sdk.Rejected, 2)
	obs.Restart(pipelineSink)
	e.clock.add(time.Minute)
	obs.Restart(pipelineSink)
	e.check()
	var kinds []string
	for _, c := range e.agent.self.watch.Active() {
		kinds = append(kinds, string(c.Kind)+" "+c.Subject)
	}
	if want := []string{"sink_dead_letters out", "plugin_crashing out"}; !equalStrings(kinds, want) {
		t.Fatalf("active %v, want %v", kinds, want)
	}
	c, _ := e.agent.self.watch.Get(selfwatch.SinkDeadLetters, pipelineSink)
	if !strings.Contains(c.Summary, "rejected 2 events") {
		t.Errorf("dead letters summary %q does not count them", c.Summary)
	}
	// The only sink is the broken one: nothing is queued about it, for it.
	if got := e.selfEvents(); len(got) != 0 {
		t.Errorf("a self-alert about sink out was queued for out: %v", got)
	}
	var open []string
	e.store.View(func(tx *state.Tx) error {
		for _, al := range tx.Alerts(nil) {
			open = append(open, al.Rule+" "+al.Key)
		}
		return nil
	})
	if want := []string{"herald.plugin_crashing out", "herald.sink_dead_letters out"}; !equalStrings(open, want) {
		t.Errorf("alerts in the state %v, want %v (listed in herald alerts even with no sink to tell)", open, want)
	}

	e.clock.add(61 * time.Minute)
	e.check()
	if got := e.agent.self.watch.Active(); len(got) != 0 {
		t.Errorf("conditions still active after their windows: %+v", got)
	}
}
