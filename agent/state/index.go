package state

import (
	"hash/maphash"
	"slices"
	"sync"
)

// The file keys alerts by a sequence number in firing order and dedup ids by
// the time they were marked, so that every new record is written to the last
// page of its B-tree instead of to a page chosen at random by its name (see
// "Which engine, measured" in README.md). What finds them by name is kept in
// memory, built when the file is opened: a hashIndex from a 64-bit hash of the
// name to the sequence numbers (or times) of the records that may carry it.
// Every candidate is checked against the record itself, so a hash collision
// costs one more read, never a wrong answer.

// hashIndex maps a hash to one value or, rarely, several: a correlation key
// shared by the alerts of several rules, or a collision. Most hashes have one
// value, held in one, which costs about 20 bytes per entry; more holds the
// second and later values of the few that have them.
type hashIndex struct {
	one  map[uint64]uint64
	more map[uint64][]uint64
}

func newHashIndex() hashIndex {
	return hashIndex{one: map[uint64]uint64{}, more: map[uint64][]uint64{}}
}

// appendValues appends the values of h to dst.
func (x *hashIndex) appendValues(dst []uint64, h uint64) []uint64 {
	if v, ok := x.one[h]; ok {
		dst = append(dst, v)
		dst = append(dst, x.more[h]...)
	}
	return dst
}

func (x *hashIndex) add(h, v uint64) {
	first, ok := x.one[h]
	switch {
	case !ok:
		x.one[h] = v
	case first == v || slices.Contains(x.more[h], v):
	default:
		x.more[h] = append(x.more[h], v)
	}
}

func (x *hashIndex) remove(h, v uint64) {
	first, ok := x.one[h]
	if !ok {
		return
	}
	rest := x.more[h]
	if first == v {
		if len(rest) == 0 {
			delete(x.one, h)
			return
		}
		x.one[h], rest = rest[0], rest[1:]
	} else if i := slices.Index(rest, v); i >= 0 {
		rest = slices.Delete(rest, i, i+1)
	}
	if len(rest) == 0 {
		delete(x.more, h)
	} else {
		x.more[h] = rest
	}
}

// indexes are the store's in-memory indexes. Readers take mu for reading; a
// write transaction collects its changes in an indexDelta and they are applied
// when it commits, so a transaction that fails leaves them as they were.
type indexes struct {
	seed maphash.Seed
	mu   sync.RWMutex
	// alerts: hash of the correlation key -> the alerts' sequence numbers.
	alerts hashIndex
	// seen: hash of the dedup id -> the times (seenTime) it is stored under.
	seen hashIndex
	// refSinks are the sinks that have a reference in some alert: most
	// sinks (webhooks) never return one, and their dispatchers then need not
	// look each alert up (Tx.AlertRef). It only grows while the store is
	// open, so it may name a sink whose references are gone, never miss one.
	refSinks map[string]bool
}

func newIndexes() *indexes {
	return &indexes{seed: maphash.MakeSeed(), alerts: newHashIndex(), seen: newHashIndex(), refSinks: map[string]bool{}}
}

func (ix *indexes) hash(s string) uint64 { return maphash.String(ix.seed, s) }

func (ix *indexes) hashBytes(b []byte) uint64 { return maphash.Bytes(ix.seed, b) }

// indexOp is one change of an index by a write transaction.
type indexOp struct {
	seen bool // the seen index, else alerts
	add  bool
	h, v uint64
}

// indexDelta is what one write transaction changed: ops to apply at commit,
// and the values it added, which its own lookups must see before then.
type indexDelta struct {
	ops      []indexOp
	alerts   map[uint64][]uint64
	seen     map[uint64][]uint64
	refSinks []string
}

func (d *indexDelta) add(seen bool, h, v uint64) {
	d.ops = append(d.ops, indexOp{seen: seen, add: true, h: h, v: v})
	m := &d.alerts
	if seen {
		m = &d.seen
	}
	if *m == nil {
		*m = map[uint64][]uint64{}
	}
	(*m)[h] = append((*m)[h], v)
}

func (d *indexDelta) remove(seen bool, h, v uint64) {
	d.ops = append(d.ops, indexOp{seen: seen, h: h, v: v})
}

// candidates appends to dst the values of h in the seen or alerts index, as
// the transaction that collected d (nil outside a write) sees them: the
// committed ones, then its own. A value the transaction removed may still be
// among them; the caller's check against the record finds it gone. The lock
// is not held once it returns, so callers may look up other names while
// they go through the result.
func (ix *indexes) candidates(dst []uint64, d *indexDelta, seen bool, h uint64) []uint64 {
	x := &ix.alerts
	if seen {
		x = &ix.seen
	}
	ix.mu.RLock()
	dst = x.appendValues(dst, h)
	ix.mu.RUnlock()
	if d != nil {
		own := d.alerts
		if seen {
			own = d.seen
		}
		dst = append(dst, own[h]...)
	}
	return dst
}

// hasRefs reports whether an alert may hold a reference of sink, as the
// transaction that collected d (nil outside a write) sees it.
func (ix *indexes) hasRefs(d *indexDelta, sink string) bool {
	ix.mu.RLock()
	ok := ix.refSinks[sink]
	ix.mu.RUnlock()
	return ok || (d != nil && slices.Contains(d.refSinks, sink))
}

// apply makes a committed transaction's changes visible.
func (ix *indexes) apply(d *indexDelta) {
	ops := d.ops
	if len(ops) == 0 && len(d.refSinks) == 0 {
		return
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, sink := range d.refSinks {
		ix.refSinks[sink] = true
	}
	for _, op := range ops {
		x := &ix.alerts
		if op.seen {
			x = &ix.seen
		}
		if op.add {
			x.add(op.h, op.v)
		} else {
			x.remove(op.h, op.v)
		}
	}
}
