package state

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unsafe"

	"github.com/klauspost/compress/s2"

	"github.com/heraldhq/herald/plugins/sdk"
)

// Alerts and outbox entries are written for every alert the agent raises, so
// they are stored as compact binary records rather than JSON, and the part of
// them that is text is compressed with a dictionary of the alert's rule.
//
// The format, version 2. Every record starts with its version byte: 2, or 1
// for records written by schema 2, which are read (and rewritten as version 2
// when they change). A record of another version, or with bytes after its last
// field, is an error. The building blocks:
//
//	string  uvarint length, then the bytes exactly as given (no UTF-8
//	        checks or replacement); "" is one byte
//	int     zigzag varint (binary.AppendVarint); 0 is one byte
//	map     uvarint count, then count pairs of (key string, value string),
//	        keys in strictly increasing byte order, so one value always
//	        encodes to the same bytes; an empty or nil map is one byte and
//	        decodes as nil
//	strings uvarint count, then count strings; empty or nil decodes as nil
//	time    uvarint 0 for the zero time (t.IsZero(), whatever its location);
//	        otherwise uvarint nanoseconds+1 (1..1e9), varint Unix seconds,
//	        varint zone offset in seconds east of UTC. Any time.Time encodes.
//	        Decoding gives time.Time{} for 0; else the instant in UTC when
//	        the offset is 0, in time.Local when Local has that offset at
//	        that instant, else in time.FixedZone("", offset): what recordTime
//	        gives for the encoded time.
//	event   an sdk.Event: id, rule, status, key, severity, title, message
//	        (strings), fields (map), time, host, ref (strings)
//	packed  uvarint dictionary id, then the body: as is for id 0, else an
//	        S2 block (github.com/klauspost/compress/s2) compressed with
//	        that dictionary (dicts.go), which decodes to the body
//
// An alert record: version, then its head: rule, key (first, so
// alertRecordIdentity reads them without decoding the rest), instance (int),
// refs (map; last, so alertRecordRef stops there); then, packed, its body:
// status, title, severity (strings), fields (map), message (string),
// first_seen, last_seen (times), count (int), acked_by, resolved_by
// (strings), resolved_at, last_fired (times), suppressed (int),
// suppressed_since (time), held_by (string), held_since (time), held_count
// (int), flags (one byte: bit 0 held_unsent, bit 1 held_event follows; other
// bits are an error), held_event (event, present only with flag bit 1),
// held_sinks (strings). The head stays uncompressed: the in-memory indexes
// and the dispatcher's reference lookups read it on every lookup.
//
// An entry record (outbox and dead-letter values): version, then packed, its
// body: event, attempts (int), last_error (string), enqueued (time), instance
// (int), reason (string), died (time).
//
// Version 1 is version 2 without "packed": the body follows the head (an
// alert) or the version (an entry) directly.
//
// Zero values cost one byte each instead of a presence bitmap: an alert has
// about twenty fields, most of them set, and the bitmap would save a dozen
// bytes at the price of a second layout to keep in step.
//
// Decoding copies the whole record into one string and cuts every string
// field from it: one allocation for all of them (two for a compressed body),
// and nothing aliases the bytes given (bbolt's memory map is valid only during
// its transaction). A length or count larger than what is left of the record
// is an error found before anything is allocated for it. TestRecordRoundTrip
// fills every field of Alert, sdk.Event and entryValue by reflection, so a
// field added to one of them without a line here fails it.

// recordVersion is the first byte of every record written; recordVersion1
// that of the records schema 2 wrote, which are still read.
const (
	recordVersion  = 2
	recordVersion1 = 1
)

// Flag bits of an alert record.
const (
	flagHeldUnsent = 1 << iota
	flagHeldEvent
	flagsKnown = flagHeldUnsent | flagHeldEvent
)

// dictFunc returns the dictionary with an id, or nil when there is none.
type dictFunc func(id uint64) *s2.Dict

// noDicts knows no dictionary: for records written without one.
func noDicts(uint64) *s2.Dict { return nil }

// appendAlertRecord appends the record of a to b, its body uncompressed.
func appendAlertRecord(b []byte, a *Alert) []byte {
	return appendPacked(appendAlertHead(b, a), 0, nil, appendAlertBody(nil, a))
}

// appendAlertHead appends the version and the head of a's record to b.
func appendAlertHead(b []byte, a *Alert) []byte {
	b = append(b, recordVersion)
	b = appendString(b, a.Rule)
	b = appendString(b, a.Key)
	b = appendInt(b, a.Instance)
	return appendMap(b, a.Refs)
}

// appendAlertBody appends the body of a's record to b.
func appendAlertBody(b []byte, a *Alert) []byte { return appendAlertBodyOf(b, a, recordVersion) }

// appendAlertBodyOf appends the body of a's record of version to b: version
// 1 writes the fields as a plain map (tests write schema 2's records with
// it).
func appendAlertBodyOf(b []byte, a *Alert, version byte) []byte {
	b = appendString(b, string(a.Status))
	b = appendString(b, a.Title)
	b = appendString(b, a.Severity)
	if version == recordVersion1 {
		b = appendMap(b, a.Fields)
	} else {
		b = appendFields(b, a.Fields, a.Key)
	}
	b = appendString(b, a.Message)
	b = appendTime(b, a.FirstSeen)
	b = appendTime(b, a.LastSeen)
	b = appendInt(b, a.Count)
	b = appendString(b, a.AckedBy)
	b = appendString(b, a.ResolvedBy)
	b = appendTime(b, a.ResolvedAt)
	b = appendTime(b, a.LastFired)
	b = appendInt(b, a.Suppressed)
	b = appendTime(b, a.SuppressedSince)
	b = appendString(b, a.HeldBy)
	b = appendTime(b, a.HeldSince)
	b = appendInt(b, a.HeldCount)
	var flags byte
	if a.HeldUnsent {
		flags |= flagHeldUnsent
	}
	if a.HeldEvent != nil {
		flags |= flagHeldEvent
	}
	b = append(b, flags)
	if a.HeldEvent != nil {
		b = appendEvent(b, a.HeldEvent)
	}
	b = binary.AppendUvarint(b, uint64(len(a.HeldSinks)))
	for _, s := range a.HeldSinks {
		b = appendString(b, s)
	}
	return b
}

// decodeAlertRecord decodes an alert record of either version into *a
// (overwriting every field); dicts gives the dictionary of a compressed body.
func decodeAlertRecord(v []byte, a *Alert, dicts dictFunc) error {
	r := newRecordReader("alert record", v, true)
	if r.version() {
		*a = Alert{}
		return r.err
	}
	var x Alert
	x.Rule = r.str("rule")
	x.Key = r.str("key")
	x.Instance = r.int("instance")
	x.Refs = r.strMap("refs")
	var sub recordReader
	body := r.body(dicts, &sub)
	x.Status = sdk.Status(body.str("status"))
	x.Title = body.str("title")
	x.Severity = body.str("severity")
	if v[0] == recordVersion1 {
		x.Fields = body.strMap("fields")
	} else {
		x.Fields = body.fields("fields", x.Key)
	}
	x.Message = body.str("message")
	x.FirstSeen = body.time("first_seen")
	x.LastSeen = body.time("last_seen")
	x.Count = body.int("count")
	x.AckedBy = body.str("acked_by")
	x.ResolvedBy = body.str("resolved_by")
	x.ResolvedAt = body.time("resolved_at")
	x.LastFired = body.time("last_fired")
	x.Suppressed = body.int("suppressed")
	x.SuppressedSince = body.time("suppressed_since")
	x.HeldBy = body.str("held_by")
	x.HeldSince = body.time("held_since")
	x.HeldCount = body.int("held_count")
	flags := body.byte("flags")
	if flags&^flagsKnown != 0 {
		body.fail("flags", body.off-1, fmt.Sprintf("unknown bits %#x", flags&^flagsKnown))
	}
	x.HeldUnsent = flags&flagHeldUnsent != 0
	if flags&flagHeldEvent != 0 && body.err == nil {
		ev := new(sdk.Event)
		body.event("held_event.", ev)
		x.HeldEvent = ev
	}
	x.HeldSinks = body.strs("held_sinks")
	if err := r.endBody(body); err != nil {
		*a = Alert{}
		return err
	}
	*a = x
	return nil
}

// alertRecordIdentity returns the rule and key of an alert record without
// allocating: sub-slices of v.
func alertRecordIdentity(v []byte) (rule, key []byte, err error) {
	r := newRecordReader("alert record", v, false)
	if r.version() {
		return nil, nil, r.err
	}
	rule = r.bytes("rule")
	key = r.bytes("key")
	if r.err != nil {
		return nil, nil, r.err
	}
	return rule, key, nil
}

// alertRecordRef returns the alert's Instance and Refs[sink] ("" if none),
// decoding nothing else (no allocation when the alert has no refs or no ref
// for sink, one string otherwise).
func alertRecordRef(v []byte, sink string) (instance int, ref string, err error) {
	r := newRecordReader("alert record", v, false)
	if r.version() {
		return 0, "", r.err
	}
	r.bytes("rule")
	r.bytes("key")
	instance = r.int("instance")
	var found []byte
	r.eachPair("refs", func(k, v []byte) {
		if string(k) == sink {
			found = v
		}
	})
	if r.err != nil {
		return 0, "", r.err
	}
	if len(found) > 0 {
		ref = string(found)
	}
	return instance, ref, nil
}

// alertRecordIndex returns the key of an alert record and calls refSink
// with the name of every sink that has a reference in it, decoding nothing
// after the references: what the in-memory indexes need. Both are sub-slices
// of v.
func alertRecordIndex(v []byte, refSink func(sink []byte)) (key []byte, err error) {
	r := newRecordReader("alert record", v, false)
	if r.version() {
		return nil, r.err
	}
	r.bytes("rule")
	key = r.bytes("key")
	r.int("instance")
	r.eachPair("refs", func(k, _ []byte) { refSink(k) })
	return key, r.err
}

// appendEntryRecord appends the record of e to b, its body uncompressed.
func appendEntryRecord(b []byte, e *entryValue) []byte {
	return appendPacked(append(b, recordVersion), 0, nil, appendEntryBody(nil, e))
}

// appendEntryBody appends the body of e's record to b.
func appendEntryBody(b []byte, e *entryValue) []byte {
	b = appendEvent(b, &e.Event)
	b = appendInt(b, e.Attempts)
	b = appendString(b, e.LastError)
	b = appendTime(b, e.Enqueued)
	b = appendInt(b, e.Instance)
	b = appendString(b, e.Reason)
	return appendTime(b, e.Died)
}

// decodeEntryRecord decodes an entry record of either version into *e
// (overwriting every field); dicts gives the dictionary of a compressed body.
func decodeEntryRecord(v []byte, e *entryValue, dicts dictFunc) error {
	r := newRecordReader("entry record", v, true)
	if r.version() {
		*e = entryValue{}
		return r.err
	}
	var x entryValue
	var sub recordReader
	body := r.body(dicts, &sub)
	body.event("event.", &x.Event)
	x.Attempts = body.int("attempts")
	x.LastError = body.str("last_error")
	x.Enqueued = body.time("enqueued")
	x.Instance = body.int("instance")
	x.Reason = body.str("reason")
	x.Died = body.time("died")
	if err := r.endBody(body); err != nil {
		*e = entryValue{}
		return err
	}
	*e = x
	return nil
}

// appendPacked appends the dictionary id and body to b: body compressed with
// d, or as is when d is nil (then id must be 0).
func appendPacked(b []byte, id uint64, d *s2.Dict, body []byte) []byte {
	if d == nil {
		b = append(b, 0)
		return append(b, body...)
	}
	b = binary.AppendUvarint(b, id)
	// Encode writes in place when dst has room for the worst case.
	n := s2.MaxEncodedLen(len(body))
	b = slices.Grow(b, n)
	enc := d.Encode(b[len(b):len(b)+n], body)
	return b[:len(b)+len(enc)]
}

// recordTime returns t as decoding its record gives it back: no monotonic
// clock reading, and the location chosen as the format comment says.
func recordTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	_, offset := t.Zone()
	return timeAt(t.Unix(), int64(t.Nanosecond()), offset)
}

// timeAt is the instant sec.nsec after the Unix epoch in the location a
// record's offset decodes to. It is as encoding/json chooses for RFC 3339
// offsets, except that offset 0 is always UTC.
func timeAt(sec, nsec int64, offset int) time.Time {
	return timeAtIn(sec, nsec, offset, time.Local)
}

// timeAtIn is timeAt with local for time.Local, for tests.
func timeAtIn(sec, nsec int64, offset int, local *time.Location) time.Time {
	t := time.Unix(sec, nsec)
	if offset == 0 {
		return t.UTC()
	}
	t = t.In(local)
	if _, o := t.Zone(); o == offset {
		return t
	}
	return t.In(time.FixedZone("", offset))
}

func appendEvent(b []byte, ev *sdk.Event) []byte {
	b = appendString(b, ev.ID)
	b = appendString(b, ev.Rule)
	b = appendString(b, string(ev.Status))
	b = appendString(b, ev.Key)
	b = appendString(b, ev.Severity)
	b = appendString(b, ev.Title)
	b = appendString(b, ev.Message)
	b = appendMap(b, ev.Fields)
	b = appendTime(b, ev.Time)
	b = appendString(b, ev.Host)
	b = appendString(b, ev.Ref)
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendInt(b []byte, i int) []byte {
	return binary.AppendVarint(b, int64(i))
}

// appendMap writes m's pairs sorted by key.
func appendMap(b []byte, m map[string]string) []byte {
	return appendPairs(b, m, appendString)
}

// appendFields writes an alert's fields as appendMap does, except for their
// values: uvarint 0 for a value equal to key, the alert's correlation key (a
// Qlik reload alert's TaskId is one), else the value's length plus one, then
// its bytes. The head holds the key, outside the compressed body, where the
// compression cannot find it: this saves its length once more.
func appendFields(b []byte, m map[string]string, key string) []byte {
	return appendPairs(b, m, func(b []byte, v string) []byte {
		if v == key {
			return append(b, 0)
		}
		b = binary.AppendUvarint(b, uint64(len(v))+1)
		return append(b, v...)
	})
}

// appendPairs writes the count of m's pairs, then each key as a string and
// its value with value, in key order.
func appendPairs(b []byte, m map[string]string, value func(b []byte, v string) []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(m)))
	if len(m) == 0 {
		return b
	}
	var stack [16]string
	keys := stack[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b = appendString(b, k)
		b = value(b, m[k])
	}
	return b
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	_, offset := t.Zone()
	b = binary.AppendUvarint(b, uint64(t.Nanosecond())+1)
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendVarint(b, int64(offset))
}

// recordReader decodes one record. The first error sticks: later reads
// return zero values, and the decoder reports the error at the end.
type recordReader struct {
	what   string // "alert record"
	v      []byte
	s      string // v copied, for the strings of a full decode; "" otherwise
	off    int
	err    error
	prefix string // of field names, inside a nested event
	inBody bool   // v is a compressed body, decompressed: offsets are in it
}

// newRecordReader reads v; strs: it will return strings (copied out of v).
func newRecordReader(what string, v []byte, strs bool) *recordReader {
	r := &recordReader{what: what, v: v}
	if strs {
		r.s = string(v)
	}
	return r
}

func (r *recordReader) fail(field string, at int, msg string) {
	if r.err == nil {
		in := ""
		if r.inBody {
			in = " of the body"
		}
		r.err = fmt.Errorf("%s: %s%s: %s at byte %d%s", r.what, r.prefix, field, msg, at, in)
	}
}

// version checks the version byte and reports whether decoding must stop.
func (r *recordReader) version() (stop bool) {
	switch {
	case len(r.v) == 0:
		r.err = fmt.Errorf("%s: empty", r.what)
	case r.v[0] != recordVersion && r.v[0] != recordVersion1:
		r.err = fmt.Errorf("%s: format version %d, want %d or %d", r.what, r.v[0], recordVersion1, recordVersion)
	default:
		r.off = 1
		return false
	}
	return true
}

// body returns the reader of the record's body, which starts here: r itself
// for version 1 and an uncompressed body, else a reader of the body
// decompressed with its dictionary. Its errors name offsets in the body.
func (r *recordReader) body(dicts dictFunc, sub *recordReader) *recordReader {
	if r.err != nil || r.v[0] == recordVersion1 {
		return r
	}
	at := r.off
	id := r.uvarint("dictionary")
	if r.err != nil || id == 0 {
		return r
	}
	d := dicts(id)
	if d == nil {
		r.fail("dictionary", at, fmt.Sprintf("dictionary %d is not in the state file", id))
		return r
	}
	packed := r.v[r.off:]
	r.off = len(r.v)
	if n, err := s2.DecodedLen(packed); err != nil || n > maxBody {
		r.fail("body", at, fmt.Sprintf("not a compressed body of at most %d bytes (%d, %v)", maxBody, n, err))
		return r
	}
	raw, err := d.Decode(nil, packed)
	if err != nil {
		r.fail("body", at, err.Error())
		return r
	}
	*sub = recordReader{what: r.what, inBody: true, v: raw, prefix: r.prefix}
	if r.s != "" && len(raw) > 0 {
		// raw is this reader's own, never written again: its strings can
		// be cut from it without a copy.
		sub.s = unsafe.String(&raw[0], len(raw))
	}
	return sub
}

// maxBody bounds what a compressed body may decode to, so that a damaged
// length cannot make the agent allocate gigabytes. bbolt refuses values
// larger than this anyway.
const maxBody = 1 << 30

// endBody is end for a record whose body body read: the first error of
// either, or bytes left over after the last field of either.
func (r *recordReader) endBody(body *recordReader) error {
	if body != r && r.err == nil {
		if err := body.end(); err != nil {
			r.err = err
		}
	}
	return r.end()
}

// end reports the first error, or bytes left over after the last field.
func (r *recordReader) end() error {
	if r.err == nil && r.off != len(r.v) {
		r.err = fmt.Errorf("%s: %d unknown bytes after the last field at byte %d", r.what, len(r.v)-r.off, r.off)
	}
	return r.err
}

func (r *recordReader) byte(field string) byte {
	if r.err != nil {
		return 0
	}
	if r.off >= len(r.v) {
		r.fail(field, r.off, "truncated")
		return 0
	}
	r.off++
	return r.v[r.off-1]
}

func (r *recordReader) uvarint(field string) uint64 {
	if r.err != nil {
		return 0
	}
	x, n := binary.Uvarint(r.v[r.off:])
	if !r.advance(field, n) {
		return 0
	}
	return x
}

// varint reads a zigzag varint.
func (r *recordReader) varint(field string) int64 {
	if r.err != nil {
		return 0
	}
	x, n := binary.Varint(r.v[r.off:])
	if !r.advance(field, n) {
		return 0
	}
	return x
}

// advance moves past a varint of field that binary.Uvarint or Varint read
// as n bytes, or records why it could not be read.
func (r *recordReader) advance(field string, n int) bool {
	switch {
	case n > 1 && r.v[r.off+n-1] == 0:
		// Go's decoders accept a varint padded with bytes of 0x80 and a
		// final 0x00; it would encode back shorter.
		r.fail(field, r.off, "varint not in its shortest form")
	case n > 0:
		r.off += n
		return true
	case n == 0:
		r.fail(field, r.off, "truncated")
	default:
		r.fail(field, r.off, "varint overflows 64 bits")
	}
	return false
}

func (r *recordReader) int(field string) int {
	at := r.off
	x := r.varint(field)
	if int64(int(x)) != x {
		r.fail(field, at, strconv.FormatInt(x, 10)+" does not fit an int")
		return 0
	}
	return int(x)
}

// count reads a length or element count of items at least size bytes each,
// checking it against what is left before anyone allocates for it.
func (r *recordReader) count(field string, size int) int {
	at := r.off
	n := r.uvarint(field)
	if r.err != nil {
		return 0
	}
	if left := len(r.v) - r.off; n > uint64(left/size) {
		r.fail(field, at, fmt.Sprintf("length %d exceeds the %d bytes left: truncated", n, left))
		return 0
	}
	return int(n)
}

// span reads a string's length and returns where its bytes are.
func (r *recordReader) span(field string) (from, to int) {
	n := r.count(field, 1)
	if r.err != nil {
		return 0, 0
	}
	from = r.off
	r.off += n
	return from, r.off
}

func (r *recordReader) str(field string) string {
	from, to := r.span(field)
	return r.s[from:to]
}

func (r *recordReader) bytes(field string) []byte {
	from, to := r.span(field)
	return r.v[from:to:to]
}

// eachPair calls f with the pairs of a map, checking their order.
func (r *recordReader) eachPair(field string, f func(k, v []byte)) {
	n := r.count(field, 2)
	var prev []byte
	for i := range n {
		at := r.off
		k := r.bytes(field)
		v := r.bytes(field)
		if r.err != nil {
			return
		}
		if i > 0 && string(k) <= string(prev) {
			r.fail(field, at, "keys out of order")
			return
		}
		prev = k
		f(k, v)
	}
}

func (r *recordReader) strMap(field string) map[string]string {
	return r.mapOf(field, func() string { return r.str(field) })
}

// mapOf reads a map whose values value reads.
func (r *recordReader) mapOf(field string, value func() string) map[string]string {
	n := r.count(field, 2)
	if n == 0 {
		return nil
	}
	m := make(map[string]string, n)
	prev := ""
	for i := range n {
		at := r.off
		k := r.str(field)
		v := value()
		if r.err != nil {
			return nil
		}
		if i > 0 && k <= prev {
			r.fail(field, at, "keys out of order")
			return nil
		}
		prev = k
		m[k] = v
	}
	return m
}

// fields reads what appendFields wrote for an alert with key.
func (r *recordReader) fields(field, key string) map[string]string {
	return r.mapOf(field, func() string {
		at := r.off
		n := r.uvarint(field)
		switch left := len(r.v) - r.off; {
		case r.err != nil:
			return ""
		case n == 0:
			return key
		case n-1 > uint64(left):
			r.fail(field, at, fmt.Sprintf("length %d exceeds the %d bytes left: truncated", n-1, left))
			return ""
		}
		from := r.off
		r.off += int(n - 1)
		return r.s[from:r.off]
	})
}

func (r *recordReader) strs(field string) []string {
	n := r.count(field, 1)
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = r.str(field)
	}
	if r.err != nil {
		return nil
	}
	return out
}

func (r *recordReader) time(field string) time.Time {
	at := r.off
	ns := r.uvarint(field)
	if r.err != nil || ns == 0 {
		return time.Time{}
	}
	if ns > 1e9 {
		r.fail(field, at, fmt.Sprintf("nanoseconds %d out of range", ns-1))
		return time.Time{}
	}
	sec := r.varint(field)
	offAt := r.off
	offset := r.varint(field)
	if r.err != nil {
		return time.Time{}
	}
	if int64(int(offset)) != offset {
		r.fail(field, offAt, fmt.Sprintf("zone offset %d does not fit an int", offset))
		return time.Time{}
	}
	t := timeAt(sec, int64(ns-1), int(offset))
	if t.IsZero() {
		// The zero time is written as one byte; this spelling of it would
		// not encode back to the same bytes.
		r.fail(field, at, "zero time not written as 0")
		return time.Time{}
	}
	return t
}

func (r *recordReader) event(prefix string, ev *sdk.Event) {
	outer := r.prefix
	r.prefix = prefix
	defer func() { r.prefix = outer }()
	ev.ID = r.str("id")
	ev.Rule = r.str("rule")
	ev.Status = sdk.Status(r.str("status"))
	ev.Key = r.str("key")
	ev.Severity = r.str("severity")
	ev.Title = r.str("title")
	ev.Message = r.str("message")
	ev.Fields = r.strMap("fields")
	ev.Time = r.time("time")
	ev.Host = r.str("host")
	ev.Ref = r.str("ref")
}
