package tail

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/wine"
	"github.com/heraldhq/herald/parsers"
)

func lineOf(text string, offset int64, first bool) parsers.Line {
	return parsers.Line{Text: text, Offset: offset, First: first}
}

func TestStartAt(t *testing.T) {
	for _, tc := range []struct {
		startAt    string
		wantOffset int64
		wantHeader string
		wantLines  []Event
	}{
		{
			startAt: StartAtEnd, wantOffset: 4, wantHeader: "h",
			wantLines: []Event{lineEv("", "partial", 12, false), lineEv("", "c", 14, false)},
		},
		{
			startAt: StartAtBeginning, wantOffset: 0,
			wantLines: []Event{
				lineEv("", "h", 2, true), lineEv("", "a", 4, false),
				lineEv("", "partial", 12, false), lineEv("", "c", 14, false),
			},
		},
	} {
		t.Run(tc.startAt, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "app.txt")
			// An incomplete last line is not skipped by "end": it is read
			// whole once its writer completes it.
			writeFile(t, path, "h\na\npart")
			h := newHarness(t, dir, Config{Paths: []string{"*.txt"}, StartAt: tc.startAt})
			key := fileKey(t, path)
			h.expect(Event{Kind: Opened, Key: key, Path: path, Line: lineOf("", tc.wantOffset, false), Header: tc.wantHeader})
			appendFile(t, path, "ial\nc\n")
			for _, want := range tc.wantLines {
				h.expect(want)
			}
		})
	}
}

// TestBatches: a backlog arrives in full batches, with either reader, and
// a line written later arrives on its own, without waiting for more. The
// harness checks every batch: 1 to BatchEvents events, all of one file.
func TestBatches(t *testing.T) {
	for _, tc := range []struct {
		name    string
		backlog int64
	}{
		{"own", 1},
		{"nxadm", math.MaxInt64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "app.txt")
			const lines = 3*BatchEvents + 10
			var b strings.Builder
			for i := range lines {
				fmt.Fprintf(&b, "line %d\n", i)
			}
			writeFile(t, path, b.String())
			h := newHarness(t, dir, Config{Paths: []string{"*.txt"}, StartAt: StartAtBeginning, ownReadBacklog: tc.backlog})
			key := fileKey(t, path)
			h.expect(Event{Kind: Opened, Key: key})
			var off int64
			for i := range lines {
				text := fmt.Sprintf("line %d", i)
				off += int64(len(text)) + 1
				h.expect(lineEv(key, text, off, i == 0))
			}
			full := 0
			for _, n := range h.batches {
				if n == BatchEvents {
					full++
				}
			}
			if full < 3 {
				t.Errorf("batches of %v events for a backlog of %d lines, want at least 3 of %d", h.batches, lines, BatchEvents)
			}

			appendFile(t, path, "live\n")
			h.expect(lineEv(key, "live", off+5, false))
			if n := h.batches[len(h.batches)-1]; n != 1 {
				t.Errorf("a live line came in a batch of %d events, want 1", n)
			}
		})
	}
}

func TestLineWrittenInTwoWritesArrivesOnceWhole(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.txt")
	writeFile(t, path, "")
	h := newHarness(t, dir, Config{Paths: []string{"*.txt"}})
	key := h.expect(Event{Kind: Opened, Path: path}).Key

	appendFile(t, path, "hel")
	h.waitSeen(key, 3) // the follower has looked at the fragment and held it back
	appendFile(t, path, "lo\r\nwor")
	h.expect(lineEv(key, "hello", 7, true))
	h.waitSeen(key, 10)
	appendFile(t, path, "ld\n")
	h.expect(lineEv(key, "world", 13, false))
}

// TestOffsetsBOMAndCRLF reads the same file with nxadm/tail and, as a
// backlog, with the tailer's own reader: both must give the same lines.
func TestOffsetsBOMAndCRLF(t *testing.T) {
	for _, tc := range []struct {
		name    string
		backlog int64
	}{
		{"nxadm", 0},      // a small file is read by nxadm/tail
		{"own reader", 1}, // every byte counts as a backlog
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "app.txt")
			content := "\uFEFFSequence#\tMessage\r\n1\tstarted\r\n\r\n2\tdone\nlast"
			writeFile(t, path, content)
			h := newHarness(t, dir, Config{Paths: []string{"*.txt"}, StartAt: StartAtBeginning, ownReadBacklog: tc.backlog})
			key := h.expect(Event{Kind: Opened}).Key
			h.expect(lineEv(key, "Sequence#\tMessage", 3+17+2, true)) // the BOM's 3 bytes count
			h.expect(lineEv(key, "1\tstarted", 22+9+2, false))
			h.expect(lineEv(key, "", 33+2, false))
			h.expect(lineEv(key, "2\tdone", 35+6+1, false))
			appendFile(t, path, "\r\n")
			h.expect(lineEv(key, "last", int64(len(content))+2, false))
		})
	}
}

// TestReadersAgree reads one file with nxadm/tail and with the own reader,
// which cuts lines from chunks of its buffer: lines of every length, ending
// exactly at and across the chunks' and the buffer's ends, longer than a chunk
// or than the buffer, some cut to MaxLineBytes, must come out the same.
func TestReadersAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	b.WriteString("\uFEFFheader\r\n")
	for b.Len() < 1<<20 {
		n := rng.IntN(300)
		switch k := rng.IntN(200); {
		case k == 0:
			n = 70 << 10 // more than the buffer
		case k <= 10:
			n = lineChunk - 2 + rng.IntN(4) // about a chunk
		case k <= 20:
			n = 3000 + rng.IntN(2000) // about MaxLineBytes below
		}
		b.WriteString(strings.Repeat(string(rune('a'+rng.IntN(26))), n))
		if rng.IntN(2) == 0 {
			b.WriteString("\r")
		}
		b.WriteString("\n")
	}
	b.WriteString("last, unterminated")
	path := filepath.Join(t.TempDir(), "app.txt")
	writeFile(t, path, b.String())

	read := func(backlog int64) []Event {
		t.Helper()
		tl, err := Start(context.Background(), Config{
			Paths: []string{path}, StartAt: StartAtBeginning, Once: true, MaxLineBytes: 4000, ownReadBacklog: backlog,
		})
		if err != nil {
			t.Fatal(err)
		}
		var evs []Event
		for batch := range tl.Events() {
			evs = append(evs, batch...)
			tl.Release(batch)
		}
		return evs
	}
	nx, own := read(math.MaxInt64), read(1)
	if len(own) < 500 {
		t.Fatalf("only %d events", len(own))
	}
	if len(nx) != len(own) {
		t.Fatalf("nxadm/tail gave %d events, the own reader %d", len(nx), len(own))
	}
	for i := range nx {
		if d := diffEvent(own[i], nx[i]); d != "" {
			t.Fatalf("event %d: own reader %s, nxadm/tail %s: %s", i, describe(own[i]), describe(nx[i]), d)
		}
	}
}

func TestLongLines(t *testing.T) {
	const maxLine = 1 << 20
	long := func(n int, c byte) string { return strings.Repeat(string(c), n) }
	lines := []string{
		long(70<<10, 'a'),        // beyond bufio.Scanner's default
		long(maxLine, 'b'),       // exactly the cap
		long(maxLine+10, 'c'),    // cut
		"é" + long(maxLine, 'd'), // cut, and not inside the "é"
		"short",
	}
	var content string
	for _, l := range lines {
		content += l + "\r\n"
	}
	check := func(t *testing.T, h *harness, key string) {
		t.Helper()
		var off int64
		for i, l := range lines {
			off += int64(len(l)) + 2
			ev := h.next()
			wantText, cut := l, len(l) > maxLine
			if cut {
				wantText = l[:maxLine]
				if i == 3 {
					wantText = l[:maxLine] // "é" is 2 bytes at the start: the cut is at a rune boundary anyway
				}
			}
			if ev.Kind != Line || ev.Key != key || ev.Line.Offset != off || ev.Truncated != cut || ev.Line.Text != wantText {
				t.Fatalf("line %d: got %s truncated=%v (len %d), want offset %d truncated=%v len %d",
					i, describe(ev), ev.Truncated, len(ev.Line.Text), off, cut, len(wantText))
			}
		}
	}

	for _, tc := range []struct {
		name    string
		backlog int64
	}{
		{"read by nxadm", math.MaxInt64},
		{"read as a backlog", 0}, // the 4 MiB appended are more than DefaultOwnReadBacklog
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "app.txt")
			writeFile(t, path, "")
			h := newHarness(t, dir, Config{Paths: []string{"*.txt"}, ownReadBacklog: tc.backlog})
			key := h.expect(Event{Kind: Opened}).Key
			appendFile(t, path, content)
			check(t, h, key)
		})
	}
	t.Run("drained after rotation", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "app.txt")
		writeFile(t, path, "")
		h := newHarness(t, dir, Config{Paths: []string{"*.txt"}})
		key := h.expect(Event{Kind: Opened}).Key
		h.freeze()
		appendFile(t, path, content)
		if err := os.Rename(path, filepath.Join(dir, "app.log")); err != nil {
			t.Fatal(err)
		}
		h.thaw()
		check(t, h, key)
		h.expect(Event{Kind: Closed, Key: key, Line: lineOf("", int64(len(content)), false)})
	})
}

func TestRuneCut(t *testing.T) {
	for _, tc := range []struct {
		s    string
		max  int
		want int
	}{
		{"abcdef", 3, 3},
		{"aé", 2, 1},  // "é" is 2 bytes: cut before it
		{"a€b", 3, 1}, // "€" is 3 bytes
		{"a€b", 4, 4},
		{"\xff\xff\xff\xff\xff\xff", 3, 3}, // not UTF-8: cut where asked
	} {
		if got := runeCut(tc.s, tc.max); got != tc.want {
			t.Errorf("runeCut(%q, %d) = %d, want %d", tc.s, tc.max, got, tc.want)
		}
	}
}

// TestRollover follows Qlik's rollover: the file is renamed (or moved to
// another directory) and a new one with a new header starts at its path.
// Lines are written while the followers are frozen, so the end of the old file
// is necessarily drained through the tailer's own handle after the rename.
func TestRollover(t *testing.T) {
	for _, tc := range []struct {
		name string
		dest func(dir string) string
	}{
		{"renamed in place", func(dir string) string { return filepath.Join(dir, "SRV_System_Scheduler_2026-01-02T03.04.05Z.log") }},
		{"moved to archive", func(dir string) string {
			arch := filepath.Join(dir, "ArchivedLogs", "SRV", "Scheduler", "Trace")
			if err := os.MkdirAll(arch, 0o755); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(arch, "SRV_System_Scheduler_2026-01-02T03.04.05Z.log")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "SRV_System_Scheduler.txt")
			header := "Sequence#\tTimestamp\tMessage\r\n"
			writeFile(t, path, header+"1\tt1\tone\r\n")
			h := newHarness(t, dir, Config{Paths: []string{"*_System_Scheduler.txt"}, StartAt: StartAtBeginning})
			old := h.expect(Event{Kind: Opened, Path: path}).Key
			h.expect(lineEv(old, "Sequence#\tTimestamp\tMessage", 29, true))
			h.expect(lineEv(old, "1\tt1\tone", 29+8+2, false))

			h.freeze()
			last := "3\tt3\tthree, the last line, unterminated"
			appendFile(t, path, "2\tt2\ttwo\r\n"+last)
			if err := os.Rename(path, tc.dest(dir)); err != nil {
				t.Fatal(err)
			}
			writeFile(t, path, header+"1\tt4\tfour\r\n")
			h.thaw()

			evs := h.collect("both files", func(evs []Event) bool {
				closed, newLines := false, 0
				for _, ev := range evs {
					closed = closed || ev.Kind == Closed && ev.Key == old
					if ev.Kind == Line && ev.Key != old {
						newLines++
					}
				}
				return closed && newLines == 2
			})
			var oldEvs, newEvs []Event
			for _, ev := range evs {
				if ev.Key == old {
					oldEvs = append(oldEvs, ev)
				} else {
					newEvs = append(newEvs, ev)
				}
			}
			wantOld := []Event{
				lineEv(old, "2\tt2\ttwo", 39+10, false),
				lineEv(old, last, 49+int64(len(last)), false),
				{Kind: Closed, Key: old, Line: lineOf("", 49+int64(len(last)), false)},
			}
			wantNew := []Event{
				{Kind: Opened, Path: path, Line: lineOf("", 0, false)},
				lineEv("", "Sequence#\tTimestamp\tMessage", 29, true),
				lineEv("", "1\tt4\tfour", 29+9+2, false),
			}
			compareEvents(t, "old file", oldEvs, wantOld)
			compareEvents(t, "new file", newEvs, wantNew)
			for _, ev := range newEvs {
				if ev.Key == old || ev.Key != newEvs[0].Key {
					t.Fatalf("new file events carry key %s (old %s, first new %s)", ev.Key, old, newEvs[0].Key)
				}
			}
		})
	}
}

func compareEvents(t *testing.T, what string, got, want []Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d events, want %d:%s", what, len(got), len(want), dump(got))
	}
	for i := range want {
		if d := diffEvent(got[i], want[i]); d != "" {
			t.Fatalf("%s: event %d %s: %s", what, i, describe(got[i]), d)
		}
	}
}

// TestRolloverUnderLoad rotates a file repeatedly while a writer appends as
// fast as it can, some lines in two writes, without waiting for the tailer to
// read them: every line of every file must arrive exactly once, in order.
// The writer only waits for the first half of each file to be read before it
// writes the second half and rotates it (a file that lives at its path for
// less than a poll interval is never seen).
func TestRolloverUnderLoad(t *testing.T) {
	const files, perFile = 6, 300
	dir := t.TempDir()
	arch := filepath.Join(dir, "archive")
	if err := os.Mkdir(arch, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "app.txt")
	writeFile(t, path, "")
	h := newHarness(t, dir, Config{Paths: []string{"*.txt"}})

	halfRead := make(chan struct{}, files)
	halfLine := fmt.Sprintf(" line %d", perFile/2-1)
	writerDone := make(chan error, 1)
	go func() {
		writerDone <- func() error {
			for n := range files {
				f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
				if err != nil {
					return err
				}
				for i := range perFile {
					if i == perFile/2 && n < files-1 {
						// Rotate only once the tailer has read the first half;
						// the second half is written just before the rename,
						// racing with the follower's next check.
						select {
						case <-halfRead:
						case <-time.After(wait):
							return fmt.Errorf("file %d was not read", n)
						}
					}
					line := fmt.Sprintf("file %d line %d\r\n", n, i)
					if i%7 == 0 { // a line in two writes
						if _, err := f.WriteString(line[:5]); err != nil {
							return err
						}
						line = line[5:]
					}
					if _, err := f.WriteString(line); err != nil {
						return err
					}
				}
				if err := f.Close(); err != nil {
					return err
				}
				if n < files-1 {
					if err := os.Rename(path, filepath.Join(arch, fmt.Sprintf("app_%d.log", n))); err != nil {
						return err
					}
				}
			}
			return nil
		}()
	}()

	byKey := map[string][]Event{}
	var order []string
	h.collect("all lines", func(evs []Event) bool {
		if len(evs) > 0 {
			ev := evs[len(evs)-1]
			if _, ok := byKey[ev.Key]; !ok {
				order = append(order, ev.Key)
			}
			if ev.Kind == Line && strings.HasSuffix(ev.Line.Text, halfLine) {
				halfRead <- struct{}{}
			}
			byKey[ev.Key] = append(byKey[ev.Key], ev)
		}
		lines := 0
		for _, k := range order {
			for _, ev := range byKey[k] {
				if ev.Kind == Line {
					lines++
				}
			}
		}
		return lines >= files*perFile
	})
	if err := <-writerDone; err != nil {
		t.Fatal(err)
	}
	if len(order) != files {
		t.Fatalf("events for %d files, want %d", len(order), files)
	}
	for n, k := range order {
		evs := byKey[k]
		// The first file was present at start (start_at end, empty): Opened at 0 as well.
		if evs[0].Kind != Opened || evs[0].Line.Offset != 0 {
			t.Fatalf("file %d: first event %s, want opened at 0", n, describe(evs[0]))
		}
		var off int64
		i := 0
		for _, ev := range evs[1:] {
			if ev.Kind != Line {
				if ev.Kind == Closed && n < files-1 && ev.Err == nil && i == perFile {
					continue
				}
				t.Fatalf("file %d: unexpected %s after %d lines", n, describe(ev), i)
			}
			want := fmt.Sprintf("file %d line %d", n, i)
			off += int64(len(want)) + 2
			if ev.Line.Text != want || ev.Line.Offset != off || ev.Line.First != (i == 0) {
				t.Fatalf("file %d: got %s, want %q at %d", n, describe(ev), want, off)
			}
			i++
		}
		if i != perFile {
			t.Fatalf("file %d: %d lines, want %d", n, i, perFile)
		}
	}
	// The rotated files' Closed events may still be on their way, in any order
	// (one scan can find several files gone).
	open := map[string]int{}
	for n := range files - 1 {
		k := order[n]
		if last := byKey[k][len(byKey[k])-1]; last.Kind != Closed {
			open[k] = n
		}
	}
	if len(open) > 0 {
		h.collect("rotated files closed", func(evs []Event) bool {
			if len(evs) == 0 {
				return false
			}
			ev := evs[len(evs)-1]
			if n, ok := open[ev.Key]; ok {
				if ev.Kind != Closed {
					t.Fatalf("file %d: unexpected %s", n, describe(ev))
				}
				delete(open, ev.Key)
			}
			return len(open) == 0
		})
	}
}

func TestTruncation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		frozen bool   // truncate and rewrite while the follower does not look
		after  string // the content written after truncation
	}{
		{"shorter", false, "three\n"},
		{"regrown past the old size", true, "a longer replacement line\nfour\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "app.txt")
			writeFile(t, path, "")
			h := newHarness(t, dir, Config{Paths: []string{"*.txt"}})
			key := h.expect(Event{Kind: Opened}).Key
			appendFile(t, path, "one\ntwo\n")
			h.expect(lineEv(key, "one", 4, true))
			h.expect(lineEv(key, "two", 8, false))

			if tc.frozen {
				h.freeze()
			}
			if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
			appendFile(t, path, tc.after)
			if tc.frozen {
				h.thaw()
			}
			h.expect(Event{Kind: Closed, Key: key, Line: lineOf("", 8, false), Err: ErrTruncated})
			h.expect(Event{Kind: Opened, Key: key, Line: lineOf("", 0, false)})
			var off int64
			for i, l := range strings.SplitAfter(strings.TrimSuffix(tc.after, "\n"), "\n") {
				off += int64(len(strings.TrimSuffix(l, "\n"))) + 1
				h.expect(lineEv(key, strings.TrimSuffix(l, "\n"), off, i == 0))
			}
		})
	}
}

func TestDeleteAndRecreate(t *testing.T) {
	if wine.Running() {
		// Windows 10 and later delete with POSIX semantics: the name is free
		// at once, while the tailer still holds the old file open.
		t.Skip("Wine keeps a deleted file's name while another handle is open, and a create of that name reopens the deleted file instead of making a new one")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "app.txt")
	writeFile(t, path, "old\n")
	h := newHarness(t, dir, Config{Paths: []string{"*.txt"}, StartAt: StartAtBeginning})
	old := h.expect(Event{Kind: Opened}).Key
	h.expect(lineEv(old, "old", 4, true))
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, "new\n")
	evs := h.collect("old closed, new read", func(evs []Event) bool {
		closed, line := false, false
		for _, ev := range evs {
			closed = closed || ev.Kind == Closed && ev.Key == old
			line = line || ev.Kind == Line && ev.Key != old
		}
		return closed && line
	})
	for _, ev := range evs {
		switch {
		case ev.Key == old && (ev.Kind != Closed || ev.Err != nil || ev.Line.Offset != 4):
			t.Errorf("old file: unexpected %s", describe(ev))
		case ev.Key != old && ev.Kind == Opened && ev.Line.Offset != 0:
			t.Errorf("new file: %s, want opened at 0", describe(ev))
		case ev.Key != old && ev.Kind == Line && (ev.Line != lineOf("new", 4, true)):
			t.Errorf("new file: unexpected %s", describe(ev))
		}
	}
}

func TestResume(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.txt")
	content := "Sequence#\tMessage\r\n1\tone\r\n2\ttwo\r\n"
	writeFile(t, path, content)
	key := fileKey(t, path)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fp := func(n int64) string {
		p, err := fingerprint(f, min(n, fingerprintBytes))
		if err != nil {
			t.Fatal(err)
		}
		return p.String()
	}
	const afterOne = 26 // just past "1\tone\r\n"

	for _, tc := range []struct {
		name      string
		pos       PositionMap
		startAt   string
		wantStart int64
	}{
		{"saved position", PositionMap{key: {Offset: afterOne, Fingerprint: fp(afterOne), Path: path}}, StartAtEnd, afterOne},
		{"saved position without fingerprint", PositionMap{key: {Offset: afterOne, Path: path}}, StartAtEnd, afterOne},
		{"other content, same identity", PositionMap{key: {Offset: afterOne, Fingerprint: "26:00112233445566778899aabbccddeeff", Path: path}}, StartAtEnd, 0},
		{"offset beyond the end", PositionMap{key: {Offset: 1000, Fingerprint: fp(afterOne), Path: path}}, StartAtEnd, 0},
		{"fingerprint longer than the file", PositionMap{key: {Offset: afterOne, Fingerprint: "1024:00112233445566778899aabbccddeeff", Path: path}}, StartAtEnd, 0},
		{"replaced while not running", PositionMap{"1:2": {Offset: 5000, Fingerprint: "1024:00112233445566778899aabbccddeeff", Path: path}}, StartAtEnd, 0},
		{"unknown file, start at end", PositionMap{"1:2": {Offset: 10, Path: filepath.Join(dir, "other.txt")}}, StartAtEnd, int64(len(content))},
		{"unknown file, start at beginning", PositionMap{}, StartAtBeginning, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, dir, Config{Paths: []string{"*.txt"}, Positions: tc.pos, StartAt: tc.startAt})
			var header string
			if tc.wantStart > 0 {
				header = "Sequence#\tMessage"
			}
			h.expect(Event{Kind: Opened, Key: key, Path: path, Line: lineOf("", tc.wantStart, false), Header: header, Fingerprint: fp(tc.wantStart)})
			// Exactly the lines after the start, then the new ones.
			all := []Event{
				lineEv(key, "Sequence#\tMessage", 19, true),
				lineEv(key, "1\tone", afterOne, false),
				lineEv(key, "2\ttwo", 33, false),
			}
			for _, want := range all {
				if want.Line.Offset > tc.wantStart {
					want.Fingerprint = fp(want.Line.Offset)
					h.expect(want)
				}
			}
		})
	}
}

func TestNewFilesArePickedUpAndExcludeIsHonoured(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "Scheduler", "Trace")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, dir, Config{
		Paths:        []string{"**/*.txt"},
		Exclude:      []string{"*_Audit_*.txt"},
		PollInterval: time.Second, // the default: new files must show within 2s
	})
	writeFile(t, filepath.Join(sub, "SRV_Audit_Scheduler.txt"), "skipped\n")
	h.waitScans(1)
	begin := time.Now()
	path := filepath.Join(sub, "SRV_System_Scheduler.txt")
	writeFile(t, path, "h\n1\n")
	h.expect(Event{Kind: Opened, Path: path, Line: lineOf("", 0, false)})
	h.expect(lineEv("", "h", 2, true))
	if d := time.Since(begin); d > 2*time.Second+time.Second/2 {
		t.Errorf("new file picked up after %v, want within 2s", d)
	}
	h.expect(lineEv("", "1", 4, false))
}

func TestBackpressureLosesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.txt")
	var b strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	writeFile(t, path, b.String())
	h := newHarness(t, dir, Config{Paths: []string{"*.txt"}, StartAt: StartAtBeginning})
	// Nobody reads while more is written and the follower polls.
	appendFile(t, path, "line 3000\n")
	h.waitScans(3)
	key := h.expect(Event{Kind: Opened}).Key
	var off int64
	for i := range 3001 {
		want := fmt.Sprintf("line %d", i)
		off += int64(len(want)) + 1
		h.expect(lineEv(key, want, off, i == 0))
	}
}

func TestStop(t *testing.T) {
	before := runtime.NumGoroutine()
	dir := t.TempDir()
	path := filepath.Join(dir, "app.txt")
	writeFile(t, path, "a\nb\nc\n")
	tl, err := Start(context.Background(), Config{
		Paths: []string{filepath.Join(dir, "*.txt")}, StartAt: StartAtBeginning,
		PollInterval: 10 * time.Millisecond, ReadInterval: 5 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if evs := <-tl.Events(); evs[0].Kind != Opened {
		t.Fatalf("got %s, want opened", describe(evs[0]))
	}
	// The follower may be blocked sending: Stop must not wait for a reader,
	// and may be called twice, concurrently.
	done := make(chan error, 2)
	go func() { done <- tl.Stop() }()
	go func() { done <- tl.Stop() }()
	for range 2 {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Stop: %v", err)
			}
		case <-time.After(wait):
			t.Fatal("Stop did not return")
		}
	}
	if err := tl.Stop(); err != nil {
		t.Fatalf("third Stop: %v", err)
	}
	for range tl.Events() { // closed: the range ends
	}
	deadline := time.Now().Add(wait)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		runtime.Gosched()
		time.Sleep(10 * time.Millisecond) // polling the goroutine count, not synchronising
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines after Stop, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

func TestContextCancelClosesEvents(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	tl, err := Start(ctx, Config{Paths: []string{filepath.Join(dir, "*.txt")}})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case _, ok := <-tl.Events():
		if ok {
			t.Fatal("event after cancel with no files")
		}
	case <-time.After(wait):
		t.Fatal("events not closed after cancel")
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "no paths"},
		{Config{Paths: []string{"logs/[a.txt"}}, `pattern "logs/[a.txt"`},
		{Config{Paths: []string{"*.txt"}, Exclude: []string{"[x"}}, `pattern "[x"`},
		{Config{Paths: []string{"*.txt"}, StartAt: "middle"}, `start_at "middle"`},
		{Config{Paths: []string{"*.txt"}, PollInterval: -1}, "negative"},
	} {
		_, err := Start(context.Background(), tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Start(%+v) = %v, want error containing %q", tc.cfg, err, tc.want)
		}
	}
}

// TestRenameSeenBeforeAnyScan renames a file and puts a new one at its path
// before the tailer rescans (there is no rescan at all): the lines written
// just before the rename are in the renamed file, not at the path, and must
// still be read — through the follower's own handle.
func TestRenameSeenBeforeAnyScan(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.txt")
	writeFile(t, path, "")
	h := newHarness(t, dir, Config{Paths: []string{"*.txt"}, PollInterval: time.Hour})
	key := h.expect(Event{Kind: Opened}).Key
	h.freeze()
	appendFile(t, path, "one\ntwo\n")
	if err := os.Rename(path, filepath.Join(dir, "app.log")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, "other file, never to be reported as the old one\n")
	h.thaw()
	h.expectFor(lineEv(key, "one", 4, true))
	h.expectFor(lineEv(key, "two", 8, false))
	appendFile(t, filepath.Join(dir, "app.log"), "three\n")
	h.expectFor(lineEv(key, "three", 14, false))
}

// TestRenamedWithinGlobKeepsFollowing renames a file to a name the globs
// still match: it is the same file, followed on without Closed or repeats.
func TestRenamedWithinGlobKeepsFollowing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.txt")
	writeFile(t, path, "one\n")
	h := newHarness(t, dir, Config{Paths: []string{"app*"}, StartAt: StartAtBeginning})
	key := h.expect(Event{Kind: Opened}).Key
	h.expect(lineEv(key, "one", 4, true))
	renamed := filepath.Join(dir, "app_2026Z.log")
	if err := os.Rename(path, renamed); err != nil {
		t.Fatal(err)
	}
	h.waitScans(goneAfter + 1)
	appendFile(t, renamed, "two\n")
	h.expect(lineEv(key, "two", 8, false))
}
