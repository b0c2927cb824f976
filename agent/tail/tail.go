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
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/heraldhq/herald/parsers"
)

// Defaults of Config fields left zero.
const (
	DefaultPollInterval = time.Second
	DefaultReadInterval = 250 * time.Millisecond
	// NotifiedReadInterval is the default check interval when file
	// notifications work: they wake readers at once, so the timer is only the
	// safety net, and an idle agent stays idle.
	NotifiedReadInterval = 2 * time.Second
	// eventBuffer decouples reading from processing: the consumer takes lines
	// in large batches during catch-up, while a full buffer still stops the
	// reading (backpressure) rather than dropping anything.
	eventBuffer         = 1024
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
	// vanished files. Default 1s.
	PollInterval time.Duration
	// ReadInterval is how often each followed file is checked for new data,
	// truncation and replacement. Default 250ms, or NotifiedReadInterval when
	// file notifications wake readers.
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

	// ownReadBacklog overrides DefaultOwnReadBacklog in tests and benchmarks.
	ownReadBacklog int64

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
	// scanned runs after each scan for files.
	scanned func()
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
	events  chan Event
	stopped <-chan struct{} // ctx.Done()
	done    chan struct{}   // closed once events is closed
	wg      sync.WaitGroup

	mu        sync.Mutex
	followers map[string]*follower  // by key
	closed    map[string]closedFile // files followed earlier, by key

	ownReadBacklog int64 // unread bytes from which followers read with their own handle

	pathErrs  map[string]string // last error logged per path; scan goroutine only
	watch     *watcher          // nil when polling only
	readEvery time.Duration     // the followers' check interval
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
	readDefaulted := cfg.ReadInterval == 0
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(ctx)
	t := &Tailer{
		cfg:       cfg,
		log:       log,
		ctx:       ctx,
		cancel:    cancel,
		events:    make(chan Event, eventBuffer),
		done:      make(chan struct{}),
		followers: map[string]*follower{},
		closed:    map[string]closedFile{},
		pathErrs:  map[string]string{},
	}
	t.stopped = ctx.Done()
	t.readEvery = cfg.ReadInterval
	t.ownReadBacklog = cfg.ownReadBacklog
	if t.ownReadBacklog == 0 {
		t.ownReadBacklog = DefaultOwnReadBacklog
	}
	if !cfg.Once {
		t.watch = newWatcher(t)
		if t.watch != nil && readDefaulted {
			t.readEvery = NotifiedReadInterval
		}
	}
	t.scan(true, true)
	if !cfg.Once {
		t.wg.Add(1)
		go t.discover()
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

// Events delivers the events of all followed files. Its buffer is bounded: a
// consumer that stops reading stops the tailing, nothing is dropped. It is
// closed after Stop (or the cancellation of Start's context) once every
// goroutine of the tailer has exited.
func (t *Tailer) Events() <-chan Event { return t.events }

// Stop stops following, closes every file and returns when Events is closed.
// Events not yet received are discarded. It is safe to call more than once
// and concurrently; the error is always nil today (closing a read-only file
// reports nothing worth acting on).
func (t *Tailer) Stop() error {
	t.cancel()
	<-t.done
	return nil
}

// discover re-globs every PollInterval until the tailer stops.
func (t *Tailer) discover() {
	defer t.wg.Done()
	tick := time.NewTicker(t.cfg.PollInterval)
	defer tick.Stop()
	var rescan chan struct{}
	if t.watch != nil {
		rescan = t.watch.rescan
	}
	for {
		select {
		case <-t.ctx.Done():
			return
		case <-tick.C:
			t.scan(false, true)
		case <-rescan:
			t.scan(false, false)
		}
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
func (t *Tailer) scan(initial, timed bool) {
	found := t.glob()
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
	for k, f := range t.followers {
		if !present[k] && timed {
			f.missed()
		}
	}
	t.mu.Unlock()

	for _, m := range fresh {
		if t.ctx.Err() != nil {
			return
		}
		t.follow(m, initial)
	}
	if h := t.cfg.hooks; h != nil {
		h.scanned()
	}
}

// glob returns the regular files matching the config, one per identity, in
// path order.
func (t *Tailer) glob() []match {
	var out []match
	keys := map[string]bool{}
	seenPaths := map[string]bool{}
	for _, pattern := range t.cfg.Paths {
		paths, err := expand(pattern)
		if err != nil {
			// Only a malformed pattern fails, and Start validated them.
			t.log.Error("glob failed", "pattern", pattern, "err", err)
			continue
		}
		for _, p := range paths {
			if seenPaths[p] || excluded(t.cfg.Exclude, p) {
				continue
			}
			seenPaths[p] = true
			key, regular, err := statKey(p)
			if err != nil {
				t.pathError(p, err)
				continue
			}
			delete(t.pathErrs, p)
			if !regular || keys[key] {
				continue
			}
			keys[key] = true
			out = append(out, match{path: p, key: key})
		}
	}
	for p := range t.pathErrs {
		if !seenPaths[p] {
			delete(t.pathErrs, p)
		}
	}
	return out
}

// pathError logs a failure to look at a matching path, once per distinct error.
func (t *Tailer) pathError(path string, err error) {
	if isNotExist(err) {
		return // gone between the glob and the stat: the next scan settles it
	}
	msg := err.Error()
	if t.pathErrs[path] != msg {
		t.pathErrs[path] = msg
		t.log.Warn("cannot follow file", "path", path, "err", err)
	}
}

// follow opens a newly found file, decides where to start and starts its follower.
func (t *Tailer) follow(m match, initial bool) {
	h, err := openFile(m.path)
	if err != nil {
		t.pathError(m.path, err)
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
		t.pathError(m.path, err)
		return
	}
	start, why, err := t.startOffset(h, m, fi.Size(), initial)
	var header string
	if err == nil && start > 0 {
		header, err = readHeader(h, start, t.cfg.MaxLineBytes)
	}
	if err != nil {
		h.Close()
		t.pathError(m.path, err)
		return
	}
	f := newFollower(t, h, m, start)
	t.mu.Lock()
	if _, dup := t.followers[key]; dup || t.ctx.Err() != nil {
		t.mu.Unlock()
		h.Close()
		return
	}
	t.followers[key] = f
	t.wg.Add(1)
	t.mu.Unlock()
	if t.watch != nil {
		t.watch.add(filepath.Dir(m.path))
	}
	t.log.Info("following file", "path", m.path, "key", key, "offset", start, "why", why)
	go f.run(header)
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

// release is called by a follower that stops because the tailer stops.
func (t *Tailer) release(f *follower) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.followers[f.key] == f {
		delete(t.followers, f.key)
	}
}

// send delivers ev unless the tailer stops first.
//
// It tries the cheap way first: a non-blocking send to a channel with room
// locks only that channel, while the two-way select below locks both
// channels on every line of a backlog.
func (t *Tailer) send(ev Event) bool {
	select {
	case <-t.stopped:
		return false
	default:
	}
	select {
	case t.events <- ev:
		return true
	default:
	}
	select {
	case t.events <- ev:
		return true
	case <-t.stopped:
		return false
	}
}
