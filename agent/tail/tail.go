// Package tail follows log files: it discovers them by glob, emits their
// complete lines with exact byte offsets and a stable file identity, follows
// rollover (the file renamed or moved away and a new one created at the same
// path) and truncation without losing or repeating a line, and resumes from
// saved positions.
//
// It is the only package that knows github.com/nxadm/tail. The library reads
// lines in the steady state; everything it gets wrong or leaves undefined
// (identity, rotation, draining a renamed file, truncation, watching, exiting
// the process) is done here. See README.md for the behaviour in detail.
package tail

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/heraldhq/herald/parsers"
)

// Defaults of Config fields left zero. NotifiedReadInterval, which depends
// on the operating system, is in interval_unix.go and interval_windows.go.
const (
	// DefaultPollInterval is how often the patterns are re-globbed when
	// file notifications do not cover them, and how often while a followed
	// file is missing from the globs (see NotifiedPollInterval).
	DefaultPollInterval = time.Second
	// NotifiedPollInterval is how often the patterns are re-globbed when file
	// notifications watch the directory of every pattern: a file created,
	// renamed or deleted there triggers a scan at once, so the timed scan is
	// only the safety net. While a followed file is missing from the globs
	// (rotated away), scans come every DefaultPollInterval until it is
	// closed, so closing takes as long as without notifications.
	NotifiedPollInterval = 10 * time.Second
	DefaultReadInterval  = 250 * time.Millisecond
	// BatchEvents is the most events a batch from Events holds. A follower
	// sends its batch when it is full or when it has read all there is for
	// now, so a live line is never held back waiting for more.
	BatchEvents = 256
	// batchBuffer is how many batches Events buffers: it decouples reading
	// from processing, while a full buffer still stops the reading
	// (backpressure) rather than dropping anything. With the batch being
	// filled and the one being handled, a backlog has at most 1024 lines in
	// flight, as with the former channel of 1024 events; 4 batches measured
	// no cheaper (BenchmarkCatchUp).
	batchBuffer         = 2
	DefaultMaxLineBytes = parsers.MaxRecordBytes
	// DefaultOwnReadBacklog is how far behind the end of a file a follower
	// must be for it to read with its own buffered handle instead of
	// nxadm/tail: a backlog (catching up after a restart, start_at
	// "beginning"), not the few lines a live log adds between two checks.
	// See README.md, "Reading a backlog".
	DefaultOwnReadBacklog = 1 << 20
)

// StartAt values.
const (
	StartAtEnd       = "end"
	StartAtBeginning = "beginning"
)

// ErrTruncated is the Err of the Closed event sent when a file was truncated
// in place (copytruncate). An Opened event for the same Key, reading from
// offset 0, follows it.
var ErrTruncated = errors.New("file truncated")

// Position is what a consumer persists per file to resume after a restart.
type Position struct {
	// Offset is the byte offset just past the last line handled.
	Offset int64
	// Fingerprint is Event.Fingerprint of that line (see Fingerprint).
	Fingerprint string
	// Path is the path the file had (Event.Path). It lets a file that was
	// replaced while the agent was down be recognised: a file with no saved
	// position at a path that has one is read from its beginning.
	Path string
}

// Positions gives the saved positions, keyed by file identity (Event.Key).
// Its methods are called from the tailer's goroutines, concurrently with
// whatever else the implementation does, so it must be safe for that.
type Positions interface {
	// Get returns the saved position of the file with this key.
	Get(key string) (Position, bool)
	// HasPath reports whether a position is saved for any file whose
	// Position.Path is path.
	HasPath(path string) bool
}

// PositionMap is a Positions backed by a map from key to position. It must
// not be modified while a Tailer uses it.
type PositionMap map[string]Position

// Get implements Positions.
func (m PositionMap) Get(key string) (Position, bool) {
	p, ok := m[key]
	return p, ok
}

// HasPath implements Positions.
func (m PositionMap) HasPath(path string) bool {
	for _, p := range m {
		if p.Path == path {
			return true
		}
	}
	return false
}

// Config says which files to follow and how.
type Config struct {
	// Paths are glob patterns (filepath.Match syntax, plus "**" for any
	// number of directories) of the files to follow.
	Paths []string
	// Exclude are glob patterns of matching files to skip. A pattern without
	// a path separator is matched against the file's base name, otherwise
	// against its whole path.
	Exclude []string
	// StartAt is where a file found at start-up that has no saved position
	// starts: "end" (the default: only lines written from now on) or
	// "beginning". Files that appear later are always read from the beginning.
	StartAt string
	// PollInterval is how often Paths are re-globbed for new, renamed and
	// vanished files. Set, it is used as it is. Left zero, it is
	// NotifiedPollInterval (10s) when file notifications watch every
	// pattern's directory, otherwise DefaultPollInterval (1s); and
	// DefaultPollInterval while a followed file is missing from the globs.
	PollInterval time.Duration
	// ReadInterval is how often each followed file is checked for new data,
	// truncation and replacement. Set, it is used as it is. Left zero, it is
	// NotifiedReadInterval when file notifications watch the file's directory
	// (10s on Unix, 250ms on Windows), otherwise DefaultReadInterval (250ms).
	ReadInterval time.Duration
	// MaxLineBytes caps Line.Text. A longer line is emitted cut to this many
	// bytes with Event.Truncated set; its Offset still points past its end.
	// Default parsers.MaxRecordBytes (1 MiB).
	MaxLineBytes int
	// Positions are the saved positions; may be nil.
	Positions Positions
	// Once reads the files present at start to their current end, then closes
	// each (Closed with a nil Err) instead of following it; no new files are
	// looked for. Events is closed when all are read.
	Once bool
	// Logger receives what the tailer has to say; nil discards it.
	Logger *slog.Logger
	// OnStatus, when set, receives the tailer's Status after the initial
	// scan, and after every later scan or follower close/open that changes
	// it. It is called from the tailer's goroutines, one call at a time, and
	// must not block.
	OnStatus func(Status)

	// ownReadBacklog overrides DefaultOwnReadBacklog in tests and benchmarks.
	ownReadBacklog int64
	// notifiedPoll and missingPoll override NotifiedPollInterval and
	// DefaultPollInterval (as the interval while a file is missing) in tests
	// that leave PollInterval zero.
	notifiedPoll, missingPoll time.Duration

	hooks *hooks // test instrumentation; nil outside tests
}

// hooks let tests observe and pause followers without sleeping.
type hooks struct {
	// beforeCheck runs before a follower looks at its file, afterCheck after;
	// a test that blocks in beforeCheck until it releases afterCheck's lock
	// freezes followers in a known state.
	beforeCheck func(key string)
	// afterCheck gets the number of bytes of the file the follower has seen,
	// including an incomplete last line it holds back.
	afterCheck func(key string, seen int64)
	// scanned runs after each scan for files, with the time to the next
	// timed scan that scan chose.
	scanned func(next time.Duration)
	// open, when set, opens a newly found file instead of openFile, so a
	// test can make a file unreadable even as root.
	open func(path string) (*os.File, error)
}

// Kind says what an Event reports.
type Kind int

// Event kinds.
const (
	// Opened: the tailer started following a file. Line.Offset is where
	// reading starts; Header is set when that is not 0.
	Opened Kind = iota + 1
	// Line: one complete line.
	Line
	// Closed: the tailer stopped following a file; Err says why.
	Closed
)

func (k Kind) String() string {
	switch k {
	case Opened:
		return "opened"
	case Line:
		return "line"
	case Closed:
		return "closed"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Event is what the tailer reports, in order per Key.
type Event struct {
	Kind Kind
	// Key is the file's identity: "device:inode" on Unix,
	// "volumeSerial:fileIndex" (hex) on Windows. It survives renames.
	Key string
	// Path is the path the file had when it was opened.
	Path string
	// Line is the line (Kind==Line): Text without its terminator ("\n" or
	// "\r\n") and without a UTF-8 BOM at the start of the file; Offset just
	// past the terminator; First for the line starting at offset 0. For
	// Opened and Closed, only Offset is set: where reading starts, or where it
	// ended.
	//
	// The Text of lines read as a backlog shares its memory with the lines
	// around it, up to 4 KiB of them: keeping a line, or a part of one, for
	// long keeps all of them alive. Copy (strings.Clone) what is kept for long.
	Line parsers.Line
	// Truncated is set (Kind==Line) when the line was longer than
	// MaxLineBytes and Text holds only its beginning.
	Truncated bool
	// Header is the file's first line (Kind==Opened) when reading starts past
	// it, so a header-aware parser can be primed.
	Header string
	// Fingerprint identifies the file's content up to Line.Offset; store it
	// with the offset in a Position.
	Fingerprint string
	// Err (Kind==Closed) says why the file is no longer followed: nil when it
	// was renamed or deleted and drained to its end, ErrTruncated when it was
	// truncated (it is reopened at once), otherwise the read error.
	Err error
}

// Tailer follows the files of one Config. Create it with Start.
type Tailer struct {
	cfg     Config
	log     *slog.Logger
	ctx     context.Context
	cancel  context.CancelFunc
	events  chan []Event
	free    chan []Event    // batches handed back by Release, for reuse
	stopped <-chan struct{} // ctx.Done()
	done    chan struct{}   // closed once events is closed
	wg      sync.WaitGroup

	mu        sync.Mutex
	followers map[string]*follower  // by key
	closed    map[string]closedFile // files followed earlier, by key

	ownReadBacklog int64 // unread bytes from which followers read with their own handle

	// unreadable holds the matching files that cannot be opened or read,
	// by path. matched holds what the last scan's glob matched per pattern
	// (regular files, and those that could not be looked at), noMatch why a
	// pattern that matched nothing did. All three guarded by mu.
	unreadable map[string]FileProblem
	matched    [][]string
	noMatch    []PatternStatus

	// statusMu serialises publish: logging pattern changes (patternEmpty
	// says whether each pattern had no readable file) and OnStatus calls
	// (lastStatus is the last one made).
	statusMu     sync.Mutex
	patternEmpty []bool
	lastStatus   Status
	published    bool

	watch *watcher // nil when polling only

	// The intervals of timed scans and file checks, without file
	// notifications and with them (see Config).
	pollEvery, notifiedPoll time.Duration
	readEvery, notifiedRead time.Duration
}

// closedFile remembers where a follower stopped, so a file that reappears
// (a transient stat failure, a rename back) resumes instead of restarting.
type closedFile struct {
	pos Position
	at  time.Time
}

// closedTTL bounds how long closed files are remembered.
const closedTTL = time.Hour

// Start validates cfg, looks for the files once (those found now are the
// files "present at start-up" that StartAt applies to) and starts following
// them and watching for more. Events must be read from Events until it is
// closed; tailing waits while they are not. Cancelling ctx has the effect of
// Stop.
func Start(ctx context.Context, cfg Config) (*Tailer, error) {
	pollSet, readSet := cfg.PollInterval != 0, cfg.ReadInterval != 0
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(ctx)
	t := &Tailer{
		cfg:          cfg,
		log:          log,
		ctx:          ctx,
		cancel:       cancel,
		events:       make(chan []Event, batchBuffer),
		free:         make(chan []Event, batchBuffer+2), // the buffered ones, the consumer's, one being filled
		done:         make(chan struct{}),
		followers:    map[string]*follower{},
		closed:       map[string]closedFile{},
		unreadable:   map[string]FileProblem{},
		patternEmpty: make([]bool, len(cfg.Paths)),
	}
	t.stopped = ctx.Done()
	t.pollEvery, t.notifiedPoll = cfg.PollInterval, cfg.PollInterval
	if !pollSet {
		t.pollEvery = cmp.Or(cfg.missingPoll, DefaultPollInterval)
		t.notifiedPoll = cmp.Or(cfg.notifiedPoll, NotifiedPollInterval)
	}
	t.readEvery, t.notifiedRead = cfg.ReadInterval, cfg.ReadInterval
	if !readSet {
		t.notifiedRead = NotifiedReadInterval
	}
	t.ownReadBacklog = cfg.ownReadBacklog
	if t.ownReadBacklog == 0 {
		t.ownReadBacklog = DefaultOwnReadBacklog
	}
	if !cfg.Once {
		t.watch = newWatcher(t)
	}
	next := t.scan(true, true)
	if !cfg.Once {
		t.wg.Add(1)
		go t.discover(next)
		if t.watch != nil {
			t.wg.Add(1)
			go t.watch.run()
		}
	}
	go func() {
		t.wg.Wait()
		close(t.events)
		close(t.done)
	}()
	return t, nil
}

func (c *Config) setDefaults() error {
	if len(c.Paths) == 0 {
		return errors.New("tail: no paths to follow")
	}
	for _, p := range append(append([]string(nil), c.Paths...), c.Exclude...) {
		if err := validPattern(p); err != nil {
			return fmt.Errorf("tail: pattern %q: %w", p, err)
		}
	}
	switch c.StartAt {
	case "":
		c.StartAt = StartAtEnd
	case StartAtEnd, StartAtBeginning:
	default:
		return fmt.Errorf("tail: start_at %q: want %q or %q", c.StartAt, StartAtEnd, StartAtBeginning)
	}
	if c.PollInterval < 0 || c.ReadInterval < 0 || c.MaxLineBytes < 0 {
		return fmt.Errorf("tail: negative poll interval, read interval or max line bytes")
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.ReadInterval == 0 {
		c.ReadInterval = DefaultReadInterval
	}
	if c.MaxLineBytes == 0 {
		c.MaxLineBytes = DefaultMaxLineBytes
	}
	return nil
}

// Events delivers the events of all followed files, in batches of 1 to
// BatchEvents events of one file each, in order. Handing lines over a batch
// at a time rather than one by one costs the reader and the consumer far
// less per line while a backlog is read; a batch is sent as soon as its
// follower has read all there is for now, so a live line does not wait.
//
// Its buffer is bounded: a consumer that stops reading stops the tailing,
// nothing is dropped. It is closed after Stop (or the cancellation of
// Start's context) once every goroutine of the tailer has exited.
//
// A batch belongs to the consumer until it hands it back with Release.
func (t *Tailer) Events() <-chan []Event { return t.events }

// Release hands a batch received from Events back for reuse, so that
// reading a backlog does not allocate a batch for every BatchEvents lines.
// The consumer must not touch the batch afterwards; what it kept of its
// events (strings, Line values) stays valid. Releasing is optional: a batch
// that is not released is left to the garbage collector.
func (t *Tailer) Release(evs []Event) {
	if cap(evs) < BatchEvents {
		return // not one of ours: a follower would have to grow it
	}
	// Cleared, so that a batch waiting for reuse keeps no lines alive.
	clear(evs)
	select {
	case t.free <- evs[:0]:
	default: // enough spare batches already
	}
}

// batch returns an empty batch to fill: a released one when there is one.
func (t *Tailer) batch() []Event {
	select {
	case evs := <-t.free:
		return evs
	default:
		return make([]Event, 0, BatchEvents)
	}
}

// Stop stops following, closes every file and returns when Events is closed.
// Events not yet received are discarded. It is safe to call more than once
// and concurrently; the error is always nil today (closing a read-only file
// reports nothing worth acting on).
func (t *Tailer) Stop() error {
	t.cancel()
	<-t.done
	return nil
}

// discover scans for files until the tailer stops: when a notification says
// that a watched directory changed, and on a timer whose interval each scan
// chooses (see scan).
func (t *Tailer) discover(next time.Duration) {
	defer t.wg.Done()
	timer := time.NewTimer(next)
	defer timer.Stop()
	due := time.Now().Add(next)
	var rescan chan struct{}
	if t.watch != nil {
		rescan = t.watch.rescan
	}
	for {
		select {
		case <-t.ctx.Done():
			return
		case <-timer.C:
			next = t.scan(false, true)
		case <-rescan:
			// A notified scan only brings the timed scan forward: when a
			// file went missing (its grace period is counted in timed
			// scans) or a directory is no longer watched.
			if next = t.scan(false, false); time.Until(due) <= next {
				continue
			}
		}
		timer.Reset(next)
		due = time.Now().Add(next)
	}
}

// pokeAll wakes every follower to check its file.
func (t *Tailer) pokeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, f := range t.followers {
		f.poke()
	}
}

// poke wakes the follower of the file at path, if any, to read what is new.
func (t *Tailer) poke(path string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, f := range t.followers {
		if p, _ := f.where(); p == path {
			f.poke()
		}
	}
}

// match is one file found by the globs.
type match struct {
	path string
	key  string
}

// scan globs the paths, tells each follower where (or whether) its file was
// seen, and starts following new files. Only timed scans count a file as
// missing: a rotated file's grace period is measured in poll intervals, not in
// however many notifications a rollover produces.
//
// It returns when the next timed scan is due: after NotifiedPollInterval when
// notifications watch the directory of every pattern, otherwise, or while a
// followed file is missing, after DefaultPollInterval (or after PollInterval
// in both cases, when it is set).
func (t *Tailer) scan(initial, timed bool) (next time.Duration) {
	notified := t.watchPatterns()
	found, matched := t.glob()
	now := time.Now()

	t.mu.Lock()
	for k, c := range t.closed {
		if now.Sub(c.at) > closedTTL {
			delete(t.closed, k)
		}
	}
	present := make(map[string]bool, len(found))
	var fresh []match
	for _, m := range found {
		present[m.key] = true
		if f, ok := t.followers[m.key]; ok {
			f.saw(m.path)
		} else {
			fresh = append(fresh, m)
		}
	}
	missing := false
	for k, f := range t.followers {
		if !present[k] {
			missing = true
			if timed {
				f.missed()
			}
		}
	}
	t.mu.Unlock()

	next = t.notifiedPoll
	if missing || !notified {
		next = t.pollEvery
	}
	for _, m := range fresh {
		if t.ctx.Err() != nil {
			return next
		}
		t.follow(m, initial)
	}
	t.setMatched(matched)
	t.publish(initial)
	if h := t.cfg.hooks; h != nil {
		h.scanned(next)
	}
	return next
}

// watchPatterns watches the directory of every pattern (again, when the watch
// was lost or could not be set up before) and reports whether notifications
// cover every pattern: its directory has no glob syntax, so every file it
// matches is in that one directory, and that directory is watched.
func (t *Tailer) watchPatterns() bool {
	if t.watch == nil {
		return false
	}
	all := true
	for _, p := range t.cfg.Paths {
		if !t.watch.add(patternDir(p)) || !fixedDir(p) {
			all = false
		}
	}
	return all
}

// glob returns the regular files matching the config, one per identity, in
// path order, and for each pattern the paths it matched that count for its
// status: regular files, and those that could not be looked at.
func (t *Tailer) glob() ([]match, [][]string) {
	var out []match
	matched := make([][]string, len(t.cfg.Paths))
	keys := map[string]bool{}
	counts := map[string]bool{} // looked at: whether the path counts for a pattern
	for i, pattern := range t.cfg.Paths {
		paths, err := expand(pattern)
		if err != nil {
			// Only a malformed pattern fails, and Start validated them.
			t.log.Error("glob failed", "pattern", pattern, "err", err)
			continue
		}
		for _, p := range paths {
			if excluded(t.cfg.Exclude, p) {
				continue
			}
			c, done := counts[p]
			if !done {
				c = t.look(p, keys, &out)
				counts[p] = c
			}
			if c {
				matched[i] = append(matched[i], p)
			}
		}
	}
	t.mu.Lock()
	var gone []string
	for p := range t.unreadable {
		if !counts[p] {
			gone = append(gone, p)
		}
	}
	t.mu.Unlock()
	for _, p := range gone {
		t.markReadable(p, "unreadable file disappeared")
	}
	return out, matched
}

// look stats a matching path and adds a regular file of a new identity to
// out. It reports whether the path counts as a match: a regular file, or
// one that exists but could not be looked at.
func (t *Tailer) look(p string, keys map[string]bool, out *[]match) bool {
	key, regular, err := statKey(p)
	if err != nil {
		return t.cannotRead(p, err)
	}
	if !regular {
		return false
	}
	if !keys[key] {
		keys[key] = true
		*out = append(*out, match{path: p, key: key})
	}
	return true
}

// cannotRead records a failure to look at or open a matching file, logging
// it when it starts (never once per scan). A file that vanished between the
// glob and the failure is not a problem: the next scan settles it. It
// reports whether the file is still there.
func (t *Tailer) cannotRead(path string, err error) bool {
	if isNotExist(err) {
		return false
	}
	if t.markUnreadable(path, err) {
		t.log.Warn("cannot read file", "path", path, "err", err)
	}
	return true
}

// follow opens a newly found file, decides where to start and starts its follower.
func (t *Tailer) follow(m match, initial bool) {
	open := openFile
	if h := t.cfg.hooks; h != nil && h.open != nil {
		open = h.open
	}
	h, err := open(m.path)
	if err != nil {
		t.cannotRead(m.path, err)
		return
	}
	key, err := handleKey(h)
	if err != nil || key != m.key {
		// Replaced between the glob and the open: the next scan sees the new one.
		h.Close()
		return
	}
	fi, err := h.Stat()
	if err != nil {
		h.Close()
		t.cannotRead(m.path, err)
		return
	}
	start, why, err := t.startOffset(h, m, fi.Size(), initial)
	var header string
	if err == nil && start > 0 {
		header, err = readHeader(h, start, t.cfg.MaxLineBytes)
	}
	if err != nil {
		h.Close()
		t.cannotRead(m.path, err)
		return
	}
	// A file is checked at the longer interval only when changes to it are
	// reported: its directory is watched, and it is not a symbolic link,
	// whose target's changes are reported under the target's name, if at all.
	every := t.readEvery
	if t.watch != nil && t.watch.add(filepath.Dir(m.path)) && !isSymlink(m.path) {
		every = t.notifiedRead
	}
	f := newFollower(t, h, m, start, every)
	// A file that could not be read before is readable again once its
	// follower has read it; until then it stays unreadable.
	f.wasUnreadable = t.isUnreadable(m.path)
	t.mu.Lock()
	if _, dup := t.followers[key]; dup || t.ctx.Err() != nil {
		t.mu.Unlock()
		h.Close()
		return
	}
	t.followers[key] = f
	t.wg.Add(1)
	t.mu.Unlock()
	lv := slog.LevelInfo
	if f.wasUnreadable {
		lv = slog.LevelDebug // "file readable again" says it, once it is
	}
	t.log.Log(t.ctx, lv, "following file", "path", m.path, "key", key, "offset", start, "why", why)
	go f.run(header)
}

// isSymlink reports whether path is a symbolic link; false when that cannot
// be told, as the file was opened through it a moment ago.
func isSymlink(path string) bool {
	fi, err := os.Lstat(path)
	return err == nil && fi.Mode()&fs.ModeSymlink != 0
}

// startOffset decides where reading of a newly found file starts, and why.
func (t *Tailer) startOffset(h *os.File, m match, size int64, initial bool) (int64, string, error) {
	t.mu.Lock()
	c, wasClosed := t.closed[m.key]
	delete(t.closed, m.key)
	t.mu.Unlock()
	if wasClosed {
		ok, why, err := verify(h, size, c.pos)
		if err != nil {
			return 0, "", err
		}
		if ok {
			return c.pos.Offset, "reappeared, resuming where it was left", nil
		}
		return 0, "reappeared with other content (" + why + "), reading from the beginning", nil
	}
	if p := t.cfg.Positions; p != nil {
		if pos, ok := p.Get(m.key); ok {
			ok, why, err := verify(h, size, pos)
			if err != nil {
				return 0, "", err
			}
			if ok {
				return pos.Offset, "saved position", nil
			}
			return 0, fmt.Sprintf("saved position %d does not fit (%s), reading from the beginning", pos.Offset, why), nil
		}
		if p.HasPath(m.path) {
			return 0, "another file was at this path before: replaced while not running", nil
		}
	}
	if !initial {
		return 0, "new file", nil
	}
	if t.cfg.StartAt == StartAtBeginning {
		return 0, "start_at beginning", nil
	}
	off, err := lastLineEnd(h, size)
	return off, "start_at end", err
}

// forget is called by a follower that stops for good (not at shutdown).
func (t *Tailer) forget(f *follower, pos Position) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.followers[f.key] == f {
		delete(t.followers, f.key)
	}
	t.closed[f.key] = closedFile{pos: pos, at: time.Now()}
}

// remove is called by a follower that stops because the tailer stops.
func (t *Tailer) remove(f *follower) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.followers[f.key] == f {
		delete(t.followers, f.key)
	}
}

// send delivers a batch unless the tailer stops first.
//
// It tries the cheap way first: a non-blocking send to a channel with room
// locks only that channel, while the two-way select below locks both.
func (t *Tailer) send(evs []Event) bool {
	select {
	case <-t.stopped:
		return false
	default:
	}
	select {
	case t.events <- evs:
		return true
	default:
	}
	select {
	case t.events <- evs:
		return true
	case <-t.stopped:
		return false
	}
}
