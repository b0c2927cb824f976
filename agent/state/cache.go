package state

import (
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// DefaultCacheBytes is how much memory per sink the outbox cache may hold by
// default (Options.CacheBytes).
//
// A firing event of the qliksense pack without script log lines takes about
// 1.2 KB in the cache (BenchmarkCacheMemory), so 1 MiB is about 850 of them:
// a dispatcher up to eight batches of 100 behind reads every entry from
// memory. With twenty lines of script log an event takes a few KB and fewer
// fit. A longer backlog (a burst of alerts, an outage) costs what it costs
// without a cache for the entries past the bound: they are decoded from the
// file. The bound is what the cache adds to the live heap at most, and the
// garbage collector lets the heap grow to about twice what is live. In the
// whole-process benchmark's burst (the sink takes alerts about half as fast
// as they are raised) each further MiB saves about 0.05 s of CPU per 10,000
// alerts: not worth 2 MiB of the agent's 30 MiB budget.
const DefaultCacheBytes = 1 << 20

// outboxCache holds, per sink, decoded copies of outbox entries this process
// committed, so the dispatcher (Pending) and Complete do not decode the records
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
	limit int // bytes per sink; <= 0: no cache

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
	entries map[uint64]*cachedEntry
	bytes   int // sum of their size
}

// cachedEntry is an outbox entry as the cache holds it. It owns its memory:
// all its strings are copied into one block, so it never keeps alive a
// caller's larger buffer that one of them was cut from, and its size is
// known. It is never changed once cached (a changed entry replaces it).
type cachedEntry struct {
	e      entryValue // without Fields
	fields []string   // the fields' keys and values, alternately
	size   int        // the memory it holds
}

// cacheOp is one change a write transaction makes to an outbox entry: val is
// the entry's new content, or nil when it was deleted or must be forgotten.
type cacheOp struct {
	sink string
	seq  uint64
	val  *cachedEntry
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
func (c *outboxCache) get(base int, sink string, seq uint64) *cachedEntry {
	if c.limit <= 0 {
		return nil
	}
	c.mu.Lock()
	var v *cachedEntry
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
			sc = &sinkCache{entries: map[uint64]*cachedEntry{}}
			c.sinks[op.sink] = sc
		}
		if old, ok := sc.entries[op.seq]; ok {
			delete(sc.entries, op.seq)
			sc.bytes -= old.size
		}
		if op.val != nil && sc.bytes+op.val.size <= c.limit {
			sc.entries[op.seq] = op.val
			sc.bytes += op.val.size
		}
	}
}

// len returns the number of cached entries of sink and the memory they hold.
func (c *outboxCache) len(sink string) (n, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if sc := c.sinks[sink]; sc != nil {
		return len(sc.entries), sc.bytes
	}
	return 0, 0
}

// cached returns e as the cache holds it: with the content decoding its
// record would give (decodeEntryRecord). Strings are kept byte for byte, so
// only the times change (recordTime: no monotonic reading, the location the
// record gives back) and an empty Fields map becomes nil. Every entry can be
// cached.
func cached(e entryValue) *cachedEntry {
	ev := &e.Event
	ev.Time = recordTime(ev.Time)
	e.Enqueued = recordTime(e.Enqueued)
	e.Died = recordTime(e.Died)
	strs := [...]*string{&ev.ID, &ev.Rule, (*string)(&ev.Status), &ev.Key, &ev.Severity, &ev.Title, &ev.Message,
		&ev.Host, &ev.Ref, &e.LastError, &e.Reason}
	fields := make([]string, 0, 2*len(ev.Fields))
	for k, v := range ev.Fields {
		fields = append(fields, k, v)
	}
	ev.Fields = nil // an empty map decodes as nil; the others are rebuilt by copyOut
	n := 0
	for _, p := range strs {
		n += len(*p)
	}
	for _, f := range fields {
		n += len(f)
	}
	var b strings.Builder
	b.Grow(n)
	for _, p := range strs {
		b.WriteString(*p)
	}
	for _, f := range fields {
		b.WriteString(f)
	}
	block := b.String()
	off := 0
	cut := func(s string) string {
		out := block[off : off+len(s)]
		off += len(s)
		return out
	}
	for _, p := range strs {
		*p = cut(*p)
	}
	for i, f := range fields {
		fields[i] = cut(f)
	}
	size := int(unsafe.Sizeof(cachedEntry{})) + len(block) + cap(fields)*int(unsafe.Sizeof(""))
	return &cachedEntry{e: e, fields: fields, size: size}
}

// copyOut returns the entry with a map of its own, so a caller can change
// what it gets.
func (c *cachedEntry) copyOut() entryValue {
	e := c.e
	if len(c.fields) > 0 {
		e.Event.Fields = make(map[string]string, len(c.fields)/2)
		for i := 0; i < len(c.fields); i += 2 {
			e.Event.Fields[c.fields[i]] = c.fields[i+1]
		}
	}
	return e
}
