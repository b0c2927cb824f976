package state

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
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
	// (Enqueue right after the lifecycle's PutAlert) does not decode it again,
	// and where they are stored. The values are private copies: callers get
	// clones.
	alerts map[string]*txAlert
	// idx is what this tx changed in the store's in-memory indexes.
	idx indexDelta
	// absent are the alerts (by alertKey) this tx looked up and did not
	// find, and has not put since.
	absent map[string]bool
	// ops are the outbox changes the cache takes over when this tx commits;
	// rewritten are the entries this tx changed, which it must not read from
	// the cache (that holds them as they were before the tx).
	ops       []cacheOp
	rewritten map[cacheKey]bool
	room      map[string]int // see cacheRoom
	// scratch is where values are encoded before put copies them, and body
	// where a record's body is encoded before it is compressed.
	scratch, body []byte
	// newDicts are the dictionaries this tx created (dicts.go).
	newDicts []txDict
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
	name := alertKey(rule, key)
	if c, ok := t.alerts[string(name)]; ok {
		return c.a.clone(), true
	}
	seq, v, ok := t.findAlert(rule, key, name)
	if !ok {
		return Alert{}, false
	}
	var a Alert
	if err := decodeAlertRecord(v, &a, t.dict); err != nil {
		t.fail(fmt.Errorf("state: alert %d (%q/%q): %w", seq, rule, key, err))
		return Alert{}, false
	}
	return a, true
}

// findAlert looks the alert of rule and key, named name (alertKey), up in
// the in-memory index and returns its sequence number and stored record
// (valid only during the transaction).
func (t *Tx) findAlert(rule, key string, name []byte) (seq uint64, record []byte, ok bool) {
	if t.absent[string(name)] {
		return 0, nil, false
	}
	for a := range t.alertsOfKey(key) {
		if string(a.rule) == rule {
			return a.seq, a.record, true
		}
	}
	if t.tx.Writable() {
		// Remember the miss: a new alert is looked up, then put.
		if t.absent == nil {
			t.absent = map[string]bool{}
		}
		t.absent[string(name)] = true
	}
	return 0, nil, false
}

// storedAlert is an alert as stored: where, its rule, and its record (valid
// only during the transaction).
type storedAlert struct {
	seq          uint64
	rule, record []byte
}

// alertsOfKey yields every stored alert with correlation key that the
// in-memory index names, as this transaction sees them.
func (t *Tx) alertsOfKey(key string) iter.Seq[storedAlert] {
	return func(yield func(storedAlert) bool) {
		b := t.tx.Bucket(bucketAlerts)
		var buf [4]uint64
		for _, seq := range t.s.idx.candidates(buf[:0], &t.idx, false, t.s.idx.hash(key)) {
			v := b.Get(u64(seq))
			if v == nil {
				continue // removed by this transaction, or after this reader's snapshot
			}
			r, k, err := alertRecordIdentity(v)
			if err != nil {
				t.fail(fmt.Errorf("state: alert %d: %w", seq, err))
				continue
			}
			if string(k) == key && !yield(storedAlert{seq, r, v}) {
				return
			}
		}
	}
}

// alertRef returns the instance of the alert of rule and key and the
// reference sink returned for it, without decoding more of the alert than
// that. ok is false when there is no such alert.
func (t *Tx) alertRef(rule, key, sink string) (instance int, ref string, ok bool) {
	name := alertKey(rule, key)
	if c, ok := t.alerts[string(name)]; ok {
		return c.a.Instance, c.a.Refs[sink], true
	}
	seq, v, ok := t.findAlert(rule, key, name)
	if !ok {
		return 0, "", false
	}
	instance, ref, err := alertRecordRef(v, sink)
	if err != nil {
		t.fail(fmt.Errorf("state: alert %d (%q/%q): %w", seq, rule, key, err))
		return 0, "", false
	}
	return instance, ref, true
}

// AlertRef returns the reference sink returned for the alert of rule and key,
// if the alert is still in the given instance (see Alert.Instance). It is
// Alert, reduced to what a dispatcher needs, and decodes only that.
//
// A sink no alert has a reference of is answered without a lookup. That set
// grows when a transaction that stores a sink's first reference commits,
// which Complete does in the sink's dispatcher, the one caller of AlertRef
// for that sink, before it reads again.
func (t *Tx) AlertRef(rule, key, sink string, instance int) string {
	if !t.s.idx.hasRefs(&t.idx, sink) {
		return ""
	}
	in, ref, ok := t.alertRef(rule, key, sink)
	if !ok || in != instance {
		return ""
	}
	return ref
}

// txAlert is an alert written by the transaction, and where.
type txAlert struct {
	seq uint64
	a   Alert
}

// PutAlert saves a, replacing the alert with the same Rule and Key. A new
// alert takes the next sequence number of the alerts bucket, so new alerts
// are appended to its last page.
func (t *Tx) PutAlert(a Alert) error {
	if a.Rule == "" {
		return fmt.Errorf("state: put alert with key %q: empty rule", a.Key)
	}
	b := t.tx.Bucket(bucketAlerts)
	// Keys only grow: fill pages before splitting them (see sinkBucket).
	b.FillPercent = 1.0
	name := alertKey(a.Rule, a.Key)
	seq, ok := t.alertSeq(a.Rule, a.Key, name)
	if !ok {
		// A new alert: the lifecycle has just looked it up (Alert), so
		// findAlert answered from t.absent.
		var err error
		if seq, err = b.NextSequence(); err != nil {
			return fmt.Errorf("state: put alert %q/%q: %w", a.Rule, a.Key, err)
		}
		t.idx.add(false, t.s.idx.hash(a.Key), seq)
	}
	rec, err := t.encodeAlert(&a)
	if err == nil {
		err = t.put(b, u64(seq), rec)
	}
	if err != nil {
		return fmt.Errorf("state: put alert %q/%q: %w", a.Rule, a.Key, err)
	}
	for sink := range a.Refs {
		if !t.s.idx.hasRefs(&t.idx, sink) {
			t.idx.refSinks = append(t.idx.refSinks, sink)
		}
	}
	if t.alerts == nil {
		t.alerts = map[string]*txAlert{}
	}
	t.alerts[string(name)] = &txAlert{seq: seq, a: a.clone()}
	delete(t.absent, string(name))
	return nil
}

// alertSeq returns where the alert of rule and key, named name (alertKey),
// is stored: written by this tx, or found through the index.
func (t *Tx) alertSeq(rule, key string, name []byte) (uint64, bool) {
	if c, ok := t.alerts[string(name)]; ok {
		return c.seq, true
	}
	seq, _, ok := t.findAlert(rule, key, name)
	return seq, ok
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
	name := alertKey(rule, key)
	seq, ok := t.alertSeq(rule, key, name)
	if !ok {
		return nil
	}
	delete(t.alerts, string(name))
	return t.deleteAlertAt(seq, key)
}

// deleteAlertAt deletes the alert stored under seq, whose key is key.
func (t *Tx) deleteAlertAt(seq uint64, key string) error {
	if err := t.tx.Bucket(bucketAlerts).Delete(u64(seq)); err != nil {
		return fmt.Errorf("state: delete alert %d (key %q): %w", seq, key, err)
	}
	t.idx.remove(false, t.s.idx.hash(key), seq)
	return nil
}

// Alerts returns the alerts for which keep returns true (all of them when keep
// is nil), sorted by rule and then key. It reads every alert.
func (t *Tx) Alerts(keep func(Alert) bool) []Alert {
	var out []Alert
	_ = t.tx.Bucket(bucketAlerts).ForEach(func(k, v []byte) error {
		var a Alert
		if err := decodeAlertRecord(v, &a, t.dict); err != nil {
			t.fail(fmt.Errorf("state: alert %x: %w", k, err))
			return nil
		}
		if keep == nil || keep(a) {
			out = append(out, a)
		}
		return nil
	})
	slices.SortFunc(out, func(a, b Alert) int {
		return cmp.Or(strings.Compare(a.Rule, b.Rule), strings.Compare(a.Key, b.Key))
	})
	return out
}

// AlertsByKey returns the alerts with correlation key, of any rule, ordered by
// rule. Callbacks (a SIGNL4 acknowledgement) carry only the key, and every
// line of a task that succeeds looks up the alerts it resolves, so this reads
// only the alerts the in-memory index names: its cost is the number of
// matches, not the number of alerts.
func (t *Tx) AlertsByKey(key string) []Alert {
	var out []Alert
	for s := range t.alertsOfKey(key) {
		if a, ok := t.Alert(string(s.rule), key); ok {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b Alert) int { return strings.Compare(a.Rule, b.Rule) })
	return out
}

// PruneResolved deletes the alerts resolved before olderThan and returns how
// many it deleted. Open and acknowledged alerts are kept however old.
func (t *Tx) PruneResolved(olderThan time.Time) (int, error) {
	type gone struct {
		seq uint64
		key string
	}
	var drop []gone
	err := t.tx.Bucket(bucketAlerts).ForEach(func(k, v []byte) error {
		var a Alert
		if err := decodeAlertRecord(v, &a, t.dict); err != nil {
			return fmt.Errorf("state: alert %x: %w", k, err)
		}
		if a.Status == sdk.StatusResolved && a.ResolvedAt.Before(olderThan) && len(k) == 8 {
			drop = append(drop, gone{binary.BigEndian.Uint64(k), a.Key})
			delete(t.alerts, string(alertKey(a.Rule, a.Key)))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	// Deleting while iterating with ForEach is undefined in bbolt.
	for _, g := range drop {
		if err := t.deleteAlertAt(g.seq, g.key); err != nil {
			return 0, err
		}
	}
	return len(drop), nil
}

// Dedup ids are stored under seenKey: the time they were marked, then the
// id's digest (seenDigest). Marking appends to the last page, and pruning
// deletes from the first.

// seenDigest is what is stored of a dedup id: the first 16 bytes of its
// SHA-256. Ids are a rule's name and a line's execution id or a callback's
// id, 50 to 100 bytes; their digest keeps a dedup id to 41 bytes of the file,
// and two ids share one with a chance of 2^-128.
func seenDigest(id string) string {
	sum := sha256.Sum256([]byte(id))
	return string(sum[:16])
}

// seenMark is the value of every seen key; the key says it all.
var seenMark = []byte{1}

// seenKey is the key of id (a seenDigest) marked at unix nanoseconds ns: ns
// with its sign bit flipped, big-endian (so keys sort by time, before 1970
// too), then id.
func seenKey(ns int64, id string) []byte {
	k := make([]byte, 8, 8+len(id))
	binary.BigEndian.PutUint64(k, uint64(ns)^1<<63)
	return append(k, id...)
}

// seenKeyTime is the time part of a seenKey.
func seenKeyTime(k []byte) int64 {
	return int64(binary.BigEndian.Uint64(k) ^ 1<<63)
}

// seenAt returns when id, a seenDigest, was marked, if it was.
func (t *Tx) seenAt(id string) (int64, bool) {
	b := t.tx.Bucket(bucketSeen)
	var buf [2]uint64
	for _, v := range t.s.idx.candidates(buf[:0], &t.idx, true, t.s.idx.hash(id)) {
		if b.Get(seenKey(int64(v), id)) != nil {
			return int64(v), true
		}
	}
	return 0, false
}

// Seen reports whether MarkSeen recorded id (and PruneSeen has not forgotten it).
func (t *Tx) Seen(id string) bool {
	if id == "" {
		return false
	}
	_, ok := t.seenAt(seenDigest(id))
	return ok
}

// MarkSeen records id as raised at at. Marking an id again moves it to the
// new time.
func (t *Tx) MarkSeen(id string, at time.Time) error {
	if id == "" {
		return errors.New("state: mark seen: empty id")
	}
	b := t.tx.Bucket(bucketSeen)
	b.FillPercent = 1.0 // keys mostly grow: see seenKey
	d := seenDigest(id)
	ns, h := at.UnixNano(), t.s.idx.hash(d)
	if old, ok := t.seenAt(d); ok {
		if old == ns {
			return nil
		}
		if err := b.Delete(seenKey(old, d)); err != nil {
			return fmt.Errorf("state: mark seen %q: %w", id, err)
		}
		t.idx.remove(true, h, uint64(old))
	}
	if err := b.Put(seenKey(ns, d), seenMark); err != nil {
		return fmt.Errorf("state: mark seen %q: %w", id, err)
	}
	t.idx.add(true, h, uint64(ns))
	return nil
}

// PruneSeen forgets the ids marked before olderThan and returns how many. It
// reads only the ids it deletes, which come first in the bucket.
func (t *Tx) PruneSeen(olderThan time.Time) (int, error) {
	cut := olderThan.UnixNano()
	b := t.tx.Bucket(bucketSeen)
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.First(); k != nil && (len(k) < 8 || seenKeyTime(k) < cut); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return 0, fmt.Errorf("state: prune seen %q: %w", k, err)
		}
		if len(k) >= 8 {
			t.idx.remove(true, t.s.idx.hashBytes(k[8:]), uint64(seenKeyTime(k)))
		}
	}
	return len(keys), nil
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
	if err := t.putEntry(b, u64(seq), &e); err != nil {
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

// alertKey names an alert within a transaction (Tx.alerts): the rule's
// length as a uvarint, the rule, then the key. The length prefix keeps any two
// (rule, key) pairs apart whatever bytes they contain.
func alertKey(rule, key string) []byte {
	out := binary.AppendUvarint(make([]byte, 0, binary.MaxVarintLen64+len(rule)+len(key)), uint64(len(rule)))
	out = append(out, rule...)
	return append(out, key...)
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

// encodeAlert returns a's record, its body compressed, in t.scratch.
func (t *Tx) encodeAlert(a *Alert) ([]byte, error) {
	t.body = appendAlertBody(t.body[:0], a)
	return t.pack(appendAlertHead(t.scratch[:0], a), a.Rule, t.body)
}

// encodeEntry returns e's record, its body compressed, in t.scratch.
func (t *Tx) encodeEntry(e *entryValue) ([]byte, error) {
	t.body = appendEntryBody(t.body[:0], e)
	return t.pack(append(t.scratch[:0], recordVersion), e.Event.Rule, t.body)
}

// putEntry stores e's record under k.
func (t *Tx) putEntry(b *bolt.Bucket, k []byte, e *entryValue) error {
	rec, err := t.encodeEntry(e)
	if err != nil {
		return err
	}
	return t.put(b, k, rec)
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
