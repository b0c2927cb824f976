package state

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/plugins/sdk"
)

// nastyStrings are strings encoding/json escapes or changes.
var nastyStrings = []string{
	"", "plain", `quote " and \ backslash`, "<script>&amp;</script>", "tab\tnew\nline\rcr\bbs\fff",
	"\x00\x01\x1f\x7f", "caf\u00e9 \u65e5\u672c \U0001F600", "line\u2028para\u2029sep", "bad \xff utf8 \xe2\x82",
	"C:\\ProgramData\\Qlik\\Sense\\Log", "\xed\xa0\x80 surrogate", "ends with \xc3",
}

// fill sets every field of v, recursively, to a value that is not zero, so
// a field the appenders leave out shows up as a difference. Strings come
// from nastyStrings, times are random, in random zones, with and without
// nanoseconds.
func fill(t *testing.T, v reflect.Value, r *rand.Rand) {
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
		t.Fatalf("fill: no rule for %s; teach fill and the appenders about it", v.Type())
	}
}

// clearSome zeroes a random subset of v's fields, for omitempty and omitzero.
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

// TestAppendJSONMatchesMarshal: what the store writes for alerts and outbox
// entries is byte for byte what json.Marshal writes, so files written before
// and after the appenders read the same, and so do their readers.
func TestAppendJSONMatchesMarshal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	check := func(what string, v any, got []byte, err error) {
		t.Helper()
		want, werr := json.Marshal(v)
		if err != nil || werr != nil {
			t.Fatalf("%s: append error %v, json.Marshal error %v", what, err, werr)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: appended\n%s\njson.Marshal\n%s", what, got, want)
		}
	}
	for i := range 2000 {
		var a Alert
		fill(t, reflect.ValueOf(&a).Elem(), r)
		var e entryValue
		fill(t, reflect.ValueOf(&e).Elem(), r)
		if i%2 == 1 {
			clearSome(reflect.ValueOf(&a).Elem(), r)
			clearSome(reflect.ValueOf(&e).Elem(), r)
		}
		prefix := []byte("prefix") // appending keeps what is there
		got, err := appendAlertJSON(prefix, &a)
		check("alert", a, got[len(prefix):], err)
		got, err = appendEntryJSON(nil, &e)
		check("entry", e, got, err)
	}
	var zero entryValue
	got, err := appendEntryJSON(nil, &zero)
	check("zero entry", zero, got, err)
	var zeroAlert Alert
	got, err = appendAlertJSON(nil, &zeroAlert)
	check("zero alert", zeroAlert, got, err)
}

// TestAppendJSONTimeOutOfRange: a time JSON cannot hold fails the write with
// the field's name, as json.Marshal fails, instead of writing something
// unreadable.
func TestAppendJSONTimeOutOfRange(t *testing.T) {
	a := Alert{Rule: "r", Key: "k", LastSeen: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	if _, err := json.Marshal(a); err == nil {
		t.Fatal("json.Marshal accepts the year 10000; the test is out of date")
	}
	if _, err := appendAlertJSON(nil, &a); err == nil || !strings.Contains(err.Error(), "last_seen") {
		t.Errorf("appendAlertJSON error = %v, want one naming last_seen", err)
	}
	e := entryValue{Event: sdk.Event{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", 24*3600))}}
	if _, err := appendEntryJSON(nil, &e); err == nil || !strings.Contains(err.Error(), "event: time") {
		t.Errorf("appendEntryJSON error = %v, want one naming event: time", err)
	}

	s := openTest(t, "")
	err := s.Update(func(tx *Tx) error { return tx.PutAlert(a) })
	if err == nil || !strings.Contains(err.Error(), `put alert "r"/"k"`) {
		t.Errorf("PutAlert error = %v, want one naming the alert", err)
	}
}

// BenchmarkEncode compares the appenders with json.Marshal on an alert and
// an outbox entry shaped like the qliksense pack's (benchEvent).
func BenchmarkEncode(b *testing.B) {
	ev := benchEvent(1)
	a := Alert{Rule: ev.Rule, Key: ev.Key, Status: ev.Status, Title: ev.Title, Severity: ev.Severity, Fields: ev.Fields,
		FirstSeen: t0, LastSeen: t0, Count: 1, Instance: 1, LastFired: t0}
	e := entryValue{Event: ev, Enqueued: t0, Instance: 1}
	var scratch []byte
	for _, bc := range []struct {
		name string
		enc  func() ([]byte, error)
	}{
		{"alert/json", func() ([]byte, error) { return json.Marshal(a) }},
		{"alert/append", func() ([]byte, error) { return appendAlertJSON(scratch[:0], &a) }},
		{"entry/json", func() ([]byte, error) { return json.Marshal(e) }},
		{"entry/append", func() ([]byte, error) { return appendEntryJSON(scratch[:0], &e) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				raw, err := bc.enc()
				if err != nil {
					b.Fatal(err)
				}
				scratch = raw
			}
		})
	}
}
