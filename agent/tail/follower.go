package tail

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	nxtail "github.com/nxadm/tail"

	"github.com/heraldhq/herald/parsers"
)

// goneAfter is the number of consecutive scans a file must be missing from its
// globs before it is considered rotated away for good. The first miss drains
// its complete lines; the second emits its unterminated last line and closes
// it. Two scans ride out a transient stat failure and give a writer that
// still appends after the rename one poll interval to finish.
const goneAfter = 2

// errFallback says the nxadm pass could not be used and the own reader must
// read instead.
var errFallback = errors.New("nxadm pass not usable")

// errStopped says the tailer stopped while a follower was sending.
var errStopped = errors.New("tailer stopped")

// follower follows one file identity from the moment it is found until it is
// rotated away, deleted, fails, or the tailer stops.
//
// It keeps its own handle on the file, opened with the sharing flags that let
// the writer rename and delete it. New data is read with nxadm/tail through the
// path while the path still leads to this file; a file that is no longer
// at its path (rotated, moved to another share, deleted) is drained through
// the own handle, so the end of a file is never lost to a rename race.
type follower struct {
	t    *Tailer
	key  string
	path string // path at open, reported in every event
	h    *os.File

	off      int64 // just past the last emitted line
	seen     int64 // bytes known to exist: off plus a held-back incomplete line
	lastSize int64 // size at the previous check
	head     fingerprinter
	every    time.Duration // check interval without a wake-up
	batch    []Event       // events not yet sent; nil when there are none

	mu      sync.Mutex
	curPath string // where the last scan found the file
	missing int    // consecutive scans that did not find it
	wake    chan struct{}

	// wasUnreadable: the file was marked unreadable when it was opened; the
	// first good check marks it readable again.
	wasUnreadable bool
}

func newFollower(t *Tailer, h *os.File, m match, start int64, every time.Duration) *follower {
	return &follower{
		t:        t,
		key:      m.key,
		path:     m.path,
		h:        h,
		off:      start,
		seen:     start,
		lastSize: -1,
		head:     fingerprinter{r: h},
		every:    every,
		curPath:  m.path,
		wake:     make(chan struct{}, 1),
	}
}

// saw records that a scan found the file at path.
func (f *follower) saw(path string) {
	f.mu.Lock()
	changed := f.missing > 0 || f.curPath != path
	f.curPath, f.missing = path, 0
	f.mu.Unlock()
	if changed {
		f.poke()
	}
}

// missed records that a scan did not find the file.
func (f *follower) missed() {
	f.mu.Lock()
	f.missing++
	f.mu.Unlock()
	f.poke()
}

func (f *follower) poke() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (f *follower) where() (path string, missing int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.curPath, f.missing
}

func (f *follower) run(header string) {
	defer f.t.wg.Done()
	defer f.h.Close()
	log := f.t.log.With("path", f.path, "key", f.key)

	err := f.loop(header)
	switch {
	case errors.Is(err, errStopped):
		f.t.remove(f)
		return
	case err == nil && f.t.cfg.Once:
		log.Debug("read to the end", "offset", f.off)
		f.finish(nil)
	case err == nil:
		log.Info("file rotated away or deleted; drained", "offset", f.off)
		f.finish(nil)
	default:
		// Logged when the file starts failing, not at every attempt: the
		// next scan follows it again, and it may fail again.
		if f.t.markUnreadable(f.path, err) {
			log.Warn("cannot read file", "offset", f.off, "err", err)
		} else {
			log.Debug("stopped following file", "offset", f.off, "err", err)
		}
		f.finish(err)
	}
	f.t.publish(false)
}

// loop sends Opened and checks the file until it is gone and drained (nil),
// the tailer stops (errStopped) or reading fails.
func (f *follower) loop(header string) error {
	fp, err := f.head.at(f.off)
	if err != nil {
		return err
	}
	// Sent at once, not with the first lines: a consumer learns of the
	// file as soon as it is followed.
	if err := f.send(Event{Kind: Opened, Line: parsers.Line{Offset: f.off}, Header: header, Fingerprint: fp.String()}); err != nil {
		return err
	}
	if err := f.flush(); err != nil {
		return err
	}
	tick := time.NewTicker(f.every)
	defer tick.Stop()
	for {
		done, err := f.check()
		if err == nil && f.wasUnreadable {
			f.wasUnreadable = false
			if f.t.markReadable(f.path, "file readable again") {
				f.t.publish(false)
			}
		}
		if done || err != nil || f.t.cfg.Once {
			return err
		}
		select {
		case <-f.t.ctx.Done():
			return errStopped
		case <-tick.C:
		case <-f.wake:
		}
	}
}

// finish sends Closed and remembers where the file was left.
func (f *follower) finish(err error) {
	fp, fpErr := f.head.at(f.off)
	if fpErr != nil && err == nil {
		err = fpErr
	}
	f.t.forget(f, Position{Offset: f.off, Fingerprint: fp.String(), Path: f.path})
	if f.send(Event{Kind: Closed, Line: parsers.Line{Offset: f.off}, Fingerprint: fp.String(), Err: err}) == nil {
		_ = f.flush()
	}
}

// check looks at the file once: handles truncation, reads what is new, and
// reports done when the file is gone and drained. What it read is sent
// before it returns: the follower waits for the next check without holding
// any event back.
func (f *follower) check() (done bool, err error) {
	if h := f.t.cfg.hooks; h != nil {
		h.beforeCheck(f.key)
		defer func() { h.afterCheck(f.key, f.seen) }()
	}
	done, err = f.read()
	if ferr := f.flush(); err == nil {
		err = ferr
	}
	return done, err
}

// read is check without sending the last batch.
func (f *follower) read() (done bool, err error) {
	path, missing := f.where()
	fi, err := f.h.Stat()
	if err != nil {
		return false, fmt.Errorf("stat %s: %w", f.path, err)
	}
	size := fi.Size()
	truncated, err := f.truncated(size)
	if err != nil {
		return false, err
	}
	if truncated {
		if err := f.restart(); err != nil {
			return false, err
		}
	}
	f.lastSize = size
	if size > f.seen {
		err := errFallback
		if missing == 0 && size-f.seen < f.t.ownReadBacklog {
			err = f.readNxadm(path)
		}
		if errors.Is(err, errFallback) {
			err = f.readOwn(false)
		}
		if err != nil {
			return false, err
		}
	}
	if missing >= goneAfter {
		return true, f.readOwn(true)
	}
	return false, nil
}

// truncated reports whether the file was truncated in place since the last
// check: it is shorter than what was seen of it, or the bytes before the
// current offset changed (a copytruncate that regrew past the old size).
func (f *follower) truncated(size int64) (bool, error) {
	if size < f.seen {
		return true, nil
	}
	if f.off == 0 || size == f.lastSize {
		return false, nil
	}
	want, err := f.head.at(f.off)
	if err != nil {
		return false, err
	}
	got, err := fingerprint(f.h, want.n)
	if err != nil {
		return false, err
	}
	return got != want, nil
}

// restart reports a truncation as Closed(ErrTruncated) plus Opened at 0.
func (f *follower) restart() error {
	f.t.log.Info("file truncated, reading it again from the beginning", "path", f.path, "key", f.key, "offset", f.off)
	fp, err := f.head.at(f.off)
	if err != nil {
		return err
	}
	if err := f.send(Event{Kind: Closed, Line: parsers.Line{Offset: f.off}, Fingerprint: fp.String(), Err: ErrTruncated}); err != nil {
		return err
	}
	f.off, f.seen = 0, 0
	f.head.reset()
	fp, err = f.head.at(0)
	if err != nil {
		return err
	}
	return f.send(Event{Kind: Opened, Fingerprint: fp.String()})
}

// readNxadm reads the complete lines after f.off with nxadm/tail, through path.
// It returns errFallback when the path no longer leads to this file or the
// library misbehaves, so the caller reads with its own handle instead.
//
// nxadm/tail is used without Follow: it reads from an absolute offset to the
// current end of the file and stops. Its followers' watchers would be the
// only places where it can os.Exit the process, and its inotify watcher is
// one global tracker that breaks when two tails of the same path overlap,
// which is exactly what a rotation produces; change detection is done here.
func (f *follower) readNxadm(path string) error {
	tl, err := nxtail.TailFile(path, nxtail.Config{
		Location:      &nxtail.SeekInfo{Offset: f.off, Whence: io.SeekStart},
		MustExist:     true, // open now, so the identity check below is about this handle
		Follow:        false,
		ReOpen:        false,
		Poll:          true, // never touch the global inotify tracker
		CompleteLines: true,
		Logger:        nxtail.DiscardingLogger,
	})
	if err != nil {
		return errFallback
	}
	defer func() {
		// Stop: Kill unblocks a pending send, draining lets it finish.
		tl.Kill(nil)
		for range tl.Lines {
		}
		_ = tl.Wait()
	}()
	// The library opened path after we did; if path still leads to our
	// file, so does its handle (a file held open cannot get its identity
	// reused, and renaming it back in between is not something writers do).
	if key, _, err := statKey(path); err != nil || key != f.key {
		return errFallback
	}
	partial := int64(-1)
	for l := range tl.Lines {
		if l.Err != nil {
			return errFallback
		}
		start, n := f.off, int64(len(l.Text))
		switch l.SeekInfo.Offset {
		case start + n + 1: // a complete line and its "\n"
			if err := f.emit(l.Text, start, start+n+1); err != nil {
				return err
			}
		case start + n: // an incomplete last line, sent at EOF without Follow
			partial = start + n
		default:
			f.t.log.Warn("unexpected offset from nxadm/tail, reading with own handle",
				"path", f.path, "want", start+n+1, "got", l.SeekInfo.Offset)
			return errFallback
		}
	}
	if err := tl.Wait(); err != nil {
		return errFallback
	}
	f.seen = max(f.off, partial)
	return nil
}

// lineChunk is the most that readOwn turns into one string, whose substrings
// are the lines' Text: about 15 scheduler lines for one allocation. A
// consumer that keeps a line, or a part of it, keeps its chunk alive, so
// chunks stay small (see README.md, "Reading a backlog").
const lineChunk = 4 << 10

// readOwn reads the lines after f.off through the own handle. With final set
// it also emits an unterminated last line: the file is known to be rotated
// away and will not grow.
func (f *follower) readOwn(final bool) error {
	sr := io.NewSectionReader(f.h, f.off, math.MaxInt64-f.off)
	br := bufio.NewReaderSize(sr, 64<<10)
	keep := f.t.cfg.MaxLineBytes + 8 // room for "\r\n" and a BOM beyond the cap
	var scratch []byte
	var lines string // complete lines cut from the buffer, not yet emitted
	for {
		if lines == "" {
			buf, _ := br.Peek(br.Buffered())
			if i := bytes.LastIndexByte(buf[:min(len(buf), lineChunk)], '\n'); i >= 0 {
				lines = string(buf[:i+1])
				_, _ = br.Discard(i + 1)
			}
		}
		if lines != "" {
			line, rest, _ := strings.Cut(lines, "\n")
			lines = rest
			start := f.off
			if err := f.emit(line, start, start+int64(len(line))+1); err != nil {
				return err
			}
			continue
		}
		// Nothing buffered, or a line that reaches past the buffered bytes
		// or is longer than a chunk: one line at a time.
		text, n, complete, err := readLine(br, keep, &scratch)
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read %s at byte %d: %w", f.path, f.off, err)
		}
		start := f.off
		if complete {
			if err := f.emit(string(text[:len(text)-1]), start, start+n); err != nil {
				return err
			}
			continue
		}
		f.seen = f.off
		if n > 0 {
			if final {
				return f.emit(string(text), start, start+n)
			}
			f.seen = start + n
		}
		return nil
	}
}

// emit sends one line: raw is its text without "\n" but maybe with "\r",
// start and end its offsets in the file.
func (f *follower) emit(raw string, start, end int64) error {
	text := strings.TrimSuffix(raw, "\r")
	if start == 0 {
		text = strings.TrimPrefix(text, bom)
	}
	cut := false
	if max := f.t.cfg.MaxLineBytes; len(text) > max {
		text, cut = strings.Clone(text[:runeCut(text, max)]), true
	}
	fp, err := f.head.text(end)
	if err != nil {
		return err
	}
	ev := Event{Kind: Line, Line: parsers.Line{Text: text, Offset: end, First: start == 0}, Truncated: cut, Fingerprint: fp}
	if err := f.send(ev); err != nil {
		return err
	}
	f.off = end
	if f.seen < end {
		f.seen = end
	}
	return nil
}

// send adds ev to the follower's batch, and sends the batch when it is full.
func (f *follower) send(ev Event) error {
	if f.batch == nil {
		f.batch = f.t.batch()
	}
	ev.Key, ev.Path = f.key, f.path
	f.batch = append(f.batch, ev)
	if len(f.batch) < BatchEvents {
		return nil
	}
	return f.flush()
}

// flush sends the events not yet sent, if any.
func (f *follower) flush() error {
	if len(f.batch) == 0 {
		return nil
	}
	evs := f.batch
	f.batch = nil
	if !f.t.send(evs) {
		return errStopped
	}
	return nil
}

const bom = "\uFEFF"

// runeCut returns the largest n <= max at which s can be cut without
// splitting a UTF-8 sequence.
func runeCut(s string, max int) int {
	n := max
	for n > 0 && n > max-utf8.UTFMax && !utf8.RuneStart(s[n]) {
		n--
	}
	if n == 0 || n <= max-utf8.UTFMax {
		return max // not UTF-8 anyway
	}
	return n
}
