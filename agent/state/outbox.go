package state

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/heraldhq/herald/plugins/sdk"
)

// Entry is an event waiting in a sink's outbox.
type Entry struct {
	// Seq orders the outbox and names the entry.
	Seq   uint64
	Event sdk.Event
	// Attempts counts the sends the sink answered as retryable.
	Attempts int
	// LastError is the reason of the last retryable answer.
	LastError string
	// Enqueued is when the event entered the outbox.
	Enqueued time.Time
	// Instance is the instance of the event's alert it belongs to (see Alert).
	Instance int
}

// DeadEntry is an event a sink rejected for good, kept until an operator
// retries or drops it.
type DeadEntry struct {
	Entry
	// Reason is why the sink rejected the event.
	Reason string
	// Died is when the event was moved to the dead letters.
	Died time.Time
}

// entryValue is an outbox value as stored; the sequence is the key.
type entryValue struct {
	Event     sdk.Event `json:"event"`
	Attempts  int       `json:"attempts,omitempty"`
	LastError string    `json:"last_error,omitempty"`
	Enqueued  time.Time `json:"enqueued"`
	Instance  int       `json:"instance,omitempty"`
	// Reason and Died are set in the dead-letter bucket only.
	Reason string    `json:"reason,omitempty"`
	Died   time.Time `json:"died,omitzero"`
}

func decodeEntry(k, v []byte, dicts dictFunc) (entryValue, uint64, error) {
	var e entryValue
	seq, err := entrySeq(k)
	if err != nil {
		return e, 0, err
	}
	if err := decodeEntryRecord(v, &e, dicts); err != nil {
		return e, seq, fmt.Errorf("entry %d: %w", seq, err)
	}
	return e, seq, nil
}

// entrySeq reads the key of an outbox or dead-letter entry.
func entrySeq(k []byte) (uint64, error) {
	if len(k) != 8 {
		return 0, fmt.Errorf("outbox key %x is not a sequence number", k)
	}
	return binary.BigEndian.Uint64(k), nil
}

// outboxEntry is decodeEntry for an entry of sink's outbox: it takes the entry
// from the cache when the cache holds it as this tx sees it.
func (t *Tx) outboxEntry(sink string, k, v []byte) (entryValue, uint64, error) {
	if len(k) == 8 && t.s.cache.limit > 0 {
		seq := binary.BigEndian.Uint64(k)
		base := t.tx.ID()
		if t.tx.Writable() {
			// A write tx reads the last commit plus its own changes.
			base--
			if t.rewritten[cacheKey{sink, seq}] {
				return decodeEntry(k, v, t.dict)
			}
		}
		if c := t.s.cache.get(base, sink, seq); c != nil {
			return c.copyOut(), seq, nil
		}
	}
	return decodeEntry(k, v, t.dict)
}

// rewrite notes that this tx changed outbox entry seq of sink to e, or
// deleted it when e is nil, for the cache.
func (t *Tx) rewrite(sink string, seq uint64, e *entryValue) {
	if t.s.cache.limit <= 0 {
		return
	}
	var c *cachedEntry
	if e != nil {
		// A deleted entry cannot be read again in this tx; a changed one
		// can, and must then be decoded.
		if t.rewritten == nil {
			t.rewritten = map[cacheKey]bool{}
		}
		t.rewritten[cacheKey{sink, seq}] = true
		c = cached(*e)
	}
	t.ops = append(t.ops, cacheOp{sink: sink, seq: seq, val: c})
}

func (e entryValue) entry(seq uint64) Entry {
	return Entry{Seq: seq, Event: e.Event, Attempts: e.Attempts, LastError: e.LastError, Enqueued: e.Enqueued, Instance: e.Instance}
}

// Done is a sink's answer for one outbox entry, given to Complete.
type Done struct {
	Seq    uint64
	Result sdk.Result
}

// Selection picks outbox or dead-letter entries: All, or Seqs(...).
type Selection struct {
	all  bool
	seqs []uint64
}

// All selects every entry.
var All = Selection{all: true}

// Seqs selects the entries with these sequence numbers.
func Seqs(seqs ...uint64) Selection { return Selection{seqs: seqs} }

// Pending returns up to limit entries of sink's outbox, oldest first (limit <= 0
// means all).
func (s *Store) Pending(sink string, limit int) ([]Entry, error) {
	var out []Entry
	if n, _ := s.Depth(sink); n > 0 {
		// Depth is a hint only (it may lag a commit), to grow out once.
		if limit > 0 {
			n = min(n, limit)
		}
		out = make([]Entry, 0, n)
	}
	err := s.View(func(t *Tx) error {
		b, err := t.sinkBucket(bucketOutbox, sink, false)
		if err != nil || b == nil {
			return err
		}
		c := b.Cursor()
		for k, v := c.First(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Next() {
			e, seq, err := t.outboxEntry(sink, k, v)
			if err != nil {
				return err
			}
			out = append(out, e.entry(seq))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("state: pending of sink %q: %w", sink, err)
	}
	return out, nil
}

// Complete records, in one transaction, what sink answered for entries it was
// sent:
//
//   - Accepted: the entry leaves the outbox. A non-empty Result.Ref is stored in
//     Refs[sink] of the alert of the event's Rule and Key, if that alert exists,
//     so later events of the alert carry it.
//   - Rejected: the entry moves to sink's dead letters with Result.Reason.
//   - Retryable: the entry stays; Attempts grows and LastError is Result.Reason.
//
// An entry that is no longer in the outbox (an operator dropped it while it was
// in flight) is skipped.
func (s *Store) Complete(sink string, done []Done) error {
	return s.Update(func(t *Tx) error {
		out, err := t.sinkBucket(bucketOutbox, sink, false)
		if err != nil || out == nil {
			return err
		}
		for _, d := range done {
			k := u64(d.Seq)
			v := out.Get(k)
			if v == nil {
				s.logger.Debug("completed entry is no longer in the outbox", "sink", sink, "seq", d.Seq)
				continue
			}
			if d.Result.Outcome == sdk.Accepted && d.Result.Ref == "" {
				// The common case needs nothing from the entry: delete it
				// without decoding it.
				if err := out.Delete(k); err != nil {
					return fmt.Errorf("state: complete %d for sink %q: %w", d.Seq, sink, err)
				}
				t.addDepth(sink, -1)
				t.rewrite(sink, d.Seq, nil)
				continue
			}
			e, _, err := t.outboxEntry(sink, k, v)
			if err != nil {
				return fmt.Errorf("state: complete for sink %q: %w", sink, err)
			}
			switch d.Result.Outcome {
			case sdk.Accepted:
				if err := out.Delete(k); err != nil {
					return fmt.Errorf("state: complete %d for sink %q: %w", d.Seq, sink, err)
				}
				t.addDepth(sink, -1)
				t.rewrite(sink, d.Seq, nil)
				if err := t.storeRef(sink, e, d.Result.Ref); err != nil {
					return err
				}
			case sdk.Rejected:
				if err := t.bury(sink, out, d.Seq, e, d.Result.Reason); err != nil {
					return err
				}
			case sdk.Retryable:
				e.Attempts++
				e.LastError = d.Result.Reason
				if err := t.putEntry(out, k, &e); err != nil {
					return fmt.Errorf("state: complete %d for sink %q: %w", d.Seq, sink, err)
				}
				t.rewrite(sink, d.Seq, &e)
			default:
				return fmt.Errorf("state: complete %d for sink %q: invalid outcome %d", d.Seq, sink, d.Result.Outcome)
			}
		}
		return nil
	})
}

// storeRef saves ref as sink's remote reference of the entry's alert, unless
// the alert has started a new instance since the entry was queued.
func (t *Tx) storeRef(sink string, e entryValue, ref string) error {
	a, ok := t.Alert(e.Event.Rule, e.Event.Key)
	if !ok || a.Instance != e.Instance {
		return nil
	}
	if a.Refs[sink] == ref {
		return nil
	}
	if a.Refs == nil {
		a.Refs = map[string]string{}
	}
	a.Refs[sink] = ref
	return t.PutAlert(a)
}

// bury moves outbox entry seq of sink to the dead letters.
func (t *Tx) bury(sink string, out *bolt.Bucket, seq uint64, e entryValue, reason string) error {
	dead, err := t.sinkBucket(bucketDead, sink, true)
	if err != nil {
		return err
	}
	e.Reason, e.Died = reason, t.s.now()
	if err := t.putEntry(dead, u64(seq), &e); err != nil {
		return fmt.Errorf("state: dead letter %d for sink %q: %w", seq, sink, err)
	}
	if err := out.Delete(u64(seq)); err != nil {
		return fmt.Errorf("state: dead letter %d for sink %q: %w", seq, sink, err)
	}
	t.addDepth(sink, -1)
	t.rewrite(sink, seq, nil)
	return nil
}

// Dead returns sink's dead letters, oldest sequence first.
func (s *Store) Dead(sink string) ([]DeadEntry, error) {
	var out []DeadEntry
	err := s.View(func(t *Tx) error {
		b, err := t.sinkBucket(bucketDead, sink, false)
		if err != nil || b == nil {
			return err
		}
		return b.ForEach(func(k, v []byte) error {
			e, seq, err := decodeEntry(k, v, t.dict)
			if err != nil {
				return err
			}
			out = append(out, DeadEntry{Entry: e.entry(seq), Reason: e.Reason, Died: e.Died})
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("state: dead letters of sink %q: %w", sink, err)
	}
	return out, nil
}

// RetryDead moves the selected dead letters of sink back into its outbox and
// returns how many it moved. They are appended at the END of the outbox with new
// sequence numbers and reset attempts: a revived event is delivered after
// everything already waiting, so its order relative to other events of its
// alert is not preserved. When a selected sequence number is not a dead letter,
// nothing is moved and the error names the missing numbers.
func (s *Store) RetryDead(sink string, sel Selection) (int, error) {
	n := 0
	err := s.Update(func(t *Tx) error {
		dead, err := t.sinkBucket(bucketDead, sink, false)
		if err != nil {
			return err
		}
		seqs, err := selected(dead, sel, "dead letter")
		if err != nil {
			return err
		}
		for _, seq := range seqs {
			e, _, err := decodeEntry(u64(seq), dead.Get(u64(seq)), t.dict)
			if err != nil {
				return err
			}
			if _, err := t.Enqueue(sink, e.Event); err != nil {
				return err
			}
			if err := dead.Delete(u64(seq)); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("state: retry dead letters of sink %q: %w", sink, err)
	}
	return n, nil
}

// DropDead deletes the selected dead letters of sink and returns how many. When
// a selected sequence number is not a dead letter nothing is deleted.
func (s *Store) DropDead(sink string, sel Selection) (int, error) {
	return s.drop(bucketDead, sink, sel, "dead letter", "dead letters")
}

// DropPending deletes the selected entries of sink's outbox, undelivered, and
// returns how many. When a selected sequence number is not pending nothing is
// deleted. An entry in flight when it is dropped may still be delivered.
func (s *Store) DropPending(sink string, sel Selection) (int, error) {
	return s.drop(bucketOutbox, sink, sel, "pending entry", "pending entries")
}

func (s *Store) drop(parent []byte, sink string, sel Selection, what, whats string) (int, error) {
	n := 0
	err := s.Update(func(t *Tx) error {
		b, err := t.sinkBucket(parent, sink, false)
		if err != nil {
			return err
		}
		seqs, err := selected(b, sel, what)
		if err != nil {
			return err
		}
		outbox := bytes.Equal(parent, bucketOutbox)
		for _, seq := range seqs {
			if err := b.Delete(u64(seq)); err != nil {
				return err
			}
			if outbox {
				t.rewrite(sink, seq, nil)
			}
		}
		n = len(seqs)
		if outbox {
			t.addDepth(sink, -n)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("state: drop %s of sink %q: %w", whats, sink, err)
	}
	return n, nil
}

// selected resolves sel against bucket b (which may be nil: no entries).
func selected(b *bolt.Bucket, sel Selection, what string) ([]uint64, error) {
	if sel.all {
		var seqs []uint64
		if b == nil {
			return nil, nil
		}
		err := b.ForEach(func(k, _ []byte) error {
			seqs = append(seqs, binary.BigEndian.Uint64(k))
			return nil
		})
		return seqs, err
	}
	seqs := slices.Clone(sel.seqs)
	slices.Sort(seqs)
	seqs = slices.Compact(seqs)
	var missing []string
	for _, seq := range seqs {
		if b == nil || b.Get(u64(seq)) == nil {
			missing = append(missing, strconv.FormatUint(seq, 10))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("no %s %s", what, strings.Join(missing, ", "))
	}
	return seqs, nil
}

// Sinks returns the names of the sinks with pending entries or dead letters,
// sorted.
func (s *Store) Sinks() ([]string, error) {
	seen := map[string]bool{}
	err := s.View(func(t *Tx) error {
		for _, parent := range [][]byte{bucketOutbox, bucketDead} {
			p := t.tx.Bucket(parent)
			err := p.ForEachBucket(func(name []byte) error {
				if k, _ := p.Bucket(name).Cursor().First(); k != nil {
					seen[string(bytes.Clone(name))] = true
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("state: list sinks: %w", err)
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	slices.Sort(names)
	return names, nil
}
