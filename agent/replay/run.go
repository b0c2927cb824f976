package replay

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/heraldhq/herald/agent/lifecycle"
	"github.com/heraldhq/herald/agent/state"
	"github.com/heraldhq/herald/parsers"
	"github.com/heraldhq/herald/plugins/sdk"
	"github.com/heraldhq/herald/rules"
)

// File is a log file to replay and the input to read it as.
type File struct {
	Path  string
	Input string
}

// Options tune Run.
type Options struct {
	// Emit receives each event as soon as the batch that raised it is
	// applied, in the order the agent would have raised them. An error it
	// returns stops the replay. Nil discards events (the Summary still
	// counts them).
	Emit func(Event) error
	// Progress receives every byte read from the files, for a progress bar.
	// Nil: none.
	Progress io.Writer
	// TempDir is where the temporary state store is made; default the
	// system's temporary directory.
	TempDir string
	// BatchMatches caps how many matches are applied in one state
	// transaction. Default 1024.
	BatchMatches int
}

// Run replays files, in the order given, through the parsers, the rules and
// the lifecycle. It returns the summary of what it read and raised; on an
// error (a file that cannot be read, ctx ending, Emit failing) the summary
// covers what was done before it.
func (e *Engine) Run(ctx context.Context, files []File, opts Options) (*Summary, error) {
	if opts.BatchMatches <= 0 {
		opts.BatchMatches = 1024
	}
	if opts.Emit == nil {
		opts.Emit = func(Event) error { return nil }
	}
	sum := &Summary{}
	for _, r := range e.rules.Rules() {
		sum.Rules = append(sum.Rules, RuleStats{Rule: r.ID})
	}
	for _, f := range files {
		if e.input(f.Input) == nil {
			return sum, fmt.Errorf("%s: no input %q (have: %s)", f.Path, f.Input, strings.Join(e.Inputs(), ", "))
		}
	}

	dir, err := os.MkdirTemp(opts.TempDir, "herald-replay-")
	if err != nil {
		return sum, fmt.Errorf("replay: temporary state directory: %w", err)
	}
	defer os.RemoveAll(dir)
	store, err := state.Open(filepath.Join(dir, "replay.db"), state.Options{Now: e.now})
	if err != nil {
		return sum, fmt.Errorf("replay: temporary state: %w", err)
	}
	defer store.Close()

	r := &run{engine: e, opts: opts, store: store, sum: sum, eval: e.rules.NewEvaluator()}
	for _, f := range files {
		if err := r.file(ctx, f); err != nil {
			return sum, err
		}
	}
	if err := r.countOpen(); err != nil {
		return sum, err
	}
	return sum, nil
}

// run is the state of one Run.
type run struct {
	engine  *Engine
	opts    Options
	store   *state.Store
	sum     *Summary
	eval    *rules.Evaluator
	matches []lifecycle.Match
	stats   lifecycle.Stats
}

// file replays one file.
func (r *run) file(ctx context.Context, f File) error {
	in := r.engine.input(f.Input)
	fh, err := os.Open(f.Path)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	defer fh.Close()
	r.sum.Files++

	var src io.Reader = fh
	if r.opts.Progress != nil {
		src = io.TeeReader(fh, r.opts.Progress)
	}
	br := bufio.NewReaderSize(src, 256<<10)
	// The origin of a record's events names the file by its base name, so
	// event ids do not depend on how the path was typed.
	origin := f.Input + ":" + filepath.Base(f.Path)
	dec := in.parser.NewDecoder(in.spec.Name, f.Path, r.engine.rules.Filter(in.spec.Name))
	emit := func(rec *parsers.Record, err error) {
		if err != nil {
			r.sum.ParseErrors++
			r.sum.addError(err)
			return
		}
		r.record(rec, origin)
	}

	var offset, line int64
	for {
		// Keep one byte more than a record may have, so the decoder sees an
		// over-long line as such and reports it, while the rest of it is
		// read and dropped.
		text, n, err := readLine(br, parsers.MaxRecordBytes+1)
		if n > 0 {
			offset += n
			line++
			dec.Decode(parsers.Line{Text: text, Offset: offset, First: line == 1}, emit)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("replay: reading %s at byte %d: %w", f.Path, offset, err)
		}
		if line%checkCtx == 0 && ctx.Err() != nil {
			r.sum.Lines += line
			r.sum.Bytes += offset
			return errCanceled(ctx, f.Path, line)
		}
		if len(r.matches) >= r.opts.BatchMatches {
			if err := r.apply(); err != nil {
				return err
			}
		}
	}
	dec.Flush(emit)
	r.sum.Lines += line
	r.sum.Bytes += offset
	return r.apply()
}

// readLine reads one line, returning at most keep bytes of its text without
// the terminator ("\n" or "\r\n"), and the bytes consumed. The rest of a
// longer line is read and dropped. At the end of the input it returns io.EOF
// (with the last, unterminated line if there is one).
func readLine(br *bufio.Reader, keep int) (string, int64, error) {
	var buf []byte
	var n int64
	for {
		chunk, err := br.ReadSlice('\n')
		n += int64(len(chunk))
		if room := keep + 2 - len(buf); room > 0 { // +2: the terminator
			buf = append(buf, chunk[:min(room, len(chunk))]...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err == nil {
			buf = trimEOL(buf)
		}
		if len(buf) > keep {
			buf = buf[:keep]
		}
		return string(buf), n, err
	}
}

func trimEOL(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\n' {
		b = b[:len(b)-1]
		if len(b) > 0 && b[len(b)-1] == '\r' {
			b = b[:len(b)-1]
		}
	}
	return b
}

// record evaluates the rules on one record and queues the matches.
func (r *run) record(rec *parsers.Record, origin string) {
	ms, err := r.eval.Eval(rec)
	if err != nil {
		errs := []error{err}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			errs = j.Unwrap()
		}
		r.sum.RuleErrors += len(errs)
		for _, e := range errs {
			r.sum.addError(fmt.Errorf("%s at byte %d: %w", rec.Path, rec.Offset, e))
		}
	}
	for _, m := range ms {
		r.sum.rule(m.Rule.ID).Matches++
		r.matches = append(r.matches, r.engine.life.MatchOf(m, rec.Time, fmt.Sprintf("%s@%d", origin, rec.Offset)))
	}
}

// apply runs the queued matches through the lifecycle in one transaction,
// then emits the events they raised.
func (r *run) apply() error {
	if len(r.matches) == 0 {
		return nil
	}
	var out []Event
	err := r.store.Update(func(tx *state.Tx) error {
		out = out[:0]
		for _, m := range r.matches {
			before := r.stats
			routed, err := r.engine.life.Apply(tx, m, &r.stats)
			if err != nil {
				return fmt.Errorf("rule %s: %w", m.Rule.ID, err)
			}
			rs := r.sum.rule(m.Rule.ID)
			rs.Duplicates += r.stats.Duplicates - before.Duplicates
			rs.Suppressed += r.stats.Suppressed - before.Suppressed
			rs.Unmatched += r.stats.Unmatched - before.Unmatched
			for _, ro := range routed {
				if ro.Event.Status == sdk.StatusResolved {
					rs.Resolved++
				} else {
					rs.Fired++
				}
				ev := Event{Event: ro.Event}
				if r.engine.spec.Route {
					ev.Sinks = append([]string{}, ro.Sinks...)
				}
				out = append(out, ev)
			}
		}
		return nil
	})
	r.matches = r.matches[:0]
	if err != nil {
		return fmt.Errorf("replay: applying matches: %w", err)
	}
	for _, ev := range out {
		r.sum.Events++
		if err := r.opts.Emit(ev); err != nil {
			return err
		}
	}
	return nil
}

// countOpen counts, per rule, the alerts still firing.
func (r *run) countOpen() error {
	return r.store.View(func(tx *state.Tx) error {
		for _, a := range tx.Alerts(func(a state.Alert) bool { return a.Status == sdk.StatusFiring }) {
			if i := slices.IndexFunc(r.sum.Rules, func(s RuleStats) bool { return s.Rule == a.Rule }); i >= 0 {
				r.sum.Rules[i].Open++
			}
		}
		return nil
	})
}
