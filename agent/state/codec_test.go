package state

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"

	"github.com/heraldhq/herald/plugins/sdk"
)

// nastyStrings are strings JSON escapes or changes, and that the records
// must keep byte for byte.
var nastyStrings = []string{
	"", "plain", `quote " and \ backslash`, "<script>&amp;</script>", "tab\tnew\nline\rcr\bbs\fff",
	"\x00\x01\x1f\x7f", "caf\u00e9 \u65e5\u672c \U0001F600", "line\u2028para\u2029sep", "bad \xff utf8 \xe2\x82",
	"C:\\ProgramData\\Qlik\\Sense\\Log", "\xed\xa0\x80 surrogate", "ends with \xc3",
}

// fill sets every field of v, recursively, to a value that is not zero, so
// a field the codec leaves out shows up as a difference. Strings come
// from nastyStrings, times are random, in random zones, with and without
// nanoseconds.
func fill(t testing.TB, v reflect.Value, r *rand.Rand) {
	t.Helper()
	switch v.Kind() {
	case reflect.String:
		s := nastyStrings[r.IntN(len(nastyStrings))]
		if s == "" {
			s = "x"
		}
		v.SetString(s)
	case reflect.Int:
		v.SetInt(r.Int64N(1<<40) - 1<<39 | 1)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(t, p.Elem(), r)
		v.Set(p)
	case reflect.Slice:
		n := 1 + r.IntN(4)
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := range s.Len() {
			fill(t, s.Index(i), r)
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for range 1 + r.IntN(20) {
			m.SetMapIndex(reflect.ValueOf(nastyStrings[r.IntN(len(nastyStrings))]+nastyStrings[r.IntN(len(nastyStrings))]),
				reflect.ValueOf(nastyStrings[r.IntN(len(nastyStrings))]))
		}
		v.Set(m)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			zones := []*time.Location{time.UTC, time.Local, time.FixedZone("", 5*3600+1800), time.FixedZone("X", -8*3600)}
			tm := time.Unix(r.Int64N(1<<35), r.Int64N(1e9)*int64(r.IntN(2))).In(zones[r.IntN(len(zones))])
			v.Set(reflect.ValueOf(tm))
			return
		}
		for i := range v.NumField() {
			if !v.Type().Field(i).IsExported() {
				continue
			}
			fill(t, v.Field(i), r)
		}
	default:
		t.Fatalf("fill: no rule for %s; teach fill and the codec about it", v.Type())
	}
}

// clearSome zeroes a random subset of v's fields: zero values have their own
// encodings.
func clearSome(v reflect.Value, r *rand.Rand) {
	for i := range v.NumField() {
		f := v.Field(i)
		if f.Kind() == reflect.Struct && f.Type() != reflect.TypeFor[time.Time]() {
			clearSome(f, r)
			continue
		}
		if r.IntN(3) == 0 {
			f.SetZero()
		}
	}
}

// normalized returns a copy of v as decoding its record gives it back: times
// through recordTime, empty maps and slices as nil.
func normalized[T any](v T) T {
	rv := reflect.ValueOf(&v).Elem()
	normalize(rv)
	return v
}

func normalize(v reflect.Value) {
	switch v.Kind() {
	case reflect.Map, reflect.Slice:
		if v.Len() == 0 {
			v.SetZero()
		}
	case reflect.Pointer:
		if !v.IsNil() {
			p := reflect.New(v.Type().Elem())
			p.Elem().Set(v.Elem())
			normalize(p.Elem())
			v.Set(p)
		}
	case reflect.Struct:
		if t, ok := v.Interface().(time.Time); ok {
			v.Set(reflect.ValueOf(recordTime(t)))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				normalize(v.Field(i))
			}
		}
	}
}

// checkAlertRecord encodes a, decodes it and checks that every field comes
// back, that the encoding is stable, that identity and ref extraction agree
// with the full decode, and that the decoded strings do not alias the record.
func checkAlertRecord(t *testing.T, a Alert) []byte {
	t.Helper()
	prefix := []byte("prefix") // appending keeps what is there
	rec := appendAlertRecord(prefix, &a)[len(prefix):]
	if !bytes.HasPrefix(appendAlertRecord(nil, &a), rec) {
		t.Fatal("two encodings of one alert differ")
	}
	var got Alert
	got.Fields = map[string]string{"stale": "x"} // decoding overwrites every field
	if err := decodeAlertRecord(rec, &got, noDicts); err != nil {
		t.Fatalf("decode: %v\n%#v", err, a)
	}
	if want := normalized(a); !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded\n%#v\nwant\n%#v", got, want)
	}
	if again := appendAlertRecord(nil, &got); !bytes.Equal(again, rec) {
		t.Fatalf("encode, decode, encode differs:\n%x\n%x", rec, again)
	}
	// Compressed with a dictionary, and as schema 2 wrote it, it decodes the same.
	for name, v := range map[string][]byte{
		"compressed": appendPacked(appendAlertHead(nil, &a), 1, fuzzDict, appendAlertBody(nil, &a)),
		"version 1":  schema2Alert(&a),
	} {
		var other Alert
		if err := decodeAlertRecord(v, &other, fuzzDicts); err != nil || !reflect.DeepEqual(other, got) {
			t.Fatalf("%s: decoded (%v)\n%#v\nwant\n%#v", name, err, other, got)
		}
	}
	rule, key, err := alertRecordIdentity(rec)
	if err != nil || string(rule) != a.Rule || string(key) != a.Key {
		t.Fatalf("identity = %q, %q, %v; want %q, %q", rule, key, err, a.Rule, a.Key)
	}
	for _, sink := range append([]string{"no such sink", ""}, keys(a.Refs)...) {
		in, ref, err := alertRecordRef(rec, sink)
		if err != nil || in != a.Instance || ref != a.Refs[sink] {
			t.Fatalf("ref of %q = %d, %q, %v; want %d, %q", sink, in, ref, err, a.Instance, a.Refs[sink])
		}
	}
	// The record's memory is bbolt's map, valid only in its transaction.
	want := normalized(a)
	for i := range rec {
		rec[i] ^= 0xff
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatal("the decoded alert changed with the bytes it was decoded from")
	}
	for i := range rec {
		rec[i] ^= 0xff
	}
	return rec
}

func checkEntryRecord(t *testing.T, e entryValue) []byte {
	t.Helper()
	prefix := []byte("prefix")
	rec := appendEntryRecord(prefix, &e)[len(prefix):]
	var got entryValue
	got.Event.Fields = map[string]string{"stale": "x"}
	if err := decodeEntryRecord(rec, &got, noDicts); err != nil {
		t.Fatalf("decode: %v\n%#v", err, e)
	}
	if want := normalized(e); !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded\n%#v\nwant\n%#v", got, want)
	}
	if again := appendEntryRecord(nil, &got); !bytes.Equal(again, rec) {
		t.Fatalf("encode, decode, encode differs:\n%x\n%x", rec, again)
	}
	for name, v := range map[string][]byte{
		"compressed": appendPacked([]byte{recordVersion}, 1, fuzzDict, appendEntryBody(nil, &e)),
		"version 1":  schema2Entry(rec),
	} {
		var other entryValue
		if err := decodeEntryRecord(v, &other, fuzzDicts); err != nil || !reflect.DeepEqual(other, got) {
			t.Fatalf("%s: decoded (%v)\n%#v\nwant\n%#v", name, err, other, got)
		}
	}
	want := normalized(e)
	for i := range rec {
		rec[i] ^= 0xff
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatal("the decoded entry changed with the bytes it was decoded from")
	}
	for i := range rec {
		rec[i] ^= 0xff
	}
	// cached describes what decoding gives back.
	if c := cached(e).copyOut(); !reflect.DeepEqual(c, got) {
		t.Fatalf("cached gives\n%#v\ndecoding gives\n%#v", c, got)
	}
	return rec
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestRecordRoundTrip: alerts and entries with every field set (and with
// random fields zero) decode to what was encoded, strings byte for byte and
// times as recordTime gives them, and encode again to the same bytes. fill
// sets every exported field by reflection, so a field added to Alert,
// sdk.Event or entryValue without a line in the codec fails here.
func TestRecordRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		var a Alert
		fill(t, reflect.ValueOf(&a).Elem(), r)
		var e entryValue
		fill(t, reflect.ValueOf(&e).Elem(), r)
		if i%2 == 1 {
			clearSome(reflect.ValueOf(&a).Elem(), r)
			clearSome(reflect.ValueOf(&e).Elem(), r)
		}
		checkAlertRecord(t, a)
		checkEntryRecord(t, e)
	}
	checkAlertRecord(t, Alert{})
	checkEntryRecord(t, entryValue{})
	// Empty maps and slices, and a held event that is all zero.
	checkAlertRecord(t, Alert{Fields: map[string]string{}, Refs: map[string]string{}, HeldSinks: []string{}, HeldEvent: &sdk.Event{}})
	checkEntryRecord(t, entryValue{Event: sdk.Event{Fields: map[string]string{}}})
	// A ref that is the empty string is a ref.
	checkAlertRecord(t, Alert{Rule: "r", Instance: 3, Refs: map[string]string{"pager": "", "chat": "m-1"}})
	// A field whose value is the key is written as one byte; empty values
	// stay empty, with an empty key too.
	key := "3f1c6f0e-7f65-4b8a-9c1d-0d2e4f6a8b10"
	same := checkAlertRecord(t, Alert{Rule: "r", Key: key, Fields: map[string]string{"TaskId": key, "Empty": "", "Other": "x"}})
	other := checkAlertRecord(t, Alert{Rule: "r", Key: key, Fields: map[string]string{"TaskId": strings.ToUpper(key), "Empty": "", "Other": "x"}})
	if len(same) != len(other)-len(key) {
		t.Errorf("a field equal to the key takes %d bytes more than the marker", len(same)-(len(other)-len(key)))
	}
	checkAlertRecord(t, Alert{Rule: "r", Fields: map[string]string{"Empty": "", "Other": "x"}})
}

// TestRecordTimes: every time.Time encodes, JSON's range or not, and decodes
// to the same instant in the location recordTime chooses.
func TestRecordTimes(t *testing.T) {
	east := time.FixedZone("CEST", 2*3600)
	times := []time.Time{
		{},
		time.Time{}.In(east), // the zero instant elsewhere is still the zero time
		time.Unix(0, 0),
		time.Unix(0, 1).UTC(),
		time.Now(), // Local, with a monotonic reading
		time.Date(2026, 3, 29, 1, 30, 0, 999999999, east),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-4712, 1, 1, 12, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", 24*3600)), // JSON refuses the offset
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("odd", -(3600+61))),
		time.Unix(math.MaxInt64-62135596800, 999999999).UTC(), // the latest time.Time
		time.Unix(math.MinInt64, 0).UTC(),                     // and an early one past Unix()'s range
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),              // one nanosecond after zero
	}
	for _, tm := range times {
		a := Alert{Rule: "r", LastSeen: tm}
		rec := checkAlertRecord(t, a)
		var got Alert
		if err := decodeAlertRecord(rec, &got, noDicts); err != nil {
			t.Fatal(err)
		}
		g := got.LastSeen
		if !g.Equal(tm) {
			t.Errorf("%v decoded as %v", tm, g)
		}
		_, off := tm.Zone()
		_, goff := g.Zone()
		switch {
		case tm.IsZero():
			if g != (time.Time{}) {
				t.Errorf("%v decoded as %#v, want time.Time{}", tm, g)
			}
		case goff != off:
			t.Errorf("%v decoded with offset %d, want %d", tm, goff, off)
		case off == 0 && g.Location() != time.UTC:
			t.Errorf("%v decoded in %v, want UTC", tm, g.Location())
		}
		if tm.Location() == time.Local && off != 0 && g.Location() != time.Local {
			t.Errorf("%v decoded in %v, want Local", tm, g.Location())
		}
		if strings.Contains(g.String(), "m=") {
			t.Errorf("%v kept a monotonic reading", g)
		}
	}
	// Local wins when it has the offset at that instant (the machine running
	// the tests may well be on UTC, so the test brings its own Local).
	berlin := time.FixedZone("CET", 3600)
	winter := time.Date(2026, 1, 15, 12, 0, 0, 0, berlin)
	if got := timeAtIn(winter.Unix(), 0, 3600, berlin); got.Location() != berlin || !got.Equal(winter) {
		t.Errorf("offset +1h with Local CET: %v in %v, want CET", got, got.Location())
	}
	if got := timeAtIn(winter.Unix(), 0, 7200, berlin); got.Location() == berlin || got.Location().String() != "" || !got.Equal(winter) {
		t.Errorf("offset +2h with Local CET: %v in %q, want a fixed zone without a name", got, got.Location())
	}
	if got := timeAtIn(winter.Unix(), 0, 0, berlin); got.Location() != time.UTC {
		t.Errorf("offset 0 with Local CET: in %v, want UTC", got.Location())
	}
	if n := len(appendTime(nil, time.Time{})); n != 1 {
		t.Errorf("the zero time takes %d bytes, want 1", n)
	}
}

// validRecords are records of every kind with most fields set, for the
// damage tests.
func validRecords(t *testing.T) map[string][]byte {
	t.Helper()
	r := rand.New(rand.NewPCG(3, 4))
	var a Alert
	fill(t, reflect.ValueOf(&a).Elem(), r)
	var e entryValue
	fill(t, reflect.ValueOf(&e).Elem(), r)
	return map[string][]byte{"alert": appendAlertRecord(nil, &a), "entry": appendEntryRecord(nil, &e)}
}

func decodeRecord(kind string, v []byte) error {
	if kind == "alert" {
		var a Alert
		return decodeAlertRecord(v, &a, noDicts)
	}
	var e entryValue
	return decodeEntryRecord(v, &e, noDicts)
}

// TestRecordDamage: every truncation of a valid record, and a record with
// bytes after its end, is an error naming what was wrong, not a panic or a
// value made up from what was there.
func TestRecordDamage(t *testing.T) {
	for kind, rec := range validRecords(t) {
		for n := range len(rec) {
			err := decodeRecord(kind, rec[:n:n])
			if err == nil {
				t.Fatalf("%s cut to %d of %d bytes decodes", kind, n, len(rec))
			}
			if n > 0 && !strings.Contains(err.Error(), "truncated at byte") {
				t.Fatalf("%s cut to %d bytes: %v, want a truncation", kind, n, err)
			}
			if kind == "alert" {
				if _, _, err := alertRecordRef(rec[:n:n], "x"); err == nil && n < 3 {
					t.Fatalf("ref of an alert cut to %d bytes: no error", n)
				}
			}
		}
		long := append(bytes.Clone(rec), 0)
		if err := decodeRecord(kind, long); err == nil || !strings.Contains(err.Error(), "1 unknown bytes after the last field") {
			t.Errorf("%s with a byte more: %v", kind, err)
		}
	}
}

// TestRecordErrors: errors name the record, the field and the byte offset.
func TestRecordErrors(t *testing.T) {
	a := Alert{Rule: "qlik-reload-failed", Key: "k", Status: sdk.StatusFiring, Title: "Reload failed"}
	rec := appendAlertRecord(nil, &a)
	// version, rule, key, instance, refs, dictionary 0, status
	titleAt := 1 + 1 + len(a.Rule) + 1 + len(a.Key) + 1 + 1 + 1 + 1 + len(a.Status)
	for _, tt := range []struct {
		name string
		rec  []byte
		want string
	}{
		{"empty", nil, "alert record: empty"},
		{"version", append([]byte{7}, rec[1:]...), "alert record: format version 7, want 1 or 2"},
		{"title cut", rec[:titleAt+3], "alert record: title: length 13 exceeds the 2 bytes left: truncated at byte " + itoa(titleAt)},
		{"title length cut", rec[:titleAt], "alert record: title: truncated at byte " + itoa(titleAt)},
		{"huge length", append(bytes.Clone(rec[:titleAt]), 0xff, 0xff, 0xff, 0xff, 0x0f), "alert record: title: length 4294967295 exceeds the 0 bytes left"},
		{"varint overflow", append(bytes.Clone(rec[:titleAt]), bytes.Repeat([]byte{0xff}, 11)...), "alert record: title: varint overflows 64 bits at byte " + itoa(titleAt)},
		// 0x81 0x00 is 1, written in two bytes: one value, one encoding.
		{"overlong varint", append(bytes.Clone(rec[:titleAt]), 0x81, 0x00, 'x'), "alert record: title: varint not in its shortest form at byte " + itoa(titleAt)},
	} {
		err := decodeAlertRecord(tt.rec, new(Alert), noDicts)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}

	// Maps out of order would decode to a map that encodes differently.
	unordered := []byte{1, 1, 'r', 0, 0, 2, 1, 'b', 0, 1, 'a', 0}
	if err := decodeAlertRecord(unordered, new(Alert), noDicts); err == nil || !strings.Contains(err.Error(), "alert record: refs: keys out of order at byte 9") {
		t.Errorf("unordered refs: %v", err)
	}
	if _, _, err := alertRecordRef(unordered, "a"); err == nil {
		t.Error("alertRecordRef accepts unordered refs")
	}
	// Unknown flag bits, nanoseconds past a second, a zero time spelled long.
	var zero Alert
	base := appendAlertRecord(nil, &zero)
	flagsAt := len(base) - 2
	bad := bytes.Clone(base)
	bad[flagsAt] = 4
	if err := decodeAlertRecord(bad, new(Alert), noDicts); err == nil || !strings.Contains(err.Error(), "flags: unknown bits 0x4 at byte "+itoa(flagsAt)) {
		t.Errorf("unknown flags: %v", err)
	}
	e := appendEntryRecord(nil, &entryValue{})
	// The event's time is its ninth field: after the version, dictionary 0,
	// seven empty strings and the empty map.
	timeAt := 1 + 1 + 8
	for _, tt := range []struct {
		time []byte
		want string
	}{
		{[]byte{0x81, 0x94, 0xeb, 0xdc, 0x03, 0, 0}, "entry record: event.time: nanoseconds 1000000000 out of range at byte 10"},
		{append([]byte{1}, append(appendInt(nil, -62135596800), 0)...), "entry record: event.time: zero time not written as 0 at byte 10"},
	} {
		v := append(append(bytes.Clone(e[:timeAt]), tt.time...), e[timeAt+1:]...)
		if err := decodeEntryRecord(v, new(entryValue), noDicts); err == nil || err.Error() != tt.want {
			t.Errorf("error %v, want %q", err, tt.want)
		}
	}
}

// TestPackedRecordErrors: a compressed body whose dictionary is missing, or
// which does not decompress, is an error naming the record and where.
func TestPackedRecordErrors(t *testing.T) {
	a := benchAlert(benchEvent(2))
	head := appendAlertHead(nil, &a)
	packed := appendPacked(bytes.Clone(head), 1, fuzzDict, appendAlertBody(nil, &a))
	unknown := appendPacked(bytes.Clone(head), 9, fuzzDict, appendAlertBody(nil, &a))
	damaged := bytes.Clone(packed)
	damaged[len(head)+3] ^= 0xff // in the S2 block, past its length
	for _, tt := range []struct {
		name string
		rec  []byte
		want string
	}{
		{"unknown dictionary", unknown, "alert record: dictionary: dictionary 9 is not in the state file at byte " + itoa(len(head))},
		{"cut", packed[:len(packed)-4], "alert record: body: "},
		{"damaged", damaged, "alert record"},
		{"huge", append(append(bytes.Clone(head), 1), 0xff, 0xff, 0xff, 0xff, 0x0f), "alert record: body: not a compressed body of at most 1073741824 bytes"},
	} {
		if err := decodeAlertRecord(tt.rec, new(Alert), fuzzDicts); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
	// The head stays readable without the dictionary.
	if rule, key, err := alertRecordIdentity(unknown); err != nil || string(rule) != a.Rule || string(key) != a.Key {
		t.Errorf("identity of a record with an unknown dictionary: %q %q %v", rule, key, err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestRecordAllocations: the dispatcher's lookups allocate only the reference
// they return, and a full decode a handful of times, not per field.
func TestRecordAllocations(t *testing.T) {
	ev := benchEvent(1)
	a := benchAlert(ev)
	plain := appendAlertRecord(nil, &a)
	packed := appendPacked(appendAlertHead(nil, &a), 1, fuzzDict, appendAlertBody(nil, &a))
	a.Refs = map[string]string{"pager": "2518583650940558238_7647c33f", "chat": "m-1"}
	withRefs := appendAlertRecord(nil, &a)
	var sink map[string]string
	mapAllocs := testing.AllocsPerRun(100, func() { sink = make(map[string]string, len(ev.Fields)) })
	_ = sink
	for _, tt := range []struct {
		name string
		f    func()
		max  float64
	}{
		{"identity", func() { _, _, _ = alertRecordIdentity(withRefs) }, 0},
		{"ref, no refs", func() { _, _, _ = alertRecordRef(plain, "pager") }, 0},
		{"ref, none for the sink", func() { _, _, _ = alertRecordRef(withRefs, "webhook") }, 0},
		{"ref", func() { _, _, _ = alertRecordRef(withRefs, "pager") }, 1},
		// The string block and the fields map.
		{"decode alert", func() { _ = decodeAlertRecord(plain, new(Alert), noDicts) }, 1 + mapAllocs},
		// And the decompressed body.
		{"decode compressed alert", func() { _ = decodeAlertRecord(packed, new(Alert), fuzzDicts) }, 2 + mapAllocs},
	} {
		if n := testing.AllocsPerRun(100, tt.f); n > tt.max {
			t.Errorf("%s: %v allocations, want at most %v", tt.name, n, tt.max)
		}
	}
}

// benchAlert is the alert the lifecycle stores for benchEvent's first firing.
func benchAlert(ev sdk.Event) Alert {
	return Alert{Rule: ev.Rule, Key: ev.Key, Status: ev.Status, Title: ev.Title, Severity: ev.Severity, Fields: ev.Fields,
		Message: ev.Message, FirstSeen: t0, LastSeen: t0, Count: 1, Instance: 1, LastFired: t0}
}

// BenchmarkRecords encodes and decodes an alert and an outbox entry shaped
// like the qliksense pack's (benchEvent: rule qlik-reload-failed, a 36-byte
// TaskId key, nine fields, a 224-byte message), with the binary records and,
// for comparison, with encoding/json (schema 1 wrote these bytes with
// hand-written appenders and read them with json.Unmarshal); "packed" is
// compressed with the dictionary of another alert of the rule, as the store
// writes them. It reports the size of each encoding as bytes/record.
func BenchmarkRecords(b *testing.B) {
	ev := benchEvent(1)
	a := benchAlert(ev)
	e := entryValue{Event: ev, Enqueued: t0, Instance: 1}
	alertRec, entryRec := appendAlertRecord(nil, &a), appendEntryRecord(nil, &e)
	// As a transaction does: the body encoded into a buffer of its own,
	// reused, then appended, compressed or not, to the record.
	var body []byte
	id := func(d *s2.Dict) uint64 {
		if d == nil {
			return 0
		}
		return 1
	}
	encodeAlert := func(b []byte, d *s2.Dict) []byte {
		body = appendAlertBody(body[:0], &a)
		return appendPacked(appendAlertHead(b, &a), id(d), d, body)
	}
	encodeEntry := func(b []byte, d *s2.Dict) []byte {
		body = appendEntryBody(body[:0], &e)
		return appendPacked(append(b, recordVersion), id(d), d, body)
	}
	packAlert := func(b []byte) []byte { return encodeAlert(b, fuzzDict) }
	packEntry := func(b []byte) []byte { return encodeEntry(b, fuzzDict) }
	alertPacked, entryPacked := packAlert(nil), packEntry(nil)
	alertJSON, _ := json.Marshal(a)
	entryJSON, _ := json.Marshal(e)
	var scratch []byte
	for _, bc := range []struct {
		name string
		size int
		f    func() error
	}{
		{"alert/encode", len(alertRec), func() error { scratch = encodeAlert(scratch[:0], nil); return nil }},
		{"alert/decode", len(alertRec), func() error { var x Alert; return decodeAlertRecord(alertRec, &x, noDicts) }},
		{"alert/ref", len(alertRec), func() error { _, _, err := alertRecordRef(alertRec, "pager"); return err }},
		{"alert/encode-packed", len(alertPacked), func() error { scratch = packAlert(scratch[:0]); return nil }},
		{"alert/decode-packed", len(alertPacked), func() error { var x Alert; return decodeAlertRecord(alertPacked, &x, fuzzDicts) }},
		{"alert/json-encode", len(alertJSON), func() error { _, err := json.Marshal(a); return err }},
		{"alert/json-decode", len(alertJSON), func() error { var x Alert; return json.Unmarshal(alertJSON, &x) }},
		{"entry/encode", len(entryRec), func() error { scratch = encodeEntry(scratch[:0], nil); return nil }},
		{"entry/decode", len(entryRec), func() error { var x entryValue; return decodeEntryRecord(entryRec, &x, noDicts) }},
		{"entry/encode-packed", len(entryPacked), func() error { scratch = packEntry(scratch[:0]); return nil }},
		{"entry/decode-packed", len(entryPacked), func() error { var x entryValue; return decodeEntryRecord(entryPacked, &x, fuzzDicts) }},
		{"entry/json-encode", len(entryJSON), func() error { _, err := json.Marshal(e); return err }},
		{"entry/json-decode", len(entryJSON), func() error { var x entryValue; return json.Unmarshal(entryJSON, &x) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := bc.f(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(bc.size), "bytes/record")
		})
	}
}
