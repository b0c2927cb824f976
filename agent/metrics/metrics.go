// Package metrics defines Herald's Prometheus metrics: what the agent read,
// what its rules made of it, and how delivery to each sink is going.
//
// Every collector is registered on the Registerer passed to New, never on the
// global default registry, so tests and embedders get a clean set. The per-line
// path is kept cheap: Input, Rule and Sink hand out counters already bound to
// their labels, so counting a line is one atomic add with no label lookup.
package metrics

import (
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/heraldhq/herald/plugins/sdk"
)

const namespace = "herald"

// sendBuckets are the upper bounds, in seconds, of herald_send_duration_seconds:
// from a local console sink (about a millisecond) to a webhook that hangs until
// its timeout.
var sendBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// Metrics holds all of Herald's collectors. Create it with New. Its methods are
// safe for concurrent use.
type Metrics struct {
	linesRead   *prometheus.CounterVec
	parseErrors *prometheus.CounterVec
	records     *prometheus.CounterVec
	hookReqs    *prometheus.CounterVec

	ruleMatches *prometheus.CounterVec
	events      *prometheus.CounterVec
	duplicates  *prometheus.CounterVec
	suppressed  *prometheus.CounterVec
	silenced    *prometheus.CounterVec

	outboxDepth  *prometheus.GaugeVec
	sent         *prometheus.CounterVec
	sendErrors   *prometheus.CounterVec
	retries      *prometheus.CounterVec
	restarts     *prometheus.CounterVec
	sendDuration *prometheus.HistogramVec

	heartbeatPings *prometheus.CounterVec

	buildInfo *prometheus.GaugeVec
	files     *fileLag
	up        *upCollector

	mu     sync.Mutex
	inputs map[string]*InputMetrics
	rules  map[string]*RuleMetrics
	sinks  map[string]*SinkMetrics
}

// NewRegistry returns a registry holding the standard Go runtime and process
// collectors (go_*, process_*), which is what the agent serves on /metrics
// besides the herald_* metrics that New adds to it.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// New creates Herald's metrics and registers them on reg. It panics if reg
// already holds metrics of the same names, as prometheus.MustRegister does: that
// is a programming error, not a runtime condition.
func New(reg prometheus.Registerer) *Metrics {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
	}
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help}, labels)
	}
	m := &Metrics{
		linesRead:   counter("lines_read_total", "Lines read from the files of an input.", "input"),
		parseErrors: counter("parse_errors_total", "Log records of an input that could not be parsed and were skipped.", "input"),
		records:     counter("records_total", "Parsed records of an input that passed the rules' prefilter and were evaluated.", "input"),
		hookReqs:    counter("hook_requests_total", "Requests to an http input's hook, by the HTTP status code they were answered with.", "input", "code"),

		ruleMatches: counter("rule_matches_total", "Records a rule matched, before deduplication and rate limiting.", "rule"),
		events:      counter("events_total", "Alert events a rule produced, by event status.", "rule", "status"),
		duplicates:  counter("duplicates_total", "Matches of a rule dropped because their outcome was already seen.", "rule"),
		suppressed:  counter("suppressed_total", "Firings of a rule held back by its rate limit.", "rule"),
		silenced:    counter("silenced_total", "Firing events held back by a silence (maintenance window), by the silence's id.", "silence"),

		outboxDepth: gauge("outbox_depth", "Events waiting in a sink's outbox.", "sink"),
		sent:        counter("sent_total", "Events sent to a sink, by the sink's answer: accepted, retryable or rejected.", "sink", "outcome"),
		sendErrors:  counter("send_errors_total", "Sends to a sink that failed in transport (the plugin died or answered nonsense), so no answer is known.", "sink"),
		retries:     counter("retries_total", "Waits before resending a batch to a sink that answered retryable.", "sink"),
		restarts:    counter("plugin_restarts_total", "Attempts to restart a sink's plugin after it failed.", "sink"),
		sendDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "send_duration_seconds",
			Help:    "Time taken by one send of a batch of events to a sink's plugin.",
			Buckets: sendBuckets,
		}, []string{"sink"}),

		heartbeatPings: counter("heartbeat_pings_total", "Pings of the [heartbeat] URL, by result: up (success ping accepted), down (failure ping accepted) or error (no 2xx answer).", "result"),

		buildInfo: gauge("build_info", "Always 1; labelled with the version and commit of the herald binary and the Go version that built it.", "version", "commit", "goversion"),
		files:     newFileLag(),

		inputs: map[string]*InputMetrics{},
		rules:  map[string]*RuleMetrics{},
		sinks:  map[string]*SinkMetrics{},
	}
	m.up = newUpCollector(m)
	reg.MustRegister(m.collectors()...)
	m.SetBuildInfo(moduleBuildInfo())
	return m
}

// collectors lists every collector New registers.
func (m *Metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{
		m.linesRead, m.parseErrors, m.records, m.hookReqs,
		m.ruleMatches, m.events, m.duplicates, m.suppressed, m.silenced,
		m.outboxDepth, m.sent, m.sendErrors, m.retries, m.restarts, m.sendDuration,
		m.heartbeatPings,
		m.buildInfo, m.files, m.up,
	}
}

// moduleBuildInfo is what the Go toolchain recorded in the binary: the main
// module's version ("(devel)" for a local build) and the VCS revision.
func moduleBuildInfo() (version, commit string) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "", ""
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			commit = s.Value
		}
	}
	return bi.Main.Version, commit
}

// SetBuildInfo labels herald_build_info with the release version and commit
// (set by the linker in cmd/herald). New fills it from the Go build info, so
// calling this is only needed to report the release's own version.
func (m *Metrics) SetBuildInfo(version, commit string) {
	m.buildInfo.Reset()
	m.buildInfo.WithLabelValues(version, commit, runtime.Version()).Set(1)
}

// InputMetrics are the counters of one input, bound to its name. Inc and Add on
// them are single atomic operations: call them per line.
type InputMetrics struct {
	// LinesRead counts lines read from the input's files.
	LinesRead prometheus.Counter
	// ParseErrors counts records that could not be parsed.
	ParseErrors prometheus.Counter
	// Records counts parsed records that passed the prefilter and were evaluated.
	Records prometheus.Counter

	up atomic.Bool
}

// SetUp records whether the input is running.
func (i *InputMetrics) SetUp(up bool) { i.up.Store(up) }

// Input returns the metrics of the named input, creating its series (at zero)
// on first use. Call it once per input and keep the result.
func (m *Metrics) Input(name string) *InputMetrics {
	m.mu.Lock()
	defer m.mu.Unlock()
	if i, ok := m.inputs[name]; ok {
		return i
	}
	i := &InputMetrics{
		LinesRead:   m.linesRead.WithLabelValues(name),
		ParseErrors: m.parseErrors.WithLabelValues(name),
		Records:     m.records.WithLabelValues(name),
	}
	m.inputs[name] = i
	return i
}

// HookRequests returns a function that counts one request to the hook of the
// http input named input by the status it was answered with
// (herald_hook_requests_total). The series of 200 and 401 exist at zero from
// this call on.
func (m *Metrics) HookRequests(input string) func(status int) {
	ok := m.hookReqs.WithLabelValues(input, "200")
	unauthorized := m.hookReqs.WithLabelValues(input, "401")
	return func(status int) {
		switch status {
		case http.StatusOK:
			ok.Inc()
		case http.StatusUnauthorized:
			unauthorized.Inc()
		default:
			m.hookReqs.WithLabelValues(input, strconv.Itoa(status)).Inc()
		}
	}
}

// RuleMetrics are the counters of one rule, bound to its id.
type RuleMetrics struct {
	// Matches counts records the rule matched.
	Matches prometheus.Counter
	// Duplicates counts matches dropped because their outcome was already seen.
	Duplicates prometheus.Counter
	// Suppressed counts firings held back by the rate limit.
	Suppressed prometheus.Counter
	// Firing and Resolved count the events the rule produced with that status
	// (once per event, however many sinks it is routed to).
	Firing, Resolved prometheus.Counter

	id     string
	events *prometheus.CounterVec
}

// Events returns the counter of the rule's events with the given status. The
// firing and resolved counters are bound in advance; other statuses are looked
// up by label.
func (r *RuleMetrics) Events(status sdk.Status) prometheus.Counter {
	switch status {
	case sdk.StatusFiring:
		return r.Firing
	case sdk.StatusResolved:
		return r.Resolved
	}
	return r.events.WithLabelValues(r.id, string(status))
}

// Rule returns the metrics of the rule with the given id, creating its series
// (at zero) on first use.
func (m *Metrics) Rule(id string) *RuleMetrics {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.rules[id]; ok {
		return r
	}
	r := &RuleMetrics{
		Matches:    m.ruleMatches.WithLabelValues(id),
		Duplicates: m.duplicates.WithLabelValues(id),
		Suppressed: m.suppressed.WithLabelValues(id),
		Firing:     m.events.WithLabelValues(id, string(sdk.StatusFiring)),
		Resolved:   m.events.WithLabelValues(id, string(sdk.StatusResolved)),
		id:         id,
		events:     m.events,
	}
	m.rules[id] = r
	return r
}

// SinkMetrics are the metrics of one sink, bound to its name. The dispatcher
// feeds most of them through Dispatch and InstrumentSender.
type SinkMetrics struct {
	// Depth is the number of events waiting in the outbox.
	Depth prometheus.Gauge
	// Accepted, Retryable and Rejected count events by the sink's answer.
	Accepted, Retryable, Rejected prometheus.Counter
	// SendErrors counts sends that failed in transport.
	SendErrors prometheus.Counter
	// Retries counts waits before resending after a retryable answer.
	Retries prometheus.Counter
	// Restarts counts plugin restart attempts.
	Restarts prometheus.Counter
	// SendDuration observes how long each send took, in seconds.
	SendDuration prometheus.Observer

	up atomic.Bool
}

// Sent returns the counter for events that got outcome o, or nil for an
// outcome that is not one of sdk.Accepted, sdk.Retryable or sdk.Rejected.
func (s *SinkMetrics) Sent(o sdk.Outcome) prometheus.Counter {
	switch o {
	case sdk.Accepted:
		return s.Accepted
	case sdk.Retryable:
		return s.Retryable
	case sdk.Rejected:
		return s.Rejected
	}
	return nil
}

// SetUp records whether the sink's plugin is running.
func (s *SinkMetrics) SetUp(up bool) { s.up.Store(up) }

// Sink returns the metrics of the named sink, creating its series (at zero) on
// first use.
func (m *Metrics) Sink(name string) *SinkMetrics {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.sinks[name]; ok {
		return s
	}
	s := &SinkMetrics{
		Depth:        m.outboxDepth.WithLabelValues(name),
		Accepted:     m.sent.WithLabelValues(name, sdk.Accepted.String()),
		Retryable:    m.sent.WithLabelValues(name, sdk.Retryable.String()),
		Rejected:     m.sent.WithLabelValues(name, sdk.Rejected.String()),
		SendErrors:   m.sendErrors.WithLabelValues(name),
		Retries:      m.retries.WithLabelValues(name),
		Restarts:     m.restarts.WithLabelValues(name),
		SendDuration: m.sendDuration.WithLabelValues(name),
	}
	m.sinks[name] = s
	return s
}

// Up reports the last recorded state of every input and sink plugin known to m
// (true: running), for a health check.
func (m *Metrics) Up() (inputs, plugins map[string]bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	inputs = make(map[string]bool, len(m.inputs))
	for name, i := range m.inputs {
		inputs[name] = i.up.Load()
	}
	plugins = make(map[string]bool, len(m.sinks))
	for name, s := range m.sinks {
		plugins[name] = s.up.Load()
	}
	return inputs, plugins
}

// Silenced counts the events the silence with id held back
// (herald_silenced_total).
func (m *Metrics) Silenced(id string) prometheus.Counter { return m.silenced.WithLabelValues(id) }
