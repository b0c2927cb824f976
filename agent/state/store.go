// Package state is the agent's durable memory, one bbolt file in the data
// directory: how far each tailed file has been read, the alerts that are open or
// were recently resolved, the ids of events already raised (deduplication), and
// per sink an outbox of events still to deliver plus a dead-letter bucket of
// events a sink refused for good.
//
// Everything the pipeline learns from one batch of log lines is written in one
// transaction (Store.Update): file positions, alert changes, dedup ids and the
// outbox entries. A crash therefore never loses the events of a line that was
// read, and never enqueues them twice. Delivery from the outbox is at-least-once:
// a sink sees an event twice only when it accepted a batch and the agent died
// before recording that (Store.Complete).
//
// Only one process may open a state file at a time; bbolt holds an exclusive
// file lock while it is open.
package state

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the layout of the state file this build reads and writes.
// A file with a higher version was written by a newer herald and is refused
// rather than misread; a file with a lower one is migrated when it is opened
// (migrate.go).
//
//   - 1: alerts keyed by rule and key, an alerts_by_key index, dedup ids
//     keyed by id, JSON values.
//   - 2: alerts keyed by a sequence number in firing order, dedup ids keyed by
//     time then id, both found through indexes in memory; alerts and outbox
//     entries in a binary encoding (codec.go).
//   - 3: records' bodies compressed with a dictionary per rule (dicts.go),
//     in the dicts bucket; dedup ids keyed by time then the id's digest.
const SchemaVersion = 3

// growStep is how much the file grows by when it has size bytes of pages:
// a sixteenth, between 256 KiB and 16 MiB. bbolt grows a file to the size of
// its memory map, which doubles, until the map reaches its AllocSize (16 MiB
// by default): a file whose pages needed 8.1 MiB took 16. Growing by a
// sixteenth keeps the file within about 6 % of what its pages need, at the
// price of a truncate and an fsync per step. On Windows bbolt sizes the file
// to its map anyway.
func growStep(size int64) int {
	return int(min(max(size/16, 256<<10), 16<<20))
}

// DefaultTimeout is how long Open waits for the file lock by default.
const DefaultTimeout = time.Second

// Top-level buckets. Their names are part of the on-disk schema.
var (
	bucketMeta      = []byte("meta")
	bucketPositions = []byte("positions")
	bucketAlerts    = []byte("alerts")
	bucketSeen      = []byte("seen")
	bucketOutbox    = []byte("outbox")
	bucketDead      = []byte("dead")
	// bucketSilences was added after schema version 1 without changing it:
	// a file that lacks it simply gets it at Open, and an older herald
	// ignores it.
	bucketSilences = []byte("silences")
	// bucketDicts holds the records' dictionaries (dicts.go), from schema 3.
	bucketDicts = []byte("dicts")

	keySchema = []byte("schema")

	allBuckets = [][]byte{bucketMeta, bucketPositions, bucketAlerts, bucketSeen, bucketOutbox, bucketDead, bucketSilences, bucketDicts}
)

// ErrInUse reports that another process holds the state file's lock.
var ErrInUse = errors.New("state file is in use")

// ErrCorrupt reports that the state file cannot be read as a Herald state file.
var ErrCorrupt = errors.New("state file is corrupt")

// ErrNewerSchema reports a state file written by a newer herald.
var ErrNewerSchema = errors.New("state file is from a newer herald")

// Options tune Open. The zero value is ready to use.
type Options struct {
	// Logger receives the store's own log lines. Default: discard.
	Logger *slog.Logger
	// Timeout is how long Open waits for the file lock held by another
	// process before giving up. Default DefaultTimeout (1s).
	Timeout time.Duration
	// Now stamps outbox and dead-letter entries. Default time.Now.
	Now func() time.Time
	// CacheBytes bounds the memory per sink in which the store keeps outbox
	// entries it wrote decoded, so the dispatcher does not decode what the
	// pipeline has just encoded. Default DefaultCacheBytes; negative turns
	// the cache off.
	CacheBytes int

	// MaxSize caps the file's size in bytes: a commit that would grow it
	// beyond fails, the way one on a full disk does (tests use it to provoke
	// that). Zero: no cap.
	MaxSize int
	// commit the way a full disk does.
}

// Store is an open state file. It is safe for concurrent use: bbolt runs one
// writer at a time and any number of readers alongside it.
type Store struct {
	db     *bolt.DB
	path   string
	logger *slog.Logger
	now    func() time.Time

	// wmu runs one Update, commit hook included, at a time. bbolt runs its
	// commit hooks after it has let the next writer in; without wmu the hooks
	// of two transactions could run in either order.
	wmu   sync.Mutex
	cache *outboxCache
	idx   *indexes
	dicts *dictSet

	mu    sync.Mutex
	depth map[string]int // pending outbox entries per sink, kept in step by commit hooks
	// drained is closed, and replaced, by every commit that took entries out
	// of an outbox; delivered counts those commits (WaitAhead).
	drained   chan struct{}
	delivered uint64

	// Under wmu: releaseMemory's state, and whether Close has begun.
	lastRelease  time.Time
	releaseLater *time.Timer
	closed       bool
	released     func() // tests: called after each release

	releaseFailed atomic.Bool // releaseMemory has logged that it cannot

	migratedFrom uint64 // the schema Open migrated the file from, or 0
}

// Open opens the state file at path, creating it and its directory if needed.
//
// It fails with an error wrapping ErrInUse when another process holds the file
// for longer than opts.Timeout, and with an error wrapping ErrCorrupt, which
// says how to recover, when the file is not a readable Herald state file.
func Open(path string, opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.CacheBytes == 0 {
		opts.CacheBytes = DefaultCacheBytes
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("state: create directory for %s: %w", path, err)
	}

	db, err := openBolt(path, opts)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, path: path, logger: opts.Logger, now: opts.Now, depth: map[string]int{}, drained: make(chan struct{}), cache: newOutboxCache(opts.CacheBytes), idx: newIndexes(), dicts: newDictSet()}
	if err := s.init(); err != nil {
		_ = db.Close()
		return nil, err
	}
	attrs := []any{"path", path}
	// What the sinks still have to deliver from the last run, e.g. "pager=3 chat=1".
	if p := pendingText(s.depth); p != "" {
		attrs = append(attrs, "pending", p)
	}
	s.logger.Info("state opened", attrs...)
	return s, nil
}

// openBolt opens the bbolt file and verifies it, turning every way a damaged
// file can fail (errors, panics, memory faults on a truncated mapping) into one
// error that tells the operator what to do.
func openBolt(path string, opts Options) (db *bolt.DB, err error) {
	// A truncated file is memory-mapped beyond its end; reading there raises
	// SIGBUS, which kills the process unless this goroutine asks for a panic.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			// bbolt keeps the file open when it panics half way through Open;
			// the os.File finalizer releases it. The agent stops on this error.
			db = nil
			err = corrupt(path, fmt.Errorf("%v", r))
		}
	}()

	db, err = bolt.Open(path, 0o600, &bolt.Options{
		Timeout: opts.Timeout,
		// NoFreelistSync would save a page write per commit, but then bbolt
		// rebuilds the freelist at open in a goroutine of its own, where a
		// damaged file panics beyond our recover and kills the agent.
		FreelistType: bolt.FreelistMapType,
		MaxSize:      opts.MaxSize,
	})
	switch {
	case err == nil:
		db.AllocSize = growStep(0)
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("%w: state file %s is in use by another herald process (lock wait %s)", ErrInUse, path, opts.Timeout)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrVersionMismatch):
		return nil, corrupt(path, err)
	default:
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("state: open %s: %w", path, pe.Err)
		}
		return nil, corrupt(path, err)
	}

	if err := verify(db); err != nil {
		_ = db.Close()
		return nil, corrupt(path, err)
	}
	return db, nil
}

// verify checks that every page the file claims is present, reads every key and
// value, and runs bbolt's consistency check, so damage shows up at start-up
// rather than as a panic in the middle of the night. Its cost grows with the
// file, which stays small unless a sink is down for long.
func verify(db *bolt.DB) error {
	info, err := os.Stat(db.Path())
	if err != nil {
		return err
	}
	return db.View(func(tx *bolt.Tx) error {
		if info.Size() < tx.Size() {
			return fmt.Errorf("file is %d bytes but its pages need %d (truncated)", info.Size(), tx.Size())
		}
		// Walk here, on the goroutine that recovers panics and faults, before
		// tx.Check reads the same pages on a goroutine of its own.
		var sum byte
		if err := tx.ForEach(func(_ []byte, b *bolt.Bucket) error { return walk(b, &sum) }); err != nil {
			return err
		}
		runtime.KeepAlive(sum)
		var errs []error
		for err := range tx.Check() {
			if len(errs) < 5 {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	})
}

// walk reads every key and value of b and its nested buckets.
func walk(b *bolt.Bucket, sum *byte) error {
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if v == nil {
			if nb := b.Bucket(k); nb != nil {
				if err := walk(nb, sum); err != nil {
					return err
				}
			}
			continue
		}
		// Touch the value's last byte: an overflow page past the end of the
		// file faults here.
		if len(v) > 0 {
			*sum ^= v[len(v)-1]
		}
	}
	return nil
}

func corrupt(path string, cause error) error {
	return fmt.Errorf("%w: cannot read %s (%v). To recover, stop herald and move the file aside and start again: "+
		"file positions restart per each input's start_at and undelivered events are lost; or restore a backup of the file",
		ErrCorrupt, path, cause)
}

// init checks the schema version, migrates an older file, creates the
// buckets, builds the in-memory indexes and counts pending entries per sink.
func (s *Store) init() error {
	if err := s.keepCopy(); err != nil {
		return err
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		id := tx.ID()
		tx.OnCommit(func() { s.cache.commit(id, nil) })
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return fmt.Errorf("create bucket %s: %w", bucketMeta, err)
		}
		switch v := meta.Get(keySchema); {
		case v == nil:
			// A new file.
		case len(v) != 8:
			return corrupt(s.path, fmt.Errorf("schema version is %d bytes, want 8", len(v)))
		case binary.BigEndian.Uint64(v) > SchemaVersion:
			return fmt.Errorf("%w: %s has schema version %d and this build understands up to %d: "+
				"run the newer herald, or move the file aside to start fresh", ErrNewerSchema, s.path, binary.BigEndian.Uint64(v), SchemaVersion)
		case binary.BigEndian.Uint64(v) < SchemaVersion:
			from := binary.BigEndian.Uint64(v)
			if err := s.migrate(tx, from); err != nil {
				return err
			}
			tx.OnCommit(func() { s.migratedFrom = from })
		}
		if err := meta.Put(keySchema, u64(SchemaVersion)); err != nil {
			return err
		}
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		if err := s.dicts.load(tx); err != nil {
			return corrupt(s.path, err)
		}
		if err := s.buildIndexes(tx); err != nil {
			return err
		}
		return tx.Bucket(bucketOutbox).ForEachBucket(func(sink []byte) error {
			s.depth[string(sink)] = tx.Bucket(bucketOutbox).Bucket(sink).Stats().KeyN
			return nil
		})
	})
	if err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrNewerSchema) {
		return fmt.Errorf("state: initialise %s: %w", s.path, err)
	}
	return err
}

// buildIndexes reads the name of every alert and every dedup id into the
// in-memory indexes (index.go), and which sinks have references. It reads only
// the start of each alert.
func (s *Store) buildIndexes(tx *bolt.Tx) error {
	err := tx.Bucket(bucketAlerts).ForEach(func(k, v []byte) error {
		if len(k) != 8 {
			return corrupt(s.path, fmt.Errorf("alert key %x is not a sequence number", k))
		}
		key, err := alertRecordIndex(v, func(sink []byte) {
			if !s.idx.refSinks[string(sink)] { // a lookup does not allocate; an assignment would
				s.idx.refSinks[string(sink)] = true
			}
		})
		if err != nil {
			return corrupt(s.path, fmt.Errorf("alert %d: %w", binary.BigEndian.Uint64(k), err))
		}
		s.idx.alerts.add(s.idx.hashBytes(key), binary.BigEndian.Uint64(k))
		return nil
	})
	if err != nil {
		return err
	}
	return tx.Bucket(bucketSeen).ForEach(func(k, _ []byte) error {
		// A key too short to hold a time is pruned by the next PruneSeen.
		if len(k) >= 8 {
			s.idx.seen.add(s.idx.hashBytes(k[8:]), uint64(seenKeyTime(k)))
		}
		return nil
	})
}

// Path is the state file's path.
func (s *Store) Path() string { return s.path }

// Migrated reports whether Open converted the file from an older schema, the
// schema it had, and where Open kept a copy of the file as it was.
func (s *Store) Migrated() (from uint64, copyPath string, ok bool) {
	if s.migratedFrom == 0 {
		return 0, "", false
	}
	return s.migratedFrom, s.path + backupSuffix(s.migratedFrom), true
}

// Close releases the file and its lock. Transactions must have finished.
func (s *Store) Close() error {
	s.wmu.Lock()
	s.closed = true
	if s.releaseLater != nil {
		s.releaseLater.Stop()
		s.releaseLater = nil
	}
	s.wmu.Unlock()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("state: close %s: %w", s.path, err)
	}
	return nil
}

// Update runs fn in one write transaction. When fn returns an error (or a read
// in it found an undecodable value) nothing it did is kept and that error is
// returned as is; when the commit fails (a full
// disk, an I/O error) nothing is kept and the error is wrapped as
// "state: commit: ...". Either way everything committed before stays intact.
//
// The Tx must not be used after fn returns. Update must not be called from
// inside fn.
func (s *Store) Update(fn func(tx *Tx) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	var (
		fnErr    error
		undoDict func()
	)
	err := s.db.Update(func(btx *bolt.Tx) error {
		// Read by this transaction's commit, which holds bbolt's writer lock
		// as this function does.
		s.db.AllocSize = growStep(btx.Size())
		tx := &Tx{tx: btx, s: s}
		if fnErr = fn(tx); fnErr == nil {
			fnErr = tx.err
		}
		if fnErr != nil {
			return fnErr
		}
		// Every commit advances the cache's version, also one that changed
		// no outbox entry.
		id, ops, delta, idx := btx.ID(), tx.ops, tx.depth, &tx.idx
		btx.OnCommit(func() {
			s.idx.apply(idx)
			s.cache.commit(id, ops)
			if len(delta) > 0 {
				s.applyDepth(delta)
			}
		})
		if len(tx.newDicts) > 0 {
			undoDict = s.dicts.publish(tx.newDicts)
		}
		return nil
	})
	if err != nil && undoDict != nil {
		undoDict()
	}
	if err != nil && fnErr == nil {
		return fmt.Errorf("state: commit: %w", err)
	}
	if err == nil {
		s.releaseMemory()
	}
	return err
}

// releaseEvery is how often, at most, the state file's mapped pages are
// released (releaseMemory). Pages released are mapped again by the next
// transaction that reads them, a minor fault each: releasing after every
// commit of a catch-up cost about 10 % more agent CPU; once a second costs
// nothing measurable. A var so tests can release after every commit.
var releaseEvery = time.Second

// releaseMemory drops the state file's pages from the process's resident
// memory, at most once per releaseEvery, and once more releaseEvery after
// the last commit of a busy spell. bbolt reads the file through a memory
// map, and every page a transaction touched stays mapped in the process:
// with 100,000 open alerts that was 80 MiB, most of the agent's memory
// (PSS). It runs under wmu, after a commit.
func (s *Store) releaseMemory() {
	if !s.lastRelease.IsZero() && time.Since(s.lastRelease) < releaseEvery {
		if s.releaseLater == nil {
			s.releaseLater = time.AfterFunc(releaseEvery, func() {
				s.wmu.Lock()
				defer s.wmu.Unlock()
				s.releaseLater = nil
				if !s.closed {
					s.release()
				}
			})
		}
		return
	}
	s.release()
}

// release is releaseMemory, now.
func (s *Store) release() {
	s.lastRelease = time.Now()
	if s.released != nil {
		defer s.released()
	}
	_ = s.db.View(func(tx *bolt.Tx) error {
		// A read transaction holds bbolt's map in place: a commit that grows
		// the file cannot remap it meanwhile.
		if err := releaseMapped(s.db.Info().Data, int(tx.Size())); err != nil && !s.releaseFailed.Swap(true) {
			s.logger.Warn("cannot release the state file's mapped pages; the agent keeps working, but its memory includes them", "path", s.path, "err", err)
		}
		return nil
	})
}

// View runs fn in a read-only transaction that sees a consistent snapshot. It
// returns fn's error, or else the first undecodable value a read met. Write
// methods of the Tx fail inside View.
func (s *Store) View(fn func(tx *Tx) error) error {
	return s.db.View(func(btx *bolt.Tx) error {
		tx := &Tx{tx: btx, s: s}
		if err := fn(tx); err != nil {
			return err
		}
		return tx.err
	})
}

func (s *Store) applyDepth(delta map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	took := false
	for sink, d := range delta {
		s.depth[sink] += d
		took = took || d < 0
	}
	if took {
		s.delivered++
		close(s.drained)
		s.drained = make(chan struct{})
	}
}

// WaitAhead waits while every one of sinks has at least ahead entries
// pending, until one of them has fewer. It gives up when a wait for a commit
// that takes entries out of an outbox lasts patience, and then reports
// stalled: the sinks are not delivering (an outage, which their outboxes'
// caps bound). It also returns when ctx ends.
//
// A reader of a backlog calls it so that it runs at most ahead entries in
// front of the sink that delivers fastest: an outbox that a catch-up fills
// faster than the sinks drain it would otherwise leave its pages free in
// the state file once it is delivered (bbolt reuses them, but never gives
// them back). No sink waits for it: while any has fewer than ahead pending,
// it does not wait.
func (s *Store) WaitAhead(ctx context.Context, sinks []string, ahead int, patience time.Duration) (stalled bool) {
	var timer *time.Timer
	for {
		s.mu.Lock()
		full := len(sinks) > 0
		for _, sink := range sinks {
			full = full && s.depth[sink] >= ahead
		}
		ch := s.drained
		s.mu.Unlock()
		if !full {
			return false
		}
		if timer == nil {
			timer = time.NewTimer(patience)
			defer timer.Stop()
		} else {
			timer.Reset(patience)
		}
		select {
		case <-ch:
		case <-timer.C:
			return true
		case <-ctx.Done():
			return false
		}
	}
}

// Delivered counts the commits that took entries out of an outbox: a
// caller of WaitAhead that gave up can tell from it when the sinks deliver
// again.
func (s *Store) Delivered() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.delivered
}

// Depth is the number of events waiting in sink's outbox. It reads a counter
// kept in memory, so it is cheap enough to call for every batch (backpressure),
// and its error is always nil; the error leaves room for a store that must
// read the file.
func (s *Store) Depth(sink string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return max(s.depth[sink], 0), nil
}

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

// pendingText writes the outbox depth per sink as "sink=n ...", in name order,
// leaving out sinks with nothing pending.
func pendingText(depth map[string]int) string {
	var b strings.Builder
	for _, sink := range slices.Sorted(maps.Keys(depth)) {
		if depth[sink] == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", sink, depth[sink])
	}
	return b.String()
}
