package agent

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald/agent/lifecycle"
	"github.com/heraldhq/herald/agent/metrics"
	"github.com/heraldhq/herald/agent/selfwatch"
	"github.com/heraldhq/herald/agent/state"
	"github.com/heraldhq/herald/agent/tail"
	"github.com/heraldhq/herald/parsers"
	"github.com/heraldhq/herald/plugins/sdk"
	"github.com/heraldhq/herald/rules"
)

const (
	// maxBatchLines and maxBatchMatches bound a batch: while the committer is
	// busy, decoding goes on into the next batch up to these, then waits. A
	// batch holds positions, not lines, so the line bound only limits what a
	// crash makes re-read; matches hold their records' fields, so their bound
	// limits memory. The bigger a transaction, the more of bbolt's tree it
	// copies on write and the further reading runs ahead of delivery: in the
	// whole-process benchmark, 16384/1024 cost 65-68 MiB of peak RSS against
	// 50-53 MiB for 4096/256, for a catch-up within noise of each other
	// (3.1-3.4 s vs 3.4-3.6 s at load 2.5).
	maxBatchLines   = 4096
	maxBatchMatches = 256
	// idleFlush is how long a record held for continuation lines waits before it
	// is completed as is.
	idleFlush = 250 * time.Millisecond
)

// pipeline runs one file input: tail -> decoder -> rules -> lifecycle -> outbox.
//
// Two goroutines share the work so that a backlog is decoded while the
// previous batch is committed (group commit): run decodes and evaluates rules,
// and hands a batch to commitLoop whenever the committer is free. A batch
// therefore grows with the time a commit takes, and a lone live line is
// committed at once. Decoding state (files, decoders, held records) belongs to
// run alone; a batch carries copies of the positions it commits.
type pipeline struct {
	agent  *Agent
	in     *input
	store  *state.Store
	notify func(sink string)
	once   bool

	metrics *metrics.Metrics
	im      *metrics.InputMetrics
	caps    map[string]int // outbox cap per sink (backpressure)
	paused  bool           // committer goroutine only

	// pace is how far reading may run ahead of the sinks (keepPace); zero
	// when the pipeline is not paced (tests of reading alone).
	pace pacing
	// Committer goroutine only: the sinks keepPace watches, and whether it
	// gave up on them, at which count of store.Delivered.
	paceSinks  []string
	stalled    bool
	stalledGen uint64

	// Decoding goroutine only.
	eval  *rules.Evaluator
	files map[string]*openFile
	next  *batch      // being filled
	dirty []*openFile // files read since next began
	warn  *warnLimiter
	act   *inputActivity // what the self-watch learns of this input
}

// batch is what one transaction commits: the matches of the records completed
// since the previous batch, and the positions of the files they came from.
// Positions and their matches always commit together, so a crash can neither
// lose an alert nor skip past one.
type batch struct {
	matches   []lifecycle.Match
	positions []filePosition
	lines     int
}

// filePosition is a file's checkpoint, copied when its batch was handed over.
type filePosition struct {
	key string
	pos state.Position
}

func (b *batch) full() bool {
	return b.lines >= maxBatchLines || len(b.matches) >= maxBatchMatches
}

// reset empties b for reuse, letting go of the matches' fields.
func (b *batch) reset() *batch {
	clear(b.matches)
	b.matches, b.positions, b.lines = b.matches[:0], b.positions[:0], 0
	return b
}

// committed is the committer's answer for one batch.
type committed struct {
	b   *batch
	err error
}

// openFile is the decoding state of one followed file.
type openFile struct {
	key         string
	path        string
	dec         parsers.Decoder
	emit        parsers.Emit // made once per file: no closure per line
	offset      int64        // just past the last line read
	fingerprint string
	dirty       bool // in pipeline.dirty
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
	p.next = &batch{}
	p.warn = newWarnLimiter(a.log, time.Minute)
	p.act = a.self.input(p.in.cfg.Name)
	t, err := tail.Start(ctx, tail.Config{
		Paths:        p.in.cfg.Paths,
		Exclude:      p.in.cfg.Exclude,
		StartAt:      p.in.cfg.StartAt,
		PollInterval: p.in.cfg.PollInterval.Duration,
		Positions:    positions{p.store},
		Logger:       a.log.With("input", p.in.cfg.Name),
		Once:         p.once,
		OnStatus:     p.tailStatus,
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

	// The committer has at most one batch (busy); spare is the other one, to
	// be filled next, so batches are reused rather than allocated.
	todo := make(chan *batch, 1)
	done := make(chan committed, 1)
	go p.commitLoop(ctx, todo, done)
	busy, spare := false, &batch{}
	defer func() {
		close(todo)
		if busy {
			<-done // nothing may write to the store after run returns
		}
	}()
	collect := func(r committed) error {
		busy, spare = false, r.b.reset()
		return r.err
	}
	// finish commits everything read once the tailer is done (Once read
	// every file, or ctx ended), records held for continuation lines included.
	finish := func() error {
		p.flushHeld()
		for busy || p.pending() {
			if !busy {
				todo <- p.seal(spare)
				busy, spare = true, nil
			}
			if err := collect(<-done); err != nil {
				return err
			}
		}
		return nil
	}

	events := t.Events()
	// evs[at:] are the events of the tailer's batch not handled yet: handling
	// stops when the batch being filled for the committer is full.
	var evs []tail.Event
	at := 0
	// The idle timer runs only while a record is held for continuation lines,
	// so an idle agent does not wake up.
	idle := time.NewTimer(idleFlush)
	idle.Stop()
	for {
		// Hand the batch over as soon as the committer is free: a lone live
		// line is committed at once, and during a backlog the next batch
		// grows while the previous one commits.
		if !busy && p.pending() {
			todo <- p.seal(spare)
			busy, spare = true, nil
		}
		var doneC <-chan committed
		if busy {
			doneC = done
			if p.next.full() {
				if err := collect(<-done); err != nil {
					return err
				}
				continue
			}
		}
		if at < len(evs) {
			if at += p.handleSome(evs[at:]); at == len(evs) {
				t.Release(evs)
				evs, at = nil, 0
			}
			continue
		}
		// Take what is ready without blocking: on a backlog this is the path
		// of every batch, and a receive that does not wait on several
		// channels costs far less.
		select {
		case r := <-doneC:
			if err := collect(r); err != nil {
				return err
			}
			continue
		default:
		}
		select {
		case got, ok := <-events:
			if !ok {
				return finish()
			}
			evs = got
			continue
		default:
		}
		// Nothing ready: wait for a line, the end of the commit, or the time to
		// complete a held record.
		var idleC <-chan time.Time
		if p.anyHeld() {
			idle.Reset(idleFlush)
			idleC = idle.C
		} else {
			idle.Stop()
		}
		select {
		case got, ok := <-events:
			if !ok {
				return finish()
			}
			evs = got
		case r := <-doneC:
			if err := collect(r); err != nil {
				return err
			}
		case <-idleC:
			p.flushHeld()
		}
	}
}

// pending reports whether there is anything to commit.
func (p *pipeline) pending() bool { return len(p.next.matches) > 0 || len(p.dirty) > 0 }

func (p *pipeline) anyHeld() bool {
	for _, f := range p.files {
		if _, ok := f.dec.Held(); ok {
			return true
		}
	}
	return false
}

// markDirty notes that f's position is to be committed with the next batch.
func (p *pipeline) markDirty(f *openFile) {
	if !f.dirty {
		f.dirty = true
		p.dirty = append(p.dirty, f)
	}
}

// handleSome applies events from evs to the decoding state until they are
// done or the batch being filled is full, and returns how many it applied.
// The tailer's batches hold one file's events, so what a line does for its
// file beyond decoding (finding it, marking it dirty, counting the line,
// publishing its position to the metrics) is done once per run of lines.
func (p *pipeline) handleSome(evs []tail.Event) int {
	var f *openFile // the file of the run of lines; nil between runs
	lines := 0
	endRun := func() {
		if f != nil && lines > 0 {
			p.im.LinesRead.Add(float64(lines))
			f.pos.Store(f.offset)
			p.act.sawLine(time.Now())
		}
		f, lines = nil, 0
	}
	i := 0
	for ; i < len(evs) && !p.next.full(); i++ {
		ev := &evs[i]
		if ev.Kind != tail.Line {
			endRun()
			p.handle(ev)
			continue
		}
		if f == nil || f.key != ev.Key {
			endRun()
			if f = p.files[ev.Key]; f == nil {
				continue
			}
			p.markDirty(f)
		}
		p.next.lines++
		lines++
		f.dec.Decode(ev.Line, f.emit)
		f.offset, f.fingerprint = ev.Line.Offset, ev.Fingerprint
	}
	endRun()
	return i
}

// handle applies one Opened or Closed event to the decoding state (lines
// are handleSome's).
func (p *pipeline) handle(ev *tail.Event) {
	switch ev.Kind {
	case tail.Opened:
		f := &openFile{key: ev.Key, path: ev.Path, offset: ev.Line.Offset, fingerprint: ev.Fingerprint,
			dec: p.in.parser.NewDecoder(p.in.cfg.Name, ev.Path, p.filter())}
		if fi, err := os.Stat(ev.Path); err == nil {
			p.act.sawLine(fi.ModTime()) // silence counts from the file's last write
		}
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
	case tail.Closed:
		f := p.files[ev.Key]
		if f == nil {
			return
		}
		f.dec.Flush(f.emit)
		f.offset, f.fingerprint, f.closed = ev.Line.Offset, ev.Fingerprint, true
		p.markDirty(f)
		if ev.Err != nil {
			p.agent.log.Warn("stopped reading file", "input", p.in.cfg.Name, "path", f.path, "err", ev.Err)
		}
	}
}

// filter returns the rules' prefilter of this input, which sees every
// record's raw text. For a Qlik input it also tells the self-watch whether rows,
// and rows at INFO level, go by: without INFO rows (the Scheduler trace level
// lowered in the QMC) reload outcomes are not logged. The check costs one
// atomic load per record while an INFO row has already been seen since the
// self-watch last looked.
func (p *pipeline) filter() parsers.Filter {
	inner := p.agent.rules.Filter(p.in.cfg.Name)
	if p.in.cfg.Parser != "qlik" {
		return inner
	}
	act := p.act
	return func(raw string) bool {
		if !act.info.Load() {
			act.rows.Store(true)
			if strings.Contains(raw, "\tINFO\t") {
				act.info.Store(true)
			}
		}
		return inner == nil || inner(raw)
	}
}

// tailStatus turns what the tailer found into self-watch conditions: an input
// whose patterns match no readable file is blind (and down), a file that
// matches but cannot be read is unreadable.
func (p *pipeline) tailStatus(st tail.Status) {
	name := p.in.cfg.Name
	w := p.agent.self.watch
	blind := st.Followed == 0 && len(st.Patterns) > 0
	if blind {
		var why []string
		for _, ps := range st.Patterns {
			why = append(why, ps.Problem)
		}
		w.Set(selfwatch.Condition{
			Kind: selfwatch.InputBlind, Subject: name,
			Summary: fmt.Sprintf("input %s follows no file: %s", name, strings.Join(why, "; ")),
			Fix:     "Correct the input's paths in herald.toml (the Qlik log folder, its drive) or give the service account the right to list the folder; `herald check` names the deepest folder that exists.",
		})
	} else {
		w.Clear(selfwatch.InputBlind, name)
	}
	p.im.SetUp(!blind)
	unreadable := map[string]bool{}
	for _, fp := range st.Unreadable {
		unreadable[fp.Path] = true
		w.Set(selfwatch.Condition{
			Kind: selfwatch.FileUnreadable, Subject: fp.Path, Scope: name, Since: fp.Since,
			Summary: fmt.Sprintf("input %s cannot read %s: %s", name, fp.Path, fp.Err),
			Fix:     "Give the Herald service account read access to the file (Qlik's log folders are readable by Users by default); a sharing violation means another program holds the file open without read sharing.",
		})
	}
	w.ClearScope(selfwatch.FileUnreadable, name, func(path string) bool { return unreadable[path] })
}

// emitFor returns the decoder callback of one file: parse errors are counted and
// warned about (rate-limited); records go through the rules.
func (p *pipeline) emitFor(f *openFile) parsers.Emit {
	// A match's origin is "input:file@offset"; all but the offset is the
	// file's.
	prefix := p.in.cfg.Name + ":" + f.key + "@"
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
			var buf [128]byte
			origin := string(strconv.AppendInt(append(buf[:0], prefix...), rec.Offset, 10))
			p.next.matches = append(p.next.matches, p.agent.life.MatchOf(m, rec.Time, origin))
		}
	}
}

// flushHeld completes records held for continuation lines when input is idle.
func (p *pipeline) flushHeld() {
	for _, f := range p.files {
		if _, ok := f.dec.Held(); ok {
			f.dec.Flush(f.emit)
			p.markDirty(f)
		}
	}
}

// seal ends the batch being filled and starts the next in spare. The batch
// gets a copy of where each file it read from stands, never past a record
// still held for continuation lines: that record's matches are not in the
// batch. Closed files are forgotten here, their last position being in the
// batch.
func (p *pipeline) seal(spare *batch) *batch {
	b := p.next
	for _, f := range p.dirty {
		off := f.offset
		if held, ok := f.dec.Held(); ok && held < off {
			off = held
		}
		b.positions = append(b.positions, filePosition{f.key, state.Position{Offset: off, Fingerprint: f.fingerprint, Path: f.path}})
		f.dirty = false
		if f.closed {
			f.untrack()
			if p.files[f.key] == f { // not replaced by a reopened file
				delete(p.files, f.key)
			}
		}
	}
	clear(p.dirty)
	p.dirty = p.dirty[:0]
	p.next = spare
	return b
}

// commitLoop commits the batches from todo in order, one transaction each,
// until todo is closed. Every batch goes back on done with the result; after
// an error (ctx ended while the store refused writes or an outbox was full)
// the loop stops, so the batches after it, and their positions, stay
// uncommitted.
func (p *pipeline) commitLoop(ctx context.Context, todo <-chan *batch, done chan<- committed) {
	for b := range todo {
		err := p.commit(ctx, b)
		if err == nil {
			// Waiting here holds up the next hand-off, so decoding stops at
			// the batch bound: backpressure reaches the tailer.
			err = p.waitForRoom(ctx)
		}
		if err == nil {
			p.keepPace(ctx)
		}
		done <- committed{b, err}
		if err != nil {
			return
		}
	}
}

// commit writes a batch's alert changes, outbox entries and file positions in
// one transaction. If the store cannot write (a full disk), it retries until it
// can or ctx ends: tailing waits, nothing read is dropped.
func (p *pipeline) commit(ctx context.Context, b *batch) error {
	var done applied
	delay := 100 * time.Millisecond
	for {
		err := p.store.Update(func(tx *state.Tx) error {
			var err error
			// Everything counted inside the transaction is counted again if
			// it is retried, so it is collected here and published only on
			// success.
			if done, err = p.agent.applyMatches(tx, b.matches); err != nil {
				return err
			}
			now := p.agent.opts.Now()
			for _, fp := range b.positions {
				pos := fp.pos
				pos.Updated = now
				if err := tx.SetPosition(fp.key, pos); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			p.agent.self.stateOK()
			break
		}
		p.agent.self.stateFailed(p.store.Path(), err)
		p.agent.log.Error("cannot save state; tailing waits and retries", "input", p.in.cfg.Name, "err", err, "retry_in", delay)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, 30*time.Second)
	}
	p.agent.publish(p.metrics, done, p.notify)
	return nil
}

// applied is what the matches of one transaction produced.
type applied struct {
	produced []produced
	held     []heldBack
	touched  map[string]bool // sinks with new outbox entries
	silenced []string        // the silence that held each event held back
}

// produced is one event a match produced, for the per-rule counters and the
// status page's recent events.
type produced struct {
	rule   string
	status sdk.Status
	ev     *sdk.Event
	sinks  []string // shared with the lifecycle: do not change
}

// heldBack is what one match's lifecycle held back, for the per-rule counters.
type heldBack struct {
	rule  string
	stats lifecycle.Stats
}

// applyMatches applies matches to the alert state in tx and enqueues the
// events they produce for their sinks, unless a silence holds them (queue).
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
		for i := range routed {
			if err := a.queue(tx, &routed[i].Event, routed[i].Sinks, &done); err != nil {
				return done, err
			}
		}
	}
	return done, nil
}

// publish counts what a committed transaction did and wakes the dispatchers
// of the sinks it queued events for.
func (a *Agent) publish(m *metrics.Metrics, done applied, notify func(sink string)) {
	for _, ev := range done.produced {
		m.Rule(ev.rule).Events(ev.status).Inc()
		a.self.recent.add(ev.ev, ev.sinks, "")
	}
	for _, h := range done.held {
		rm := m.Rule(h.rule)
		rm.Duplicates.Add(float64(h.stats.Duplicates))
		rm.Suppressed.Add(float64(h.stats.Suppressed))
	}
	for _, id := range done.silenced {
		m.Silenced(id).Inc()
	}
	for sink := range done.touched {
		notify(sink)
	}
}

// pacing is how far reading a backlog may run in front of the fastest sink:
// at most ahead events (keepPace). A wait for the sinks that lasts patience
// without a delivery ends pacing until they deliver again: in an outage the
// outbox cap (waitForRoom) is what bounds reading, as before.
type pacing struct {
	ahead    int
	patience time.Duration
}

// defaultPacing keeps ten of a dispatcher's batches queued, so that it never
// waits for the next batch, and the outbox a small part of the state file.
// Without it a catch-up queued every alert first, and the outbox's pages
// stayed free in the file once delivered: 100 to 280 bytes per alert.
var defaultPacing = pacing{ahead: 1000, patience: time.Second}

// keepPace waits while every sink has pace.ahead events or more pending,
// until one has fewer: no sink waits for reading because of it. Like
// waitForRoom it holds up the next batch.
func (p *pipeline) keepPace(ctx context.Context) {
	if p.pace.ahead <= 0 {
		return
	}
	if p.paceSinks == nil {
		p.paceSinks = slices.Collect(maps.Keys(p.caps))
	}
	if p.stalled {
		if p.store.Delivered() == p.stalledGen {
			return // the sinks have not delivered since they stalled
		}
		p.stalled = false
	}
	if p.store.WaitAhead(ctx, p.paceSinks, p.pace.ahead, p.pace.patience) {
		p.stalled, p.stalledGen = true, p.store.Delivered()
	}
}

// waitForRoom pauses committing, and so tailing once the next batch is full,
// while an outbox this input feeds is at its cap, so a long sink outage cannot
// fill the disk; nothing is dropped, the files wait.
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
