package qlik

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/parsers"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// splitLines cuts content into the Lines a tailer delivers: text without "\n",
// Offset just past the "\n", First on the first line. With stripCR the "\r" of
// "\r\n" is removed too, as some tailers do; the decoder must not care.
func splitLines(content string, stripCR bool) []parsers.Line {
	var lines []parsers.Line
	off := int64(0)
	for content != "" {
		text, rest, found := strings.Cut(content, "\n")
		off += int64(len(text))
		if found {
			off++
		}
		if stripCR {
			text = strings.TrimSuffix(text, "\r")
		}
		lines = append(lines, parsers.Line{Text: text, Offset: off, First: len(lines) == 0})
		content = rest
	}
	return lines
}

// goldenEvent is one Emit call, as written to a golden file.
type goldenEvent struct {
	Error   string   `json:"error,omitempty"`
	Time    string   `json:"time,omitempty"`
	Offset  int64    `json:"offset,omitempty"`
	Fields  []string `json:"fields,omitempty"` // "Name=Value", in record order
	Raw     string   `json:"raw,omitempty"`
	Flushed bool     `json:"flushed,omitempty"` // emitted by Flush after the last line
}

type goldenFile struct {
	Events []goldenEvent `json:"events"`
	// HeldAtEnd is Held() after the last line, before Flush: where a checkpoint must stop.
	HeldAtEnd *int64 `json:"held_at_end"`
}

func record(rec *parsers.Record, err error) goldenEvent {
	if err != nil {
		return goldenEvent{Error: err.Error()}
	}
	ev := goldenEvent{Time: rec.Time.Format(time.RFC3339Nano), Offset: rec.Offset, Raw: rec.Raw}
	for _, f := range rec.Fields {
		ev.Fields = append(ev.Fields, f.Name+"="+f.Value)
	}
	return ev
}

// decodeAll runs lines through a fresh decoder, then flushes it.
func decodeAll(t *testing.T, path string, lines []parsers.Line) goldenFile {
	t.Helper()
	p, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	dec := p.NewDecoder("scheduler", path, nil)
	var g goldenFile
	flushed := false
	emit := func(rec *parsers.Record, err error) {
		ev := record(rec, err)
		ev.Flushed = flushed
		g.Events = append(g.Events, ev)
	}
	for _, l := range lines {
		dec.Decode(l, emit)
	}
	if off, ok := dec.Held(); ok {
		g.HeldAtEnd = &off
	}
	flushed = true
	dec.Flush(emit)
	if _, ok := dec.Held(); ok {
		t.Error("Held() is true after Flush")
	}
	return g
}

// TestGolden decodes every testdata/*.txt file, written as Qlik writes its
// logs, and compares the records and errors with testdata/*.golden.json.
func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs in testdata: %v", err)
	}
	for _, in := range inputs {
		name := filepath.Base(in)
		t.Run(name, func(t *testing.T) {
			content, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got := decodeAll(t, name, splitLines(string(content), false))
			// A tailer that strips "\r" itself must make no difference.
			if stripped := decodeAll(t, name, splitLines(string(content), true)); !equalJSON(t, got, stripped) {
				t.Errorf("decoding differs when the input strips \\r")
			}
			b, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			b = append(b, '\n')
			goldenPath := strings.TrimSuffix(in, ".txt") + ".golden.json"
			if *update {
				if err := os.WriteFile(goldenPath, b, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(goldenPath)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(b, want) {
				t.Errorf("decoding %s differs from %s (run go test -update and review the diff):\n%s", in, goldenPath, b)
			}
		})
	}
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(ja, jb)
}

// TestSyntheticSample checks the research sample the rule packs are written
// against: every row is a record, with the scheduler's correlation columns.
func TestSyntheticSample(t *testing.T) {
	content, err := os.ReadFile(filepath.Join("testdata", "synthetic-System_Scheduler.txt"))
	if err != nil {
		t.Fatal(err)
	}
	g := decodeAll(t, "synthetic-System_Scheduler.txt", splitLines(string(content), false))
	wantMessages := []string{
		"Execution State Change to Started",
		"Message from ReloadProvider: Reload failed in Engine. Check engine or script logs.",
		"Max retries reached",
		"Execution State Change to FinishedFail",
		"Execution State Change to FinishedSuccess",
		"Execution State Change to Aborting",
		"Execution State Change to Aborted",
	}
	if len(g.Events) != len(wantMessages) {
		t.Fatalf("got %d events, want %d: %+v", len(g.Events), len(wantMessages), g.Events)
	}
	for i, ev := range g.Events {
		if ev.Error != "" || ev.Flushed {
			t.Fatalf("event %d: %+v", i, ev)
		}
		if !slices.Contains(ev.Fields, "Message="+wantMessages[i]) || !slices.Contains(ev.Fields, "TaskId=dec2a02a-1680-44ef-8dc2-e2bfb180af87") {
			t.Errorf("event %d fields %q lack message %q or the TaskId", i, ev.Fields, wantMessages[i])
		}
	}
	if g.Events[0].Time != "2021-02-16T09:22:01.512+01:00" {
		t.Errorf("first record time %s", g.Events[0].Time)
	}
}
