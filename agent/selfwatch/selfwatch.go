// Package selfwatch keeps the conditions under which Herald cannot see or
// deliver: an input whose patterns match no readable file, a file it may not
// read, an input gone silent, a Qlik scheduler log written without INFO rows,
// a state store that cannot commit, a sink that does not deliver.
//
// Detectors in the agent Set a condition when it starts and Clear it when it
// ends; the Watch answers /healthz and the herald_condition_active metric at
// once, and the agent raises a condition as an alert of its own once it has
// lasted its grace period (agent/selfalert.go).
package selfwatch

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Kind names a way Herald can go blind or mute.
type Kind string

// The kinds. Their values are stable: they are metric labels, rule ids
// (herald.<kind>) and the condition names /healthz lists.
const (
	// InputBlind: a file input's patterns match no readable file.
	InputBlind Kind = "input_blind"
	// FileUnreadable: a matching file cannot be opened or read.
	FileUnreadable Kind = "file_unreadable"
	// InputSilent: an input produced no new line for longer than max_silence.
	InputSilent Kind = "input_silent"
	// TraceLevel: a Qlik scheduler log shows no INFO rows over a window.
	TraceLevel Kind = "qlik_trace_level"
	// StateFailing: the state store cannot commit.
	StateFailing Kind = "state_failing"
	// SinkPending: a sink's oldest undelivered event is too old.
	SinkPending Kind = "sink_pending"
	// SinkDeadLetters: a sink rejected events for good.
	SinkDeadLetters Kind = "sink_dead_letters"
	// PluginCrashing: a sink's plugin keeps crashing.
	PluginCrashing Kind = "plugin_crashing"
)

// Kinds lists every kind, in the order /healthz and the README use.
var Kinds = []Kind{InputBlind, FileUnreadable, InputSilent, TraceLevel, StateFailing, SinkPending, SinkDeadLetters, PluginCrashing}

// AboutSink reports whether conditions of kind k are about a sink: their
// alerts go to the other sinks, never to the broken one.
func (k Kind) AboutSink() bool {
	return k == SinkPending || k == SinkDeadLetters || k == PluginCrashing
}

// RuleID is the id of the rule under which conditions of kind k are raised
// as alerts: they are listed in `herald alerts` and /alerts with it.
func (k Kind) RuleID() string { return "herald." + string(k) }

// Condition is one active problem.
type Condition struct {
	Kind Kind
	// Subject is what the condition is about: an input's name, a file's
	// path, a sink's name, or "state". One condition per kind and subject.
	Subject string
	// Scope groups subjects a detector owns (the input of a file), so that
	// it can clear those it no longer reports. Optional.
	Scope string
	// Since is when the condition started.
	Since time.Time
	// Summary says in one line what is wrong; Fix says what to do about it.
	Summary string
	Fix     string
}

type id struct {
	kind    Kind
	subject string
}

// Watch holds the active conditions. It is safe for concurrent use.
type Watch struct {
	now     func() time.Time
	mu      sync.Mutex
	active  map[id]Condition
	changed chan struct{}
}

// New returns an empty Watch. now is the clock; nil means time.Now.
func New(now func() time.Time) *Watch {
	if now == nil {
		now = time.Now
	}
	return &Watch{now: now, active: map[id]Condition{}, changed: make(chan struct{}, 1)}
}

// Set starts condition c, or updates the summary and fix of the condition
// of the same kind and subject that is active, keeping when it started. A
// zero c.Since means now. It reports whether the condition is new.
func (w *Watch) Set(c Condition) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	k := id{c.Kind, c.Subject}
	old, ok := w.active[k]
	if ok {
		c.Since = old.Since
		if old == c {
			return false
		}
	} else if c.Since.IsZero() {
		c.Since = w.now()
	}
	w.active[k] = c
	if !ok {
		w.poke()
	}
	return !ok
}

// Clear ends the condition of this kind and subject, and reports whether it
// was active.
func (w *Watch) Clear(kind Kind, subject string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	k := id{kind, subject}
	if _, ok := w.active[k]; !ok {
		return false
	}
	delete(w.active, k)
	w.poke()
	return true
}

// ClearScope ends the conditions of kind in scope whose subject keep does
// not report true, and returns them.
func (w *Watch) ClearScope(kind Kind, scope string, keep func(subject string) bool) []Condition {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []Condition
	for k, c := range w.active {
		if k.kind == kind && c.Scope == scope && !keep(k.subject) {
			delete(w.active, k)
			out = append(out, c)
		}
	}
	if len(out) > 0 {
		w.poke()
	}
	return out
}

// Get returns the active condition of this kind and subject.
func (w *Watch) Get(kind Kind, subject string) (Condition, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.active[id{kind, subject}]
	return c, ok
}

// Active returns the active conditions, ordered by kind (as in Kinds), then
// subject.
func (w *Watch) Active() []Condition {
	w.mu.Lock()
	out := make([]Condition, 0, len(w.active))
	for _, c := range w.active {
		out = append(out, c)
	}
	w.mu.Unlock()
	slices.SortFunc(out, func(a, b Condition) int {
		return cmp.Or(cmp.Compare(slices.Index(Kinds, a.Kind), slices.Index(Kinds, b.Kind)), cmp.Compare(a.Subject, b.Subject))
	})
	return out
}

// Changed receives a value after a condition started or ended, so the agent
// can act at once rather than at its next check. One value stands for any
// number of changes.
func (w *Watch) Changed() <-chan struct{} { return w.changed }

func (w *Watch) poke() {
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

// Collector returns a Prometheus collector of herald_condition_active: 1 for
// each active condition, labelled by condition and subject, and 0 for every
// kind with no active condition (subject ""), so that an alerting rule on it
// has a series to read in the healthy state.
func (w *Watch) Collector() prometheus.Collector { return collector{w} }

var activeDesc = prometheus.NewDesc("herald_condition_active",
	"Conditions under which Herald cannot see or deliver (1 while active): input_blind, file_unreadable, input_silent, qlik_trace_level, state_failing, sink_pending, sink_dead_letters, plugin_crashing. A kind with none active has one series with subject=\"\" at 0.",
	[]string{"condition", "subject"}, nil)

var sinceDesc = prometheus.NewDesc("herald_condition_since_seconds",
	"When an active condition started, as a Unix time.",
	[]string{"condition", "subject"}, nil)

type collector struct{ w *Watch }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- activeDesc
	ch <- sinceDesc
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	seen := map[Kind]bool{}
	for _, cond := range c.w.Active() {
		seen[cond.Kind] = true
		ch <- prometheus.MustNewConstMetric(activeDesc, prometheus.GaugeValue, 1, string(cond.Kind), cond.Subject)
		ch <- prometheus.MustNewConstMetric(sinceDesc, prometheus.GaugeValue, float64(cond.Since.UnixNano())/1e9, string(cond.Kind), cond.Subject)
	}
	for _, k := range Kinds {
		if !seen[k] {
			ch <- prometheus.MustNewConstMetric(activeDesc, prometheus.GaugeValue, 0, string(k), "")
		}
	}
}
