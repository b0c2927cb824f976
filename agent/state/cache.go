package state

import (
	"maps"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// DefaultCacheBytes is how much memory per sink, by entrySize's estimate,
// the outbox cache may hold by default (Options.CacheBytes).
//
// A firing event of the qliksense pack without script log lines holds 1.3 KB
// (BenchmarkCacheMemory; entrySize says 1.5 KB), so 2 MiB is about 1,400 of
// them, fourteen of the dispatcher's batches of 100; with twenty lines of
// script log an event is a few KB and fewer fit. The outbox of a sink that
// keeps up stays far below it. A backlog beyond it (a burst of alerts, an
// outage) costs what it costs without a cache: the entries past the bound are
// decoded from the file.
const DefaultCacheBytes = 2 << 20

// outboxCache holds, per sink, decoded copies of outbox entries this process
// committed, so the dispatcher (Pending) and Complete do not decode the JSON
// the pipeline has just encoded. The file stays the only truth: readers walk
// the outbox bucket for its keys and take an entry's content from the cache
// only when the cache reflects exactly the snapshot they read (version), so a
// cached entry is always what decoding the stored value would give.
//
// Entries enter when the transaction that wrote them commits (bbolt's OnCommit,
// via Store.Update), so a rolled-back transaction leaves nothing; they leave
// when a committed transaction deletes them (delivered, dead, dropped). A sink
// holds at most limit bytes of entries: when it is full, new entries are not
// admitted, which keeps the oldest ones, those the dispatcher reads next.
type outboxCache struct {
	limit int // bytes per sink, by entrySize; <= 0: no cache

	mu sync.Mutex
	// version is the id of the last committed transaction whose changes the
	// cache holds. A read transaction of another id, or a write transaction
	// not based on it, must not use the cache.
	version int
	sinks   map[string]*sinkCache

	// hits and misses count lookups, for tests and benchmarks.
	hits, misses atomic.Int64
}

type sinkCache struct {
	entries map[uint64]*entryValue // never modified once in: replaced
	bytes   int                    // sum of their entrySize
}

// cacheOp is one change a write transaction makes to an outbox entry: val is
// the entry's new content, or nil when it was deleted or must be forgotten.
type cacheOp struct {
	sink string
	seq  uint64
	val  *entryValue
}

type cacheKey struct {
	sink string
	seq  uint64
}

func newOutboxCache(limit int) *outboxCache {
	return &outboxCache{limit: limit, version: -1, sinks: map[string]*sinkCache{}}
}

// get returns the cached entry seq of sink for a transaction that reads the
// state committed as txid base, or nil.
func (c *outboxCache) get(base int, sink string, seq uint64) *entryValue {
	if c.limit <= 0 {
		return nil
	}
	c.mu.Lock()
	var v *entryValue
	if sc := c.sinks[sink]; sc != nil && c.version == base {
		v = sc.entries[seq]
	}
	c.mu.Unlock()
	if v == nil {
		c.misses.Add(1)
	} else {
		c.hits.Add(1)
	}
	return v
}

// commit applies the changes of the write transaction txid, which has
// committed. Store.Update runs one write transaction and its commit hook at a
// time, so hooks arrive in txid order; a gap means a transaction committed
// without its hook (a commit that reported an error after writing), and the
// cache, which may then hold what that transaction changed, starts afresh.
func (c *outboxCache) commit(txid int, ops []cacheOp) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.version != txid-1 {
		clear(c.sinks)
	}
	c.version = txid
	for _, op := range ops {
		sc := c.sinks[op.sink]
		if sc == nil {
			if op.val == nil || c.limit <= 0 {
				continue
			}
			sc = &sinkCache{entries: map[uint64]*entryValue{}}
			c.sinks[op.sink] = sc
		}
		if old, ok := sc.entries[op.seq]; ok {
			delete(sc.entries, op.seq)
			sc.bytes -= entrySize(old)
		}
		if op.val == nil {
			continue
		}
		if size := entrySize(op.val); sc.bytes+size <= c.limit {
			sc.entries[op.seq] = op.val
			sc.bytes += size
		}
	}
}

// len returns the number of cached entries of sink and their entrySize.
func (c *outboxCache) len(sink string) (n, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if sc := c.sinks[sink]; sc != nil {
		return len(sc.entries), sc.bytes
	}
	return 0, 0
}

// entrySize estimates the heap a cached entry holds: the struct, its strings,
// and per field its key, value and a share of the map. BenchmarkCacheMemory
// compares it with what is measured.
func entrySize(e *entryValue) int {
	const (
		structSize = 288 // entryValue's size class
		perField   = 64  // a map slot and its share of the map's groups
	)
	ev := &e.Event
	n := structSize + len(ev.ID) + len(ev.Rule) + len(ev.Key) + len(ev.Severity) + len(ev.Title) + len(ev.Message) +
		len(ev.Host) + len(ev.Ref) + len(e.LastError) + len(e.Reason)
	for k, v := range ev.Fields {
		n += perField + len(k) + len(v)
	}
	return n
}

// cached returns a copy of e for the cache, with the content decoding its JSON
// would give, or nil when JSON would not give e back (a string that is not
// valid UTF-8, which encoding/json replaces). The copy shares no map with e.
func cached(e entryValue) *entryValue {
	ev := &e.Event
	if !validUTF8(ev.ID, ev.Rule, string(ev.Status), ev.Key, ev.Severity, ev.Title, ev.Message, ev.Host, ev.Ref,
		e.LastError, e.Reason) {
		return nil
	}
	for k, v := range ev.Fields {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return nil
		}
	}
	// "fields" is omitted when empty and decodes as nil.
	if len(ev.Fields) == 0 {
		ev.Fields = nil
	} else {
		ev.Fields = maps.Clone(ev.Fields)
	}
	var ok bool
	if ev.Time, ok = jsonTime(ev.Time); !ok {
		return nil
	}
	if e.Enqueued, ok = jsonTime(e.Enqueued); !ok {
		return nil
	}
	if e.Died, ok = jsonTime(e.Died); !ok {
		return nil
	}
	return &e
}

// jsonTime returns t as decoding its JSON gives it back: no monotonic clock
// reading, and the location UTC, Local or a fixed zone, as time.Time's
// UnmarshalJSON chooses.
func jsonTime(t time.Time) (time.Time, bool) {
	if t.IsZero() && t.Location() == time.UTC {
		return t, true
	}
	b, err := t.MarshalText()
	if err != nil {
		return time.Time{}, false
	}
	var out time.Time
	if err := out.UnmarshalText(b); err != nil {
		return time.Time{}, false
	}
	return out, true
}

func validUTF8(ss ...string) bool {
	for _, s := range ss {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

// copyOut returns a copy of the cached entry that shares no map with it, so a
// caller can change what it gets.
func (e *entryValue) copyOut() entryValue {
	c := *e
	c.Event.Fields = maps.Clone(e.Event.Fields)
	return c
}
