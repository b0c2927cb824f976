package qlik

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// column returns the i-th tab-separated column of s, or "" when s has fewer.
func column(s string, i int) string {
	cols := strings.Split(s, "\t")
	if i >= len(cols) {
		return ""
	}
	return cols[i]
}

// startsRecordRef is what startsRecord means, written plainly.
func startsRecordRef(s string, seq, ts int) bool {
	if seq >= 0 && !isDigits(column(s, seq)) {
		return false
	}
	return looksLikeTimestamp(column(s, ts))
}

// TestStartsRecordMatchesReference compares startsRecord, which walks the
// columns once, with the plain definition, for headers putting Sequence# and
// Timestamp anywhere (or leaving Sequence# out), on lines made of the pieces
// that decide it.
func TestStartsRecordMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	starts := 0
	pieces := []string{"", "1", "102", "x1", "20210216T092459.020+0100", "20210216T092459", "20210216T09245",
		"2021021T092459.020", "20210216X092459.020", "INFO", "\t", "\t\t", "12\t20210216T092459"}
	for trial := range 20000 {
		var d decoder
		seq, ts := 0, 1
		if trial%5 != 0 { // a header; else the documented default columns
			ncols := 2 + r.IntN(4)
			seq, ts = r.IntN(ncols+1)-1, r.IntN(ncols)
			if seq == ts {
				seq = -1
			}
			d.hdr = header{ok: true, seq: seq, ts: ts}
		}
		var b strings.Builder
		for range r.IntN(7) {
			b.WriteString(pieces[r.IntN(len(pieces))])
			if r.IntN(2) == 0 {
				b.WriteByte('\t')
			}
		}
		line := b.String()
		got, want := d.startsRecord(line), startsRecordRef(line, seq, ts)
		if got != want {
			t.Fatalf("seq %d, ts %d, line %q: startsRecord = %v, want %v", seq, ts, line, got, want)
		}
		if want {
			starts++
		}
	}
	if starts < 500 {
		t.Errorf("only %d of the lines start a record: the test exercises little", starts)
	}
}
