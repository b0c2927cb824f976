package agent

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald/agent/lifecycle"
	"github.com/heraldhq/herald/agent/metrics"
	"github.com/heraldhq/herald/agent/state"
	"github.com/heraldhq/herald/agent/tail"
	"github.com/heraldhq/herald/parsers"
	"github.com/heraldhq/herald/plugins/sdk"
	"github.com/heraldhq/herald/rules"
)

const (
	// maxBatchLines bounds the lines committed in one state transaction, so
	// catch-up pays one fsync per batch rather than per line.
	maxBatchLines = 4096
	// idleFlush is how long a record held for continuation lines waits before it
	// is completed as is.
	idleFlush = 250 * time.Millisecond
	// batchWait is how long a batch that is clearly a backlog waits for the
	// reader to catch up before it is committed: far cheaper than committing
	// (two fsyncs) every few lines, and too short to matter for latency.
	batchWait = 2 * time.Millisecond
)

// pipeline runs one file input: tail -> decoder -> rules -> lifecycle -> outbox.
type pipeline struct {
	agent  *Agent
	in     *input
	store  *state.Store
	notify func(sink string)
	once   bool

	metrics *metrics.Metrics
	im      *metrics.InputMetrics
	caps    map[string]int // outbox cap per sink (backpressure)
	paused  bool

	eval    *rules.Evaluator
	files   map[string]*openFile
	matches []lifecycle.Match
	warn    *warnLimiter
}

// openFile is the decoding state of one followed file.
type openFile struct {
	key         string
	path        string
	dec         parsers.Decoder
	emit        parsers.Emit // made once per file: no closure per line
	offset      int64        // just past the last line read
	fingerprint string
	dirty       bool
	closed      bool
	pos         atomic.Int64 // offset, read by the metrics scraper
	untrack     func()
}

// positions adapts the store to what the tailer asks for on start-up.
type positions struct{ store *state.Store }

func (p positions) Get(key string) (tail.Position, bool) {
	var pos state.Position
	var ok bool
	_ = p.store.View(func(tx *state.Tx) error {
		pos, ok = tx.Position(key)
		return nil
	})
	return tail.Position{Offset: pos.Offset, Fingerprint: pos.Fingerprint, Path: pos.Path}, ok
}

// HasPath reports whether some file was followed at path before, so a file
// replaced while the agent was stopped is read from its beginning.
func (p positions) HasPath(path string) bool {
	found := false
	_ = p.store.View(func(tx *state.Tx) error {
		for _, pos := range tx.Positions() {
			if pos.Path == path {
				found = true
				break
			}
		}
		return nil
	})
	return found
}

func (p *pipeline) run(ctx context.Context) error {
	a := p.agent
	p.eval = a.rules.NewEvaluator()
	p.files = map[string]*openFile{}
	p.warn = newWarnLimiter(a.log, time.Minute)
	t, err := tail.Start(ctx, tail.Config{
		Paths:        p.in.cfg.Paths,
		Exclude:      p.in.cfg.Exclude,
		StartAt:      p.in.cfg.StartAt,
		PollInterval: p.in.cfg.PollInterval.Duration,
		Positions:    positions{p.store},
		Logger:       a.log.With("input", p.in.cfg.Name),
		Once:         p.once,
	})
	if err != nil {
		return err
	}
	defer t.Stop()
	defer func() {
		for _, f := range p.files {
			f.untrack()
		}
	}()
	events := t.Events()
	// The idle timer runs only while a record is held for continuation lines, so
	// an idle agent does not wake up.
	idle := time.NewTimer(idleFlush)
	idle.Stop()
	var idleC <-chan time.Time
	wait := time.NewTimer(batchWait)
	wait.Stop()

	for {
		var first tail.Event
		var ok bool
		select {
		case first, ok = <-events:
		case <-idleC:
			idleC = nil
			p.flushHeld()
			if err := p.commit(ctx); err != nil {
				return err
			}
			continue
		}
		if !ok {
			p.flushHeld()
			return p.commit(ctx)
		}
		p.handle(first)
		// A lone live line is committed (and so delivered) at once; a backlog
		// is committed in large batches: once a batch has more than one line,
		// a moment without the next is waited out, briefly.
	more:
		for n := 1; n < maxBatchLines; n++ {
			select {
			case ev, ok := <-events:
				if !ok {
					break more
				}
				p.handle(ev)
				continue
			default:
			}
			if n < 2 {
				break
			}
			wait.Reset(batchWait)
			select {
			case ev, ok := <-events:
				wait.Stop()
				if !ok {
					break more
				}
				p.handle(ev)
			case <-wait.C:
				break more
			}
		}
		if err := p.commit(ctx); err != nil {
			return err
		}
		if err := p.waitForRoom(ctx); err != nil {
			return err
		}
		if p.anyHeld() {
			idle.Reset(idleFlush)
			idleC = idle.C
		} else {
			idle.Stop()
			idleC = nil
		}
	}
}

func (p *pipeline) anyHeld() bool {
	for _, f := range p.files {
		if _, ok := f.dec.Held(); ok {
			return true
		}
	}
	return false
}

// handle applies one tail event to the decoding state.
func (p *pipeline) handle(ev tail.Event) {
	switch ev.Kind {
	case tail.Opened:
		f := &openFile{key: ev.Key, path: ev.Path, dec: p.in.parser.NewDecoder(p.in.cfg.Name, ev.Path, p.agent.rules.Filter(p.in.cfg.Name))}
		if ev.Header != "" {
			if pr, ok := f.dec.(parsers.Primer); ok {
				pr.Prime(ev.Header)
			}
		}
		f.emit = p.emitFor(f)
		f.pos.Store(ev.Line.Offset)
		f.untrack = p.metrics.TrackFile(p.in.cfg.Name, ev.Path, f.pos.Load)
		if old := p.files[ev.Key]; old != nil {
			old.untrack() // truncated: the same file reopened at 0
		}
		p.files[ev.Key] = f
	case tail.Line:
		f := p.files[ev.Key]
		if f == nil {
			return
		}
		p.im.LinesRead.Inc()
		f.dec.Decode(ev.Line, f.emit)
		f.offset, f.fingerprint, f.dirty = ev.Line.Offset, ev.Fingerprint, true
		f.pos.Store(ev.Line.Offset)
	case tail.Closed:
		f := p.files[ev.Key]
		if f == nil {
			return
		}
		f.dec.Flush(f.emit)
		f.closed, f.dirty = true, true
		if ev.Err != nil {
			p.agent.log.Warn("stopped reading file", "input", p.in.cfg.Name, "path", f.path, "err", ev.Err)
		}
	}
}

// emitFor returns the decoder callback of one file: parse errors are counted and
// warned about (rate-limited); records go through the rules.
func (p *pipeline) emitFor(f *openFile) parsers.Emit {
	return func(rec *parsers.Record, err error) {
		if err != nil {
			p.im.ParseErrors.Inc()
			p.warn.Warn("skipped a log record that cannot be parsed", "input", p.in.cfg.Name, "err", err)
			return
		}
		p.im.Records.Inc()
		ms, err := p.eval.Eval(rec)
		if err != nil {
			p.warn.Warn("rule evaluation failed", "input", p.in.cfg.Name, "path", rec.Path, "offset", rec.Offset, "err", err)
		}
		for _, m := range ms {
			p.metrics.Rule(m.Rule.ID).Matches.Inc()
			p.matches = append(p.matches, p.agent.life.MatchOf(m, rec.Time, fmt.Sprintf("%s:%s@%d", p.in.cfg.Name, f.key, rec.Offset)))
		}
	}
}

// flushHeld completes records held for continuation lines when input is idle.
func (p *pipeline) flushHeld() {
	for _, f := range p.files {
		if _, ok := f.dec.Held(); ok {
			f.dec.Flush(f.emit)
			f.dirty = true
		}
	}
}

// commit writes the batch's alert changes, outbox entries and file positions in
// one transaction. If the store cannot write (a full disk), it retries until it
// can or ctx ends: tailing waits, nothing read is dropped.
func (p *pipeline) commit(ctx context.Context) error {
	if len(p.matches) == 0 && !p.anyDirty() {
		return nil
	}
	var done applied
	delay := 100 * time.Millisecond
	for {
		err := p.store.Update(func(tx *state.Tx) error {
			var err error
			// Everything counted inside the transaction is counted again if
			// it is retried, so it is collected here and published only on
			// success.
			if done, err = p.agent.applyMatches(tx, p.matches); err != nil {
				return err
			}
			now := p.agent.opts.Now()
			for _, f := range p.files {
				if !f.dirty {
					continue
				}
				off := f.offset
				if held, ok := f.dec.Held(); ok && held < off {
					off = held // never checkpoint past a record not yet complete
				}
				if err := tx.SetPosition(f.key, state.Position{Offset: off, Fingerprint: f.fingerprint, Path: f.path, Updated: now}); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			break
		}
		p.agent.log.Error("cannot save state; tailing waits and retries", "input", p.in.cfg.Name, "err", err, "retry_in", delay)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, 30*time.Second)
	}
	p.matches = p.matches[:0]
	for key, f := range p.files {
		f.dirty = false
		if f.closed {
			f.untrack()
			delete(p.files, key)
		}
	}
	p.agent.publish(p.metrics, done, p.notify)
	return nil
}

// applied is what the matches of one transaction produced.
type applied struct {
	produced []sdk.Event
	held     []heldBack
	touched  map[string]bool // sinks with new outbox entries
}

// heldBack is what one match's lifecycle held back, for the per-rule counters.
type heldBack struct {
	rule  string
	stats lifecycle.Stats
}

// applyMatches applies matches to the alert state in tx and enqueues the
// events they produce for their sinks.
func (a *Agent) applyMatches(tx *state.Tx, matches []lifecycle.Match) (applied, error) {
	done := applied{touched: map[string]bool{}}
	for _, m := range matches {
		var st lifecycle.Stats
		routed, err := a.life.Apply(tx, m, &st)
		if err != nil {
			return done, err
		}
		if st.Duplicates+st.Suppressed > 0 {
			done.held = append(done.held, heldBack{rule: m.Rule.ID, stats: st})
		}
		for _, r := range routed {
			done.produced = append(done.produced, r.Event)
			for _, sink := range r.Sinks {
				if _, err := tx.Enqueue(sink, r.Event); err != nil {
					return done, err
				}
				done.touched[sink] = true
			}
		}
	}
	return done, nil
}

// publish counts what a committed transaction did and wakes the dispatchers
// of the sinks it queued events for.
func (a *Agent) publish(m *metrics.Metrics, done applied, notify func(sink string)) {
	for _, ev := range done.produced {
		m.Rule(ev.Rule).Events(ev.Status)
	}
	for _, h := range done.held {
		rm := m.Rule(h.rule)
		rm.Duplicates.Add(float64(h.stats.Duplicates))
		rm.Suppressed.Add(float64(h.stats.Suppressed))
	}
	for sink := range done.touched {
		notify(sink)
	}
}

// waitForRoom pauses tailing while an outbox this input feeds is at its cap, so
// a long sink outage cannot fill the disk; nothing is dropped, the files wait.
func (p *pipeline) waitForRoom(ctx context.Context) error {
	var t *time.Ticker
	for {
		var full []string
		for sink, limit := range p.caps {
			if n, err := p.store.Depth(sink); err == nil && n >= limit {
				full = append(full, fmt.Sprintf("%s (%d events)", sink, n))
			}
		}
		if len(full) == 0 {
			if p.paused {
				p.paused = false
				p.agent.log.Info("outbox has room again; tailing resumes", "input", p.in.cfg.Name)
			}
			return nil
		}
		if !p.paused {
			p.paused = true
			p.agent.log.Warn("outbox full; tailing paused until the sink catches up (nothing is dropped)",
				"input", p.in.cfg.Name, "sinks", strings.Join(full, ", "))
		}
		if t == nil {
			t = time.NewTicker(500 * time.Millisecond)
			defer t.Stop()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (p *pipeline) anyDirty() bool {
	for _, f := range p.files {
		if f.dirty {
			return true
		}
	}
	return false
}
