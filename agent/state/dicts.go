package state

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"sync/atomic"

	"github.com/klauspost/compress/s2"
	bolt "go.etcd.io/bbolt"
)

// The text of an alert is mostly the same from one alert of a rule to the
// next: the words of its title and message, its field names, the host. So
// each rule gets a dictionary, the body of the first record (alert or outbox
// entry) stored for it, and the body of every later record of the rule is
// compressed with it (S2 with a dictionary, about 1 µs to compress and 0.1 µs
// to decompress a Qlik reload alert). What is left is what differs: ids,
// names, times. A Qlik reload alert's body of about 650 bytes takes about
// 150 (BenchmarkRecords, TestCompressedRecordSize).
//
// Dictionaries live in the dicts bucket under their id, a sequence number: the
// rule's name (a string, as records encode one), then the dictionary's bytes.
// They are never changed or deleted, because records written with one may
// outlive its rule; there are at most maxDicts of them, after which a new
// rule's records are stored uncompressed.

// maxDicts bounds the dictionaries a state file keeps: one per rule that ever
// raised an alert, so only years of renamed rules come near it.
var maxDicts = 1000

// dictSet is the store's dictionaries.
type dictSet struct {
	// byID is read by every transaction that decodes a record: a map
	// replaced, never changed, when a transaction adds dictionaries.
	byID atomic.Pointer[map[uint64]*s2.Dict]
	// byRule names each rule's dictionary. Only write transactions use it,
	// one at a time (Store.wmu).
	byRule map[string]uint64
}

// txDict is a dictionary a transaction created.
type txDict struct {
	id   uint64
	rule string
	d    *s2.Dict
}

func newDictSet() *dictSet {
	d := &dictSet{byRule: map[string]uint64{}}
	d.byID.Store(&map[uint64]*s2.Dict{})
	return d
}

// get returns the dictionary with id, or nil.
func (d *dictSet) get(id uint64) *s2.Dict { return (*d.byID.Load())[id] }

// load reads the dictionaries of the file, at Open.
func (d *dictSet) load(tx *bolt.Tx) error {
	m := map[uint64]*s2.Dict{}
	err := tx.Bucket(bucketDicts).ForEach(func(k, v []byte) error {
		id, rule, dict, err := decodeDict(k, v)
		if err != nil {
			return err
		}
		m[id] = dict
		d.byRule[rule] = id
		return nil
	})
	d.byID.Store(&m)
	return err
}

// publish makes dictionaries a transaction created readable, before it
// commits: a reader that sees the transaction's records must find them. The
// function it returns takes them back when the commit fails.
func (d *dictSet) publish(added []txDict) (undo func()) {
	old := d.byID.Load()
	m := maps.Clone(*old)
	for _, nd := range added {
		m[nd.id] = nd.d
		d.byRule[nd.rule] = nd.id
	}
	d.byID.Store(&m)
	return func() {
		d.byID.Store(old)
		for _, nd := range added {
			delete(d.byRule, nd.rule)
		}
	}
}

// dictValue is the stored value of rule's dictionary of the bytes dict.
func dictValue(rule string, dict []byte) []byte {
	return append(appendString(nil, rule), dict...)
}

// decodeDict reads a stored dictionary.
func decodeDict(k, v []byte) (id uint64, rule string, d *s2.Dict, err error) {
	if len(k) != 8 {
		return 0, "", nil, fmt.Errorf("dictionary key %x is not a sequence number", k)
	}
	id = binary.BigEndian.Uint64(k)
	r := newRecordReader("dictionary", v, false)
	name := r.bytes("rule")
	if r.err != nil {
		return 0, "", nil, fmt.Errorf("dictionary %d: %w", id, r.err)
	}
	// MakeDict keeps the slice: give it memory of its own, not bbolt's map.
	if d = s2.MakeDict(bytes.Clone(v[r.off:]), nil); d == nil {
		return 0, "", nil, fmt.Errorf("dictionary %d: %d bytes, not %d to %d", id, len(v)-r.off, s2.MinDictSize, s2.MaxDictSize)
	}
	return id, string(name), d, nil
}

// dict returns the dictionary with id as this transaction sees it, or nil.
func (t *Tx) dict(id uint64) *s2.Dict {
	for _, nd := range t.newDicts {
		if nd.id == id {
			return nd.d
		}
	}
	return t.s.dicts.get(id)
}

// pack appends body, the body of a record of rule, to b, compressed with the
// rule's dictionary. A rule without one gets one made of body, unless body
// is too short to make one or the file has maxDicts already.
func (t *Tx) pack(b []byte, rule string, body []byte) ([]byte, error) {
	id, d := t.ruleDict(rule)
	if d == nil && len(body) >= s2.MinDictSize && len(t.s.dicts.byRule)+len(t.newDicts) < maxDicts {
		// A dictionary longer than s2 uses would be stored for nothing.
		data := body[max(0, len(body)-s2.MaxDictSize):]
		bucket := t.tx.Bucket(bucketDicts)
		var err error
		if id, err = bucket.NextSequence(); err != nil {
			return nil, fmt.Errorf("dictionary for rule %q: %w", rule, err)
		}
		v := dictValue(rule, data)
		if err := bucket.Put(u64(id), v); err != nil {
			return nil, fmt.Errorf("dictionary for rule %q: %w", rule, err)
		}
		if d = s2.MakeDict(v[len(v)-len(data):], nil); d == nil {
			return nil, fmt.Errorf("dictionary for rule %q: s2 refused %d bytes", rule, len(data))
		}
		t.newDicts = append(t.newDicts, txDict{id, rule, d})
	}
	if d == nil {
		id = 0
	}
	return appendPacked(b, id, d, body), nil
}

// ruleDict returns rule's dictionary and its id, or nil.
func (t *Tx) ruleDict(rule string) (uint64, *s2.Dict) {
	for _, nd := range t.newDicts {
		if nd.rule == rule {
			return nd.id, nd.d
		}
	}
	if id, ok := t.s.dicts.byRule[rule]; ok {
		return id, t.s.dicts.get(id)
	}
	return 0, nil
}
