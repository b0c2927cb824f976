package qlik

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/heraldhq/herald/parsers"
	"github.com/heraldhq/herald/parsers/internal/parsertest"
)

const testHeader = "\uFEFFSequence#\tTimestamp\tLevel\tMessage\tTaskId"

// event is a copy of one Emit call, kept past the call.
type event struct {
	rec *parsers.Record
	err error
}

// collector records Emit calls.
type collector struct{ events []event }

func (c *collector) emit(rec *parsers.Record, err error) {
	if rec != nil {
		rec = rec.Clone()
	}
	c.events = append(c.events, event{rec, err})
}

// take returns the events so far and forgets them.
func (c *collector) take() []event {
	ev := c.events
	c.events = nil
	return ev
}

// feeder hands lines to a decoder with the offsets a tailer would give them.
type feeder struct {
	dec parsers.Decoder
	off int64
	c   collector
}

func newFeeder(t *testing.T, filter parsers.Filter) *feeder {
	t.Helper()
	p, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &feeder{dec: p.NewDecoder("scheduler", `C:\Log\NODE_System_Scheduler.txt`, filter)}
}

// line decodes one CRLF-terminated line and returns what it emitted.
func (f *feeder) line(text string) []event {
	first := f.off == 0
	f.off += int64(len(text)) + 2
	f.dec.Decode(parsers.Line{Text: text + "\r", Offset: f.off, First: first}, f.c.emit)
	return f.c.take()
}

func TestNewOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    map[string]any
		wantErr string // substring; "" for success
		extra   string // a field Fields() must then include
	}{
		{name: "none", opts: nil},
		{name: "empty", opts: map[string]any{}},
		{name: "extra field", opts: map[string]any{"fields": []any{"NodeRole"}}, extra: "NodeRole"},
		{name: "documented field again", opts: map[string]any{"fields": []any{"Message"}}},
		{name: "unknown key", opts: map[string]any{"feilds": []any{"x"}}, wantErr: `unknown option "feilds"`},
		{name: "wrong type", opts: map[string]any{"fields": "NodeRole"}, wantErr: `option "fields"`},
		{name: "wrong element type", opts: map[string]any{"fields": []any{int64(3)}}, wantErr: `option "fields"`},
		{name: "column name not a field name", opts: map[string]any{"fields": []any{"Node Role"}}, wantErr: `the field "NodeRole"`},
		{name: "listed twice", opts: map[string]any{"fields": []any{"A", "A"}}, wantErr: "twice"},
		{name: "empty name", opts: map[string]any{"fields": []any{""}}, wantErr: "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := parsertest.New(t, New, tt.opts, tt.wantErr)
			if p == nil {
				return
			}
			fields := p.Fields()
			if !slices.Equal(fields[:len(DocumentedFields)], DocumentedFields) {
				t.Errorf("Fields() = %v, want the documented fields first", fields)
			}
			if tt.extra != "" && !slices.Contains(fields, tt.extra) {
				t.Errorf("Fields() = %v, lacks %q", fields, tt.extra)
			}
			if len(fields) != len(slices.Compact(slices.Sorted(slices.Values(fields)))) {
				t.Errorf("Fields() = %v has duplicates", fields)
			}
			if !p.Verbatim() {
				t.Error("Verbatim() = false")
			}
		})
	}
}

func TestFieldName(t *testing.T) {
	tests := map[string]string{
		"Sequence#":      "Sequence",
		"Timestamp":      "Timestamp",
		"Proxy Session#": "ProxySession",
		"Id2":            "Id2",
		"9Lives":         "_9Lives",
		"#":              "",
		"":               "",
		"Société":        "Société",
		"a-b.c":          "abc",
		"_x":             "_x",
	}
	for in, want := range tests {
		if got := FieldName(in); got != want {
			t.Errorf("FieldName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	cet := time.FixedZone("", 3600)
	tests := []struct {
		in   string
		want time.Time // zero: must be rejected
	}{
		{"20211109T193744.331+0100", time.Date(2021, 11, 9, 19, 37, 44, 331e6, cet)},
		{"20211109T193744.331+01:00", time.Date(2021, 11, 9, 19, 37, 44, 331e6, cet)},
		{"20211109T193744.331Z", time.Date(2021, 11, 9, 19, 37, 44, 331e6, time.UTC)},
		{"20211109T193744+0100", time.Date(2021, 11, 9, 19, 37, 44, 0, cet)},
		{"20211109T193744Z", time.Date(2021, 11, 9, 19, 37, 44, 0, time.UTC)},
		{"20211109T193744,5-0330", time.Date(2021, 11, 9, 19, 37, 44, 5e8, time.FixedZone("", -3*3600-1800))},
		{"20211109T193744.123456789123+0000", time.Date(2021, 11, 9, 19, 37, 44, 123456789, time.UTC)},
		{"20240229T000000.000+0100", time.Date(2024, 2, 29, 0, 0, 0, 0, cet)},
		{"20230229T000000.000+0100", time.Time{}}, // not a leap year
		{"20211109T193744.331", time.Time{}},      // no zone
		{"20211109T193744.+0100", time.Time{}},    // empty fraction
		{"20211309T193744.331+0100", time.Time{}}, // month 13
		{"20211100T193744.331+0100", time.Time{}}, // day 0
		{"20211109T243744.331+0100", time.Time{}}, // hour 24
		{"20211109T196044.331+0100", time.Time{}}, // minute 60
		{"20211109T193760.331+0100", time.Time{}}, // second 60
		{"20211109T193744.331+2400", time.Time{}},
		{"20211109T193744.331+0160", time.Time{}},
		{"20211109T193744.331+01", time.Time{}},
		{"20211109T193744.331+01:0", time.Time{}},
		{"20211109T193744.331+0100x", time.Time{}},
		{"20211109 193744.331+0100", time.Time{}},
		{"2021-11-09T19:37:44Z", time.Time{}},
		{"", time.Time{}},
	}
	var z zoneCache
	for _, tt := range tests {
		got, ok := z.parse(tt.in)
		if tt.want.IsZero() {
			if ok {
				t.Errorf("parse(%q) = %v, want an error", tt.in, got)
			}
			continue
		}
		if !ok || !got.Equal(tt.want) {
			t.Errorf("parse(%q) = %v, %v; want %v", tt.in, got, ok, tt.want)
			continue
		}
		if _, off := got.Zone(); off != func() int { _, o := tt.want.Zone(); return o }() {
			t.Errorf("parse(%q) zone offset %d, want that of %v", tt.in, off, tt.want)
		}
	}
}

// A complete record is emitted by the Decode call of its last line: an alert
// must not wait for the next line to be written.
func TestCompleteRecordEmittedAtOnce(t *testing.T) {
	f := newFeeder(t, nil)
	if ev := f.line(testHeader); len(ev) != 0 {
		t.Fatalf("header emitted %v", ev)
	}
	ev := f.line("7\t20211109T193744.331+0100\tERROR\tMax retries reached\tabc")
	if len(ev) != 1 || ev[0].err != nil {
		t.Fatalf("got %+v, want one record", ev)
	}
	rec := ev[0].rec
	if got := rec.Get("Message"); got != "Max retries reached" {
		t.Errorf("Message = %q", got)
	}
	if got := rec.Get("Sequence"); got != "7" {
		t.Errorf("Sequence = %q", got)
	}
	if rec.Get("AppName") != "" {
		t.Errorf("a column the header lacks has a value: %q", rec.Get("AppName"))
	}
	if rec.Raw != "7\t20211109T193744.331+0100\tERROR\tMax retries reached\tabc" {
		t.Errorf("Raw = %q", rec.Raw)
	}
	if rec.Input != "scheduler" || rec.Path != `C:\Log\NODE_System_Scheduler.txt` || rec.Offset != f.off {
		t.Errorf("Input, Path, Offset = %q, %q, %d; want scheduler, the path, %d", rec.Input, rec.Path, rec.Offset, f.off)
	}
	if want := time.Date(2021, 11, 9, 18, 37, 44, 331e6, time.UTC); !rec.Time.Equal(want) {
		t.Errorf("Time = %v, want %v", rec.Time, want)
	}
	if _, held := f.dec.Held(); held {
		t.Error("Held() after a complete record")
	}
}

// A record broken across lines is held, and the checkpoint offset Held reports
// is where its first line starts, until the line that completes it.
func TestMultiLineRecord(t *testing.T) {
	f := newFeeder(t, nil)
	f.line(testHeader)
	headerEnd := f.off
	if ev := f.line("8\t20211109T193744.331+0100\tERROR\tReload failed:"); len(ev) != 0 {
		t.Fatalf("incomplete record emitted: %+v", ev)
	}
	if off, held := f.dec.Held(); !held || off != headerEnd {
		t.Fatalf("Held() = %d, %v; want %d, true", off, held, headerEnd)
	}
	if ev := f.line("  Field not found"); len(ev) != 0 {
		t.Fatalf("incomplete record emitted: %+v", ev)
	}
	if off, held := f.dec.Held(); !held || off != headerEnd {
		t.Fatalf("Held() = %d, %v; want %d, true", off, held, headerEnd)
	}
	ev := f.line("  in script line 12\tabc")
	if len(ev) != 1 || ev[0].err != nil {
		t.Fatalf("got %+v, want one record", ev)
	}
	if got, want := ev[0].rec.Get("Message"), "Reload failed:\n  Field not found\n  in script line 12"; got != want {
		t.Errorf("Message = %q, want %q", got, want)
	}
	if ev[0].rec.Get("TaskId") != "abc" || ev[0].rec.Offset != f.off {
		t.Errorf("TaskId %q, Offset %d (want %d)", ev[0].rec.Get("TaskId"), ev[0].rec.Offset, f.off)
	}
	if _, held := f.dec.Held(); held {
		t.Error("still held after completion")
	}
}

// A record that never gets all its columns is emitted with those it has, when
// the next record starts or at Flush.
func TestShortRecord(t *testing.T) {
	f := newFeeder(t, nil)
	f.line(testHeader)
	f.line("1\t20211109T193744.331+0100\tINFO\tfirst")
	firstEnd := f.off
	ev := f.line("2\t20211109T193745.000+0100\tINFO\tsecond\tabc")
	if len(ev) != 2 || ev[0].err != nil || ev[1].err != nil {
		t.Fatalf("got %+v, want two records", ev)
	}
	if ev[0].rec.Get("Message") != "first" || ev[0].rec.Offset != firstEnd {
		t.Errorf("first record: %+v", ev[0].rec)
	}
	if _, ok := ev[0].rec.Lookup("TaskId"); ok {
		t.Error("short record has the column it lacks")
	}
	if ev[1].rec.Get("Message") != "second" {
		t.Errorf("second record: %+v", ev[1].rec)
	}

	f.line("3\t20211109T193746.000+0100\tINFO")
	f.dec.Flush(f.c.emit)
	ev = f.c.take()
	if len(ev) != 1 || ev[0].err != nil || ev[0].rec.Get("Sequence") != "3" || ev[0].rec.Offset != f.off {
		t.Fatalf("Flush emitted %+v", ev)
	}
	if _, held := f.dec.Held(); held {
		t.Error("held after Flush")
	}
	f.dec.Flush(f.c.emit)
	if ev := f.c.take(); len(ev) != 0 {
		t.Errorf("second Flush emitted %+v", ev)
	}
}

func TestBadInput(t *testing.T) {
	const good = "1\t20211109T193744.331+0100\tINFO\tm\tx"
	tests := []struct {
		name    string
		lines   []string
		want    string // substring of every error
		errors  int    // how many errors
		records int    // how many records
	}{
		{"no header", []string{good, "continuation", good}, "first line is a record", 2, 0},
		{"header without Timestamp", []string{"Sequence#\tLevel", "1\tINFO"}, "no Timestamp column", 2, 0},
		{"invalid UTF-8 header", []string{"Sequence#\tTimestamp\xff", "1\t20211109T193744.331+0100"}, "header line is not valid UTF-8", 2, 0},
		{"too many columns", []string{testHeader, "1\t20211109T193744.331+0100\tINFO\tm\tx\ty"}, "6 columns, the header has 5", 1, 0},
		{"too many columns after continuation", []string{testHeader, "1\t20211109T193744.331+0100\tINFO\tm", "more\tx\ty", "skipped"}, "6 columns", 1, 0},
		{"bad timestamp", []string{testHeader, "1\t20211109T253744.331+0100\tINFO\tm\tx"}, "bad Timestamp", 1, 0},
		{"invalid UTF-8", []string{testHeader, "1\t20211109T193744.331+0100\tINFO\tm\xff\tx"}, "not valid UTF-8", 1, 0},
		{"orphan continuation", []string{testHeader, good, "orphan", "orphan 2", good}, "neither starts a record", 1, 2},
		{"too long", []string{testHeader, "1\t20211109T193744.331+0100\tINFO\t" + strings.Repeat("x", parsers.MaxRecordBytes) + "\tx"}, "exceeds the limit", 1, 0},
		{"too long across lines", []string{testHeader, "1\t20211109T193744.331+0100\tINFO\tm", strings.Repeat("x", parsers.MaxRecordBytes/2), strings.Repeat("x", parsers.MaxRecordBytes/2), "skipped\tx"}, "exceeds the limit", 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFeeder(t, nil)
			var ev []event
			for _, l := range tt.lines {
				ev = append(ev, f.line(l)...)
			}
			f.dec.Flush(f.c.emit)
			ev = append(ev, f.c.take()...)
			errs, recs := 0, 0
			for _, e := range ev {
				if e.rec != nil {
					recs++
					continue
				}
				errs++
				if !strings.Contains(e.err.Error(), tt.want) {
					t.Errorf("error %q, want one containing %q", e.err, tt.want)
				}
				var pe *parsers.ParseError
				if !errors.As(e.err, &pe) || pe.Path != `C:\Log\NODE_System_Scheduler.txt` || pe.Offset <= 0 {
					t.Errorf("error %#v is not a ParseError with path and offset", e.err)
				}
			}
			if errs != tt.errors || recs != tt.records {
				t.Fatalf("got %d errors and %d records, want %d and %d", errs, recs, tt.errors, tt.records)
			}
			// The decoder goes on: a good record after the bad input is parsed.
			f.line(testHeader)
			if ev := f.line(good); len(ev) != 1 || ev[0].err != nil {
				t.Errorf("after the bad input, got %+v, want a record", ev)
			}
		})
	}
}

// The filter sees the whole raw record before it is split; a rejected record is
// never emitted and costs no allocation.
func TestFilter(t *testing.T) {
	var seen []string
	f := newFeeder(t, func(raw string) bool {
		seen = append(seen, raw)
		return strings.Contains(raw, "FinishedFail")
	})
	f.line(testHeader)
	if ev := f.line("1\t20211109T193744.331+0100\tINFO\tStarted\tx"); len(ev) != 0 {
		t.Errorf("rejected record emitted: %+v", ev)
	}
	f.line("2\t20211109T193744.331+0100\tINFO\tExecution State")
	if ev := f.line("Change to FinishedFail\tx"); len(ev) != 1 || ev[0].err != nil {
		t.Errorf("accepted record: got %+v", ev)
	}
	want := []string{
		"1\t20211109T193744.331+0100\tINFO\tStarted\tx",
		"2\t20211109T193744.331+0100\tINFO\tExecution State\nChange to FinishedFail\tx",
	}
	if !slices.Equal(seen, want) {
		t.Errorf("filter saw %q, want %q", seen, want)
	}

	reject := newFeeder(t, func(string) bool { return false })
	reject.line(testHeader)
	l := parsers.Line{Text: "1\t20211109T193744.331+0100\tINFO\tStarted\tx\r", Offset: reject.off + 100}
	emit := reject.c.emit
	if n := testing.AllocsPerRun(100, func() { reject.dec.Decode(l, emit); l.Offset += 100 }); n != 0 {
		t.Errorf("a rejected record costs %v allocations, want 0", n)
	}
}

// Field values are substrings of Raw, never copies, as Verbatim promises.
func TestFieldsShareRaw(t *testing.T) {
	f := newFeeder(t, nil)
	f.line(testHeader)
	f.line("1\t20211109T193744.331+0100\tINFO\tfirst line")
	var recs []parsers.Record
	f.dec.Decode(parsers.Line{Text: "second line\tx", Offset: f.off + 14}, func(rec *parsers.Record, err error) {
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, *rec) // inspected during the call's lifetime: strings are immutable
	})
	if len(recs) != 1 {
		t.Fatalf("got %d records", len(recs))
	}
	rec := recs[0]
	lo := uintptr(unsafe.Pointer(unsafe.StringData(rec.Raw)))
	hi := lo + uintptr(len(rec.Raw))
	for _, fl := range rec.Fields {
		if fl.Value == "" {
			continue
		}
		p := uintptr(unsafe.Pointer(unsafe.StringData(fl.Value)))
		if p < lo || p+uintptr(len(fl.Value)) > hi {
			t.Errorf("field %s = %q is not a substring of Raw", fl.Name, fl.Value)
		}
	}
}

// Prime gives the decoder the header of a file whose reading resumes mid-way.
func TestPrime(t *testing.T) {
	p, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	dec := p.NewDecoder("scheduler", "x.txt", nil)
	pr, ok := dec.(parsers.Primer)
	if !ok {
		t.Fatal("the qlik decoder does not implement parsers.Primer")
	}
	pr.Prime(testHeader + "\r")
	var c collector
	text := "5\t20211109T193744.331+0100\tINFO\tpart one"
	dec.Decode(parsers.Line{Text: text, Offset: 5000}, c.emit)
	// The first line seen: its start is estimated one byte early at most,
	// since the input may have dropped a "\r".
	if off, held := dec.Held(); !held || off != 5000-int64(len(text))-2 {
		t.Errorf("Held() = %d, %v; want %d, true", off, held, 5000-int64(len(text))-2)
	}
	dec.Decode(parsers.Line{Text: "part two\tx", Offset: 5011}, c.emit)
	if len(c.events) != 1 || c.events[0].err != nil || c.events[0].rec.Get("TaskId") != "x" {
		t.Fatalf("got %+v, want one record", c.events)
	}

	// A first line that is no header makes records errors that say why.
	dec = p.NewDecoder("scheduler", "x.txt", nil)
	dec.(parsers.Primer).Prime("not a header")
	c = collector{}
	dec.Decode(parsers.Line{Text: text + "\tx", Offset: 5000}, c.emit)
	if len(c.events) != 1 || c.events[0].err == nil || !strings.Contains(c.events[0].err.Error(), "no Timestamp column") {
		t.Errorf("got %+v, want an error about the header", c.events)
	}
}
