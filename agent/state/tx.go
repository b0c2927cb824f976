package state

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/heraldhq/herald/plugins/sdk"
)

// Tx is one transaction on the store, handed to the functions given to
// Store.Update and Store.View. It is valid only while that function runs.
//
// Methods that write return an error. Methods that read do not: a stored value
// that cannot be decoded (damage the file check at Open cannot see) reads as
// absent, and the transaction then fails with an error naming it, so nothing is
// committed on the strength of a value that was misread.
type Tx struct {
	tx    *bolt.Tx
	s     *Store
	depth map[string]int // outbox entries added (or removed) per sink by this tx
	err   error          // first read that failed to decode
	// alerts holds the alerts this tx wrote, by alertKey, so reading one back
	// (Enqueue right after the lifecycle's PutAlert) does not decode it again.
	// The values are private copies: callers get clones.
	alerts map[string]*Alert
	// ops are the outbox changes the cache takes over when this tx commits;
	// rewritten are the entries this tx changed, which it must not read from
	// the cache (that holds them as they were before the tx).
	ops       []cacheOp
	rewritten map[cacheKey]bool
	room      map[string]int // see cacheRoom
	// scratch is where values are encoded before put copies them.
	scratch []byte
}

// fail records a read error; Update and View return it.
func (t *Tx) fail(err error) {
	if t.err == nil {
		t.err = err
	}
}

func (t *Tx) addDepth(sink string, n int) {
	if t.depth == nil {
		t.depth = map[string]int{}
	}
	t.depth[sink] += n
}

// Position is how far a file has been read.
type Position struct {
	// Offset is the byte offset after the last line whose events are recorded.
	Offset int64 `json:"offset"`
	// Fingerprint identifies the file's content independently of its name, so a
	// rotated (renamed) file is recognised.
	Fingerprint string `json:"fingerprint,omitempty"`
	// Path is where the file was last seen; informational.
	Path string `json:"path,omitempty"`
	// Updated is when the position last moved; PrunePositions uses it.
	Updated time.Time `json:"updated,omitzero"`
}

// Position returns the position saved under key (a file identity chosen by the
// tailer) and whether there is one.
func (t *Tx) Position(key string) (Position, bool) {
	var p Position
	ok, err := getJSON(t.tx.Bucket(bucketPositions), []byte(key), &p)
	if err != nil {
		t.fail(fmt.Errorf("state: position %q: %w", key, err))
		return Position{}, false
	}
	return p, ok
}

// SetPosition saves p under key.
func (t *Tx) SetPosition(key string, p Position) error {
	if key == "" {
		return errors.New("state: set position: empty key")
	}
	if err := putJSON(t.tx.Bucket(bucketPositions), []byte(key), p); err != nil {
		return fmt.Errorf("state: set position %q: %w", key, err)
	}
	return nil
}

// DeletePosition forgets the position saved under key, if any.
func (t *Tx) DeletePosition(key string) error {
	if err := t.tx.Bucket(bucketPositions).Delete([]byte(key)); err != nil {
		return fmt.Errorf("state: delete position %q: %w", key, err)
	}
	return nil
}

// Positions returns every saved position by key.
func (t *Tx) Positions() map[string]Position {
	out := map[string]Position{}
	_ = t.tx.Bucket(bucketPositions).ForEach(func(k, v []byte) error {
		var p Position
		if err := json.Unmarshal(v, &p); err != nil {
			t.fail(fmt.Errorf("state: position %q: %w", k, err))
			return nil
		}
		out[string(k)] = p
		return nil
	})
	return out
}

// PrunePositions deletes the positions not updated since olderThan (files that
// vanished long ago) and returns how many it deleted.
func (t *Tx) PrunePositions(olderThan time.Time) (int, error) {
	return pruneWhere(t.tx.Bucket(bucketPositions), func(_, v []byte) (bool, error) {
		var p Position
		if err := json.Unmarshal(v, &p); err != nil {
			return false, err
		}
		return p.Updated.Before(olderThan), nil
	})
}

// Alert is the state of one alert: a rule and a correlation key.
type Alert struct {
	Rule string `json:"rule"`
	Key  string `json:"key"`
	// Status is firing, acknowledged or resolved.
	Status   sdk.Status        `json:"status"`
	Title    string            `json:"title,omitempty"`
	Severity string            `json:"severity,omitempty"`
	Fields   map[string]string `json:"fields,omitempty"`
	// Message is the message of the last firing event sent, so that it can
	// be sent again (a sink's resend_interval).
	Message string `json:"message,omitempty"`
	// FirstSeen and LastSeen bound the log entries that fired this alert.
	FirstSeen time.Time `json:"first_seen,omitzero"`
	LastSeen  time.Time `json:"last_seen,omitzero"`
	// Count is how many times the alert fired.
	Count int `json:"count,omitempty"`
	// Instance numbers the alert's lives: it grows each time the alert fires
	// anew after it was resolved. Outbox entries remember the instance they
	// belong to, so a reference is never given to another life's events.
	Instance int `json:"instance,omitempty"`
	// Refs maps a sink's name to the remote reference it returned for this
	// instance of the alert (a SIGNL4 eventId, a Rocket.Chat message id).
	Refs       map[string]string `json:"refs,omitempty"`
	AckedBy    string            `json:"acked_by,omitempty"`
	ResolvedBy string            `json:"resolved_by,omitempty"`
	ResolvedAt time.Time         `json:"resolved_at,omitzero"`
	// LastFired, Suppressed and SuppressedSince are the rate-limit window of
	// this rule and key: when an event last went out and how many were held
	// back since.
	LastFired       time.Time `json:"last_fired,omitzero"`
	Suppressed      int       `json:"suppressed,omitempty"`
	SuppressedSince time.Time `json:"suppressed_since,omitzero"`
	// HeldBy is the id of the silence (maintenance window) that holds this
	// alert's events back; HeldSince is when the first of them was held and
	// HeldCount how many were. HeldEvent is the latest of them, delivered to
	// HeldSinks when the silence ends and the alert is still firing.
	// HeldUnsent: the first event of this instance was held, so the sinks
	// were never told of it, and a resolution is not sent either.
	HeldBy     string     `json:"held_by,omitempty"`
	HeldSince  time.Time  `json:"held_since,omitzero"`
	HeldCount  int        `json:"held_count,omitempty"`
	HeldUnsent bool       `json:"held_unsent,omitempty"`
	HeldEvent  *sdk.Event `json:"held_event,omitempty"`
	HeldSinks  []string   `json:"held_sinks,omitempty"`
}

// Unhold clears what a silence held of the alert.
func (a *Alert) Unhold() {
	a.HeldBy, a.HeldSince, a.HeldCount, a.HeldUnsent, a.HeldEvent, a.HeldSinks = "", time.Time{}, 0, false, nil, nil
}

// Alert returns the alert of rule and key and whether there is one.
func (t *Tx) Alert(rule, key string) (Alert, bool) {
	k := alertKey(rule, key)
	if a, ok := t.alerts[string(k)]; ok {
		return a.clone(), true
	}
	raw := t.tx.Bucket(bucketAlerts).Get(k)
	if raw == nil {
		return Alert{}, false
	}
	var a Alert
	if err := decodeAlertRecord(raw, &a); err != nil {
		t.fail(fmt.Errorf("state: alert %q/%q: %w", rule, key, err))
		return Alert{}, false
	}
	return a, true
}

// alertRef returns the instance of the alert of rule and key and the
// reference sink returned for it, without decoding more of the alert than
// that. ok is false when there is no such alert.
func (t *Tx) alertRef(rule, key, sink string) (instance int, ref string, ok bool) {
	k := alertKey(rule, key)
	if a, ok := t.alerts[string(k)]; ok {
		return a.Instance, a.Refs[sink], true
	}
	raw := t.tx.Bucket(bucketAlerts).Get(k)
	if raw == nil {
		return 0, "", false
	}
	instance, ref, err := alertRecordRef(raw, sink)
	if err != nil {
		t.fail(fmt.Errorf("state: alert %q/%q: %w", rule, key, err))
		return 0, "", false
	}
	return instance, ref, true
}

// AlertRef returns the reference sink returned for the alert of rule and key,
// if the alert is still in the given instance (see Alert.Instance). It is
// Alert, reduced to what a dispatcher needs, and decodes only that.
func (t *Tx) AlertRef(rule, key, sink string, instance int) string {
	in, ref, ok := t.alertRef(rule, key, sink)
	if !ok || in != instance {
		return ""
	}
	return ref
}

// PutAlert saves a, replacing the alert with the same Rule and Key.
func (t *Tx) PutAlert(a Alert) error {
	if a.Rule == "" {
		return fmt.Errorf("state: put alert with key %q: empty rule", a.Key)
	}
	k := alertKey(a.Rule, a.Key)
	if err := t.put(t.tx.Bucket(bucketAlerts), k, appendAlertRecord(t.scratch[:0], &a)); err != nil {
		return fmt.Errorf("state: put alert %q/%q: %w", a.Rule, a.Key, err)
	}
	// Most puts change an alert that is already indexed (a repeat, a
	// resolution, a reference). Putting its index entry again would copy a
	// page of the index, chosen at random by the key, in every commit.
	idx := t.tx.Bucket(bucketAlertKeys)
	ik := indexKey(a.Key, a.Rule)
	if got, _ := idx.Cursor().Seek(ik); !bytes.Equal(got, ik) {
		if err := idx.Put(ik, nil); err != nil {
			return fmt.Errorf("state: index alert %q/%q: %w", a.Rule, a.Key, err)
		}
	}
	if t.alerts == nil {
		t.alerts = map[string]*Alert{}
	}
	c := a.clone()
	t.alerts[string(k)] = &c
	return nil
}

// clone returns a copy of a that shares no map with it.
func (a Alert) clone() Alert {
	a.Fields = maps.Clone(a.Fields)
	a.Refs = maps.Clone(a.Refs)
	if a.HeldEvent != nil {
		ev := *a.HeldEvent
		ev.Fields = maps.Clone(ev.Fields)
		a.HeldEvent = &ev
	}
	a.HeldSinks = slices.Clone(a.HeldSinks)
	return a
}

// DeleteAlert forgets the alert of rule and key, if any.
func (t *Tx) DeleteAlert(rule, key string) error {
	delete(t.alerts, string(alertKey(rule, key)))
	if err := t.tx.Bucket(bucketAlerts).Delete(alertKey(rule, key)); err != nil {
		return fmt.Errorf("state: delete alert %q/%q: %w", rule, key, err)
	}
	if err := t.tx.Bucket(bucketAlertKeys).Delete(indexKey(key, rule)); err != nil {
		return fmt.Errorf("state: unindex alert %q/%q: %w", rule, key, err)
	}
	return nil
}

// Alerts returns the alerts for which keep returns true (all of them when keep
// is nil), sorted by rule and then key. It reads every alert.
func (t *Tx) Alerts(keep func(Alert) bool) []Alert {
	var out []Alert
	_ = t.tx.Bucket(bucketAlerts).ForEach(func(k, v []byte) error {
		var a Alert
		if err := decodeAlertRecord(v, &a); err != nil {
			t.fail(fmt.Errorf("state: alert %x: %w", k, err))
			return nil
		}
		if keep == nil || keep(a) {
			out = append(out, a)
		}
		return nil
	})
	// Stored keys order by the rule's length first; sort by what users read.
	slices.SortFunc(out, func(a, b Alert) int {
		return cmp.Or(strings.Compare(a.Rule, b.Rule), strings.Compare(a.Key, b.Key))
	})
	return out
}

// AlertsByKey returns the alerts with correlation key, of any rule, ordered by
// rule. Callbacks (a SIGNL4 acknowledgement) carry only the key. It reads a
// secondary index of key then rule, so its cost is the number of matches, not
// the number of alerts.
func (t *Tx) AlertsByKey(key string) []Alert {
	var out []Alert
	prefix := indexKey(key, "")
	c := t.tx.Bucket(bucketAlertKeys).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if a, ok := t.Alert(string(k[len(prefix):]), key); ok {
			out = append(out, a)
		}
	}
	return out
}

// PruneResolved deletes the alerts resolved before olderThan and returns how
// many it deleted. Open and acknowledged alerts are kept however old.
func (t *Tx) PruneResolved(olderThan time.Time) (int, error) {
	var gone []Alert
	err := t.tx.Bucket(bucketAlerts).ForEach(func(k, v []byte) error {
		var a Alert
		if err := decodeAlertRecord(v, &a); err != nil {
			return fmt.Errorf("state: alert %x: %w", k, err)
		}
		if a.Status == sdk.StatusResolved && a.ResolvedAt.Before(olderThan) {
			gone = append(gone, a)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	// Deleting while iterating with ForEach is undefined in bbolt.
	for _, a := range gone {
		if err := t.DeleteAlert(a.Rule, a.Key); err != nil {
			return 0, err
		}
	}
	return len(gone), nil
}

// Seen reports whether MarkSeen recorded id (and PruneSeen has not forgotten it).
func (t *Tx) Seen(id string) bool {
	return id != "" && t.tx.Bucket(bucketSeen).Get([]byte(id)) != nil
}

// MarkSeen records id as raised at at.
func (t *Tx) MarkSeen(id string, at time.Time) error {
	if id == "" {
		return errors.New("state: mark seen: empty id")
	}
	if err := t.tx.Bucket(bucketSeen).Put([]byte(id), u64(uint64(at.UnixNano()))); err != nil {
		return fmt.Errorf("state: mark seen %q: %w", id, err)
	}
	return nil
}

// PruneSeen forgets the ids marked before olderThan and returns how many. It
// reads every id, so call it now and then (hourly), not per batch.
func (t *Tx) PruneSeen(olderThan time.Time) (int, error) {
	cut := olderThan.UnixNano()
	return pruneWhere(t.tx.Bucket(bucketSeen), func(_, v []byte) (bool, error) {
		if len(v) != 8 {
			return true, nil
		}
		return int64(binary.BigEndian.Uint64(v)) < cut, nil
	})
}

// Enqueue appends ev to sink's outbox and returns its sequence number, which
// orders the outbox and names the entry in Complete, Dead and the CLI.
// Sequence numbers of a sink only grow, also across restarts.
func (t *Tx) Enqueue(sink string, ev sdk.Event) (uint64, error) {
	b, err := t.sinkBucket(bucketOutbox, sink, true)
	if err != nil {
		return 0, err
	}
	seq, err := b.NextSequence()
	if err != nil {
		return 0, fmt.Errorf("state: enqueue for sink %q: %w", sink, err)
	}
	// The event belongs to the alert's current instance; a reference the sink
	// already returned for it goes with the event.
	e := entryValue{Event: ev, Enqueued: t.s.now()}
	if instance, ref, ok := t.alertRef(ev.Rule, ev.Key, sink); ok {
		e.Instance = instance
		if e.Event.Ref == "" {
			e.Event.Ref = ref
		}
	}
	if err := t.put(b, u64(seq), appendEntryRecord(t.scratch[:0], &e)); err != nil {
		return 0, fmt.Errorf("state: enqueue for sink %q: %w", sink, err)
	}
	t.addDepth(sink, 1)
	// A new sequence number is in no snapshot the cache reflects, so this tx
	// cannot read it from the cache before it commits: no need to note it in
	// rewritten.
	if t.cacheRoom(sink) > 0 {
		c := cached(e)
		t.ops = append(t.ops, cacheOp{sink: sink, seq: seq, val: c})
		t.room[sink] -= c.size
	}
	return seq, nil
}

// cacheRoom is how much more of sink's entries the cache can take, as far as
// this tx knows: what it had when the tx first asked, less what the tx has
// enqueued since. During a backlog the cache is full, and Enqueue then does
// not build entries the commit would not admit.
func (t *Tx) cacheRoom(sink string) int {
	if t.s.cache.limit <= 0 {
		return 0
	}
	room, ok := t.room[sink]
	if !ok {
		if t.room == nil {
			t.room = map[string]int{}
		}
		_, used := t.s.cache.len(sink)
		room = t.s.cache.limit - used
		t.room[sink] = room
	}
	return room
}

// sinkBucket returns the sub-bucket of parent (outbox or dead) for sink, or
// nil when it does not exist and create is false.
func (t *Tx) sinkBucket(parent []byte, sink string, create bool) (*bolt.Bucket, error) {
	if sink == "" {
		return nil, errors.New("state: empty sink name")
	}
	p := t.tx.Bucket(parent)
	b := p.Bucket([]byte(sink))
	if b == nil {
		if !create {
			return nil, nil
		}
		var err error
		if b, err = p.CreateBucket([]byte(sink)); err != nil {
			return nil, fmt.Errorf("state: %s bucket for sink %q: %w", parent, sink, err)
		}
	}
	// Keys are sequence numbers, written in increasing order: fill pages
	// before splitting them. bbolt's default (half full, for random keys)
	// writes twice the pages per enqueued batch and doubles the file during
	// a backlog (BenchmarkOutboxBacklog). bbolt does not store the setting.
	b.FillPercent = 1.0
	return b, nil
}

// alertKey is the primary key of an alert: the rule's length as a uvarint, the
// rule, then the key. The length prefix keeps any two (rule, key) pairs apart
// whatever bytes they contain.
func alertKey(rule, key string) []byte {
	return lengthPrefixed(rule, key)
}

// indexKey is the alerts_by_key entry: key length, key, rule. All rules of one
// key share the prefix indexKey(key, "").
func indexKey(key, rule string) []byte {
	return lengthPrefixed(key, rule)
}

func lengthPrefixed(a, b string) []byte {
	out := binary.AppendUvarint(make([]byte, 0, binary.MaxVarintLen64+len(a)+len(b)), uint64(len(a)))
	out = append(out, a...)
	return append(out, b...)
}

func getJSON(b *bolt.Bucket, k []byte, v any) (bool, error) {
	raw := b.Get(k)
	if raw == nil {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, err
	}
	return true, nil
}

// put stores a copy of raw, which was encoded into t.scratch, under k. bbolt
// keeps the value it is given until the transaction ends, so each value needs
// memory of its own; encoding into the reused scratch and copying the result
// allocates once, at the exact size.
func (t *Tx) put(b *bolt.Bucket, k, raw []byte) error {
	t.scratch = raw[:0]
	return b.Put(k, bytes.Clone(raw))
}

func putJSON(b *bolt.Bucket, k []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(k, raw)
}

// pruneWhere deletes the entries of b for which drop returns true. It collects
// keys first because bbolt forbids changing a bucket during ForEach.
func pruneWhere(b *bolt.Bucket, drop func(k, v []byte) (bool, error)) (int, error) {
	var keys [][]byte
	err := b.ForEach(func(k, v []byte) error {
		ok, err := drop(k, v)
		if err != nil {
			return fmt.Errorf("state: entry %q: %w", k, err)
		}
		if ok {
			keys = append(keys, bytes.Clone(k))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return 0, fmt.Errorf("state: delete %q: %w", k, err)
		}
	}
	return len(keys), nil
}
