package qlik

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/heraldhq/herald/parsers"
)

// bom is the UTF-8 byte order mark .NET writers put before the header.
const bom = "\uFEFF"

// header is what a file's first line says about its columns.
type header struct {
	ok    bool
	names []string // field name per column; "" for a column that is not a field
	tabs  int      // tabs in a complete record: columns - 1
	seq   int      // column of Sequence#, -1 when absent
	ts    int      // column of Timestamp
}

// noHeader is why records are refused before a usable header has been read.
const noHeader = "no header line read (the file's first line was not read, or is not a Qlik header)"

// decoder is the state of one stream: the header of the current file and a
// record held back while its columns arrive on continuation lines.
//
// A record is complete once it has as many tabs as the header. It is emitted at
// that line, without waiting for the next record to start, so an alert does not
// wait for the next log line. A record still short of columns when the next
// record starts (or at Flush) is emitted with the columns it has.
type decoder struct {
	filter parsers.Filter
	hdr    header

	// prevEnd is the offset just past the previous line, where the current line starts.
	prevEnd  int64
	havePrev bool

	// The held record: its first line, or (multi) all its lines joined in buf.
	held      bool
	multi     bool
	heldStart int64
	heldEnd   int64
	heldText  string
	heldTabs  int
	buf       []byte

	// skip makes continuation lines vanish silently: they belong to a record
	// already reported as an error. Otherwise a line that continues no record is
	// itself reported, once.
	skip bool
	// whyNoHeader says why records are refused while hdr is not ok.
	whyNoHeader string

	rec  parsers.Record // reused for every emitted record
	zone zoneCache
}

func newDecoder(input, path string, filter parsers.Filter) *decoder {
	return &decoder{filter: filter, rec: parsers.Record{Input: input, Path: path}, whyNoHeader: noHeader}
}

// Prime implements parsers.Primer: reading resumes past the header, so the
// agent hands the file's first line over without it being a line of the stream.
// A first line that is no usable header makes every record an error saying so.
func (d *decoder) Prime(firstLine string) {
	d.drop()
	text, _ := strings.CutSuffix(firstLine, "\r")
	d.readHeader(text, 0, func(*parsers.Record, error) {})
}

// Decode implements parsers.Decoder.
func (d *decoder) Decode(l parsers.Line, emit parsers.Emit) {
	text, hadCR := strings.CutSuffix(l.Text, "\r")
	start := d.lineStart(l, hadCR)
	d.prevEnd, d.havePrev = l.Offset, true

	switch {
	case l.First || isHeader(text):
		d.flush(emit)
		d.readHeader(text, l.Offset, emit)
	case text == "":
		// Blank lines carry nothing; the offset bookkeeping above is all they need.
	case d.startsRecord(text):
		d.flush(emit)
		d.begin(text, start, l.Offset, emit)
	case d.held:
		d.extend(text, l.Offset, emit)
	case d.skip:
	case !d.hdr.ok:
		d.skip = true
		emit(nil, d.errorf(l.Offset, "%s", d.whyNoHeader))
	default:
		d.skip = true
		emit(nil, d.errorf(l.Offset, "line neither starts a record (Sequence#, Timestamp) nor continues one"))
	}
}

// Flush implements parsers.Decoder: a held record is emitted with the columns it has.
func (d *decoder) Flush(emit parsers.Emit) { d.flush(emit) }

// Held implements parsers.Decoder.
func (d *decoder) Held() (int64, bool) { return d.heldStart, d.held }

// lineStart returns the offset at which line l starts. It is where the
// previous line ended; for the first line this decoder sees it is worked out
// from l itself. The input may already have removed a "\r" from the "\r\n", so
// the estimate errs one byte early: re-reading from there yields an empty line,
// which is harmless, where one byte late would cut a record's first byte.
func (d *decoder) lineStart(l parsers.Line, hadCR bool) int64 {
	if d.havePrev && d.prevEnd <= l.Offset {
		return d.prevEnd
	}
	start := l.Offset - int64(len(l.Text)) - 1
	if !hadCR {
		start--
	}
	return max(start, 0)
}

func (d *decoder) readHeader(text string, end int64, emit parsers.Emit) {
	d.hdr = header{}
	d.skip = false
	text = strings.TrimPrefix(text, bom)
	if err := d.parseHeader(text); err != "" {
		d.whyNoHeader = "no usable header: " + err
		// A headerless file's first line is a record, reported here once.
		d.skip = d.startsRecord(text)
		emit(nil, d.errorf(end, "%s", d.whyNoHeader))
	}
}

// parseHeader sets d.hdr from a header line, or returns why it cannot.
func (d *decoder) parseHeader(text string) string {
	if d.startsRecord(text) {
		return "the file's first line is a record, not a header"
	}
	if !utf8.ValidString(text) {
		return "the header line is not valid UTF-8"
	}
	columns := strings.Split(text, "\t")
	h := header{ok: true, names: make([]string, len(columns)), tabs: len(columns) - 1, seq: -1, ts: -1}
	for i, c := range columns {
		name := FieldName(c)
		h.names[i] = name
		switch {
		case name == sequenceField && h.seq < 0:
			h.seq = i
		case name == timestampField && h.ts < 0:
			h.ts = i
		}
	}
	if h.ts < 0 {
		return fmt.Sprintf("the header line %.80q has no Timestamp column", text)
	}
	d.hdr = h
	return ""
}

// begin starts a record at its first line.
func (d *decoder) begin(text string, start, end int64, emit parsers.Emit) {
	d.skip = true // until the record turns out well
	if !d.hdr.ok {
		emit(nil, d.errorf(end, "%s", d.whyNoHeader))
		return
	}
	if len(text) > parsers.MaxRecordBytes {
		emit(nil, d.errorf(end, "record of %d bytes exceeds the limit of %d", len(text), parsers.MaxRecordBytes))
		return
	}
	tabs := strings.Count(text, "\t")
	switch {
	case tabs == d.hdr.tabs:
		d.complete(text, end, emit)
	case tabs > d.hdr.tabs:
		emit(nil, d.tooManyColumns(tabs, end))
	default:
		d.held, d.multi = true, false
		d.heldStart, d.heldEnd = start, end
		d.heldText, d.heldTabs = text, tabs
	}
}

// extend adds a continuation line to the held record and emits it if that
// completes it.
func (d *decoder) extend(text string, end int64, emit parsers.Emit) {
	if !d.multi {
		d.buf = append(d.buf[:0], d.heldText...)
		d.multi = true
	}
	if len(d.buf)+1+len(text) > parsers.MaxRecordBytes {
		d.drop()
		d.skip = true
		emit(nil, d.errorf(end, "record exceeds the limit of %d bytes", parsers.MaxRecordBytes))
		return
	}
	d.buf = append(d.buf, '\n')
	d.buf = append(d.buf, text...)
	d.heldTabs += strings.Count(text, "\t")
	d.heldEnd = end
	if d.heldTabs < d.hdr.tabs {
		return
	}
	raw, tabs := string(d.buf), d.heldTabs
	d.drop()
	if tabs > d.hdr.tabs {
		d.skip = true
		emit(nil, d.tooManyColumns(tabs, end))
		return
	}
	d.complete(raw, end, emit)
}

// flush emits the held record, if any, with the columns it has.
func (d *decoder) flush(emit parsers.Emit) {
	if !d.held {
		return
	}
	raw, end := d.heldText, d.heldEnd
	if d.multi {
		raw = string(d.buf)
	}
	d.drop()
	d.complete(raw, end, emit)
}

// drop forgets the held record.
func (d *decoder) drop() {
	d.held, d.multi = false, false
	d.heldText = ""
	if cap(d.buf) > 64<<10 {
		d.buf = nil // do not pin a huge buffer for the life of the stream
	}
}

// complete filters, splits and emits a record that has no more lines to come.
// It never copies: field values are substrings of raw.
func (d *decoder) complete(raw string, end int64, emit parsers.Emit) {
	d.skip = false
	if d.filter != nil && !d.filter(raw) {
		return
	}
	if !utf8.ValidString(raw) {
		emit(nil, d.errorf(end, "record is not valid UTF-8"))
		return
	}
	fields := d.rec.Fields[:0]
	ts, haveTS := "", false
	rest := raw
	for i := 0; i < len(d.hdr.names); i++ {
		v, next, more := strings.Cut(rest, "\t")
		if i == d.hdr.ts {
			ts, haveTS = v, true
		}
		if name := d.hdr.names[i]; name != "" {
			fields = append(fields, parsers.Field{Name: name, Value: v})
		}
		if !more {
			break
		}
		rest = next
	}
	d.rec.Fields = fields
	if !haveTS {
		emit(nil, d.errorf(end, "record has %d of the header's %d columns and no Timestamp", strings.Count(raw, "\t")+1, d.hdr.tabs+1))
		return
	}
	t, ok := d.zone.parse(ts)
	if !ok {
		emit(nil, d.errorf(end, "bad Timestamp %.40q (want yyyyMMddTHHmmss.fff+hhmm)", ts))
		return
	}
	d.rec.Time = t
	d.rec.Raw = raw
	d.rec.Offset = end
	emit(&d.rec, nil)
}

func (d *decoder) tooManyColumns(tabs int, end int64) error {
	return d.errorf(end, "record has %d columns, the header has %d", tabs+1, d.hdr.tabs+1)
}

func (d *decoder) errorf(end int64, format string, args ...any) error {
	return &parsers.ParseError{Path: d.rec.Path, Offset: end, Reason: fmt.Sprintf(format, args...)}
}

// startsRecord reports whether a line begins a record: its Sequence# column is
// a number and its Timestamp column starts yyyyMMddTHHmmss. Without a header the
// columns are taken to be the documented first two.
//
// It runs for every line, so it walks the columns once, up to the later of the
// two, and does not look for the end of the Timestamp column: the first 15
// bytes of a timestamp are digits and a T, so a tab among them fails the check
// anyway.
func (d *decoder) startsRecord(s string) bool {
	seq, ts := 0, 1
	if d.hdr.ok {
		seq, ts = d.hdr.seq, d.hdr.ts
	}
	last := max(seq, ts)
	for i := 0; ; i++ {
		// s starts at column i.
		if i == ts && !looksLikeTimestamp(s) {
			return false
		}
		if i == last && i != seq {
			return true
		}
		end := strings.IndexByte(s, '\t')
		if i == seq {
			col := s
			if end >= 0 {
				col = s[:end]
			}
			if !isDigits(col) {
				return false
			}
			if i == last {
				return true
			}
		}
		if end < 0 {
			return false // the line has no column i+1
		}
		s = s[end+1:]
	}
}

// isHeader reports whether a line is a header even though the input did not
// mark it as a file's first line: a record starts with a number, never with
// the header's first column name.
func isHeader(s string) bool {
	return strings.HasPrefix(strings.TrimPrefix(s, bom), "Sequence#\t")
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

var _ parsers.Decoder = (*decoder)(nil)
