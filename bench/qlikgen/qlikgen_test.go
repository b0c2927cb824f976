package qlikgen

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.sha256 from the generator's output")

// generate returns the file Write produces for rows rows of seed.
func generate(t *testing.T, seed uint64, rows int) []byte {
	t.Helper()
	var buf bytes.Buffer
	st, err := Write(&buf, New(Options{Seed: seed}), rows)
	if err != nil {
		t.Fatal(err)
	}
	if st.Bytes != int64(buf.Len()) || st.Rows != rows || st.Alerts != rows/AlertEvery {
		t.Fatalf("Stats = %+v for %d bytes, %d rows", st, buf.Len(), rows)
	}
	return buf.Bytes()
}

// TestChecksum pins the output of a seed: a benchmark result is comparable
// with an earlier one only if the log is the same. Run with -update after a
// deliberate change of the generator.
func TestChecksum(t *testing.T) {
	for _, tc := range []struct {
		seed uint64
		rows int
	}{{1, 5000}, {7, 1234}} {
		sum := sha256.Sum256(generate(t, tc.seed, tc.rows))
		got := hex.EncodeToString(sum[:]) + "\n"
		path := filepath.Join("testdata", fmt.Sprintf("seed%d-rows%d.sha256", tc.seed, tc.rows))
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if got != string(want) {
			t.Errorf("seed %d, %d rows: sha256 %s, want %s (the generated log changed; -update if that was meant)",
				tc.seed, tc.rows, strings.TrimSpace(got), strings.TrimSpace(string(want)))
		}
	}
}

func TestSeeds(t *testing.T) {
	a, b := generate(t, 1, 500), generate(t, 1, 500)
	if !bytes.Equal(a, b) {
		t.Fatal("the same seed gave different logs")
	}
	if bytes.Equal(a, generate(t, 2, 500)) {
		t.Fatal("seeds 1 and 2 gave the same log")
	}
}

// TestShape checks what makes the log a Qlik scheduler trace log and the
// alert rows what the benchmark counts on.
func TestShape(t *testing.T) {
	const rows = 20_000
	data := generate(t, 1, rows)
	if !bytes.HasPrefix(data, []byte("\uFEFFSequence#\tTimestamp\t")) {
		t.Fatalf("file starts %q, want a BOM and the header", data[:40])
	}
	if !bytes.HasSuffix(data, []byte("\r\n")) || bytes.Count(data, []byte("\n")) != bytes.Count(data, []byte("\r\n")) {
		t.Fatal("lines are not all CRLF-terminated")
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\r\n"), "\r\n")
	if len(lines) != rows+1 {
		t.Fatalf("%d lines, want %d rows and the header", len(lines), rows)
	}
	if got := strings.Join(strings.Split(strings.TrimPrefix(lines[0], "\uFEFF"), "\t"), ","); got != strings.Join(Columns, ",") {
		t.Fatalf("header %s, want %v", got, Columns)
	}
	col := map[string]int{}
	for i, c := range Columns {
		col[c] = i
	}
	tasks, execs := map[string]bool{}, map[string]bool{}
	levels := map[string]int{}
	for i, line := range lines[1:] {
		f := strings.Split(line, "\t")
		if len(f) != len(Columns) {
			t.Fatalf("row %d has %d columns, want %d: %q", i+1, len(f), len(Columns), line)
		}
		if f[col["Sequence#"]] != fmt.Sprint(i+1) || len(f[col["Timestamp"]]) != len("20261122T060000.015+0100") {
			t.Fatalf("row %d: Sequence# %q, Timestamp %q", i+1, f[0], f[1])
		}
		levels[f[col["Level"]]]++
		msg, logger := f[col["Message"]], f[col["Logger"]]
		final := logger == LoggerTaskSession && (strings.HasPrefix(msg, "Execution State Change to Finished") ||
			strings.HasPrefix(msg, "Execution State Change to Abort") || strings.HasPrefix(msg, "Max retries reached"))
		wantAlert := i%AlertEvery == AlertEvery-1
		if final != wantAlert || (final && msg != FailedMessage) {
			t.Fatalf("row %d: alert %v, want %v: %q", i+1, final, wantAlert, line)
		}
		if final {
			task, exec := f[col["TaskId"]], f[col["ExecutionId"]]
			if tasks[task] || execs[exec] || len(task) != 36 || len(exec) != 36 {
				t.Fatalf("row %d: TaskId %q or ExecutionId %q repeated or malformed", i+1, task, exec)
			}
			tasks[task], execs[exec] = true, true
		}
	}
	if len(tasks) != rows/AlertEvery {
		t.Errorf("%d distinct failed tasks, want %d", len(tasks), rows/AlertEvery)
	}
	for _, l := range []string{"DEBUG", "INFO", "WARN", "ERROR"} {
		if levels[l] == 0 {
			t.Errorf("no %s row in %d rows", l, rows)
		}
	}
	if avg := float64(len(data)) / rows; avg < 240 || avg > 290 {
		t.Errorf("rows are %.0f bytes on average, want about 265", avg)
	}
}

// TestContinue checks that rows appended after Write continue the file: the
// next Sequence#, a later time, and an alert of a new task.
func TestContinue(t *testing.T) {
	g := New(Options{Seed: 3})
	var buf bytes.Buffer
	if _, err := Write(&buf, g, 250); err != nil {
		t.Fatal(err)
	}
	row, alert := g.AppendAlert(nil)
	f := strings.Split(strings.TrimSuffix(string(row), "\r\n"), "\t")
	if f[0] != "251" || f[4] != LoggerTaskSession || f[8] != FailedMessage || f[17] != alert.TaskID || f[18] != alert.ExecutionID {
		t.Fatalf("appended row %q, alert %+v", row, alert)
	}
	if strings.Contains(buf.String(), alert.TaskID) {
		t.Fatalf("TaskId %s of the appended alert is already in the file", alert.TaskID)
	}
	if g.Rows() != 251 || g.Alerts() != 3 {
		t.Fatalf("Rows, Alerts = %d, %d; want 251, 3", g.Rows(), g.Alerts())
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\r\n"), "\r\n")
	if last := strings.Split(lines[len(lines)-1], "\t")[1]; last >= f[1] {
		t.Fatalf("appended row's time %s is not after the last row's %s", f[1], last)
	}
}

func BenchmarkWrite(b *testing.B) {
	b.SetBytes(265 * 10000)
	for b.Loop() {
		if _, err := Write(discard{}, New(Options{Seed: 1}), 10000); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// TestFailureRate checks that each rate gives exactly floor(rows × rate)
// alerts, spread evenly (never two alert rows closer than 1/rate rounded
// down), that the default rate is every 100th row, and that NoAlerts gives
// none.
func TestFailureRate(t *testing.T) {
	for _, tc := range []struct {
		o       Options
		rows    int
		alerts  int
		minStep int
	}{
		{Options{}, 10_000, 100, 100},
		{Options{FailureRate: 0.01}, 10_000, 100, 100},
		{Options{FailureRate: 0.001}, 10_000, 10, 1000},
		{Options{FailureRate: 0.1}, 10_000, 1000, 10},
		{Options{FailureRate: 0.1}, 9_999, 999, 10},
		{Options{FailureRate: 0.003}, 1000, 3, 333},
		{Options{FailureRate: 1}, 50, 50, 1},
		{Options{FailureRate: 0.5, NoAlerts: true}, 10_000, 0, 0},
	} {
		g := New(tc.o)
		var buf []byte
		last, alerts := -1, 0
		for i := range tc.rows {
			var alert bool
			buf, alert = g.AppendRow(buf[:0])
			if !alert {
				continue
			}
			if !strings.Contains(string(buf), "\t"+FailedMessage+"\t") {
				t.Fatalf("%+v: row %d is an alert without %q: %q", tc.o, i, FailedMessage, buf)
			}
			if last >= 0 && i-last < tc.minStep {
				t.Fatalf("%+v: alert rows %d and %d are closer than %d", tc.o, last, i, tc.minStep)
			}
			if tc.o.FailureRate == 0 && i%AlertEvery != AlertEvery-1 {
				t.Fatalf("default rate: row %d is an alert, want only every %dth", i, AlertEvery)
			}
			last = i
			alerts++
		}
		if alerts != tc.alerts || g.Alerts() != tc.alerts || tc.o.Alerts(tc.rows) != tc.alerts {
			t.Errorf("%+v, %d rows: %d alert rows, Generator.Alerts %d, Options.Alerts %d; want %d",
				tc.o, tc.rows, alerts, g.Alerts(), tc.o.Alerts(tc.rows), tc.alerts)
		}
	}
}

func TestFailureRateValidate(t *testing.T) {
	for _, r := range []float64{-0.1, 1.5, 1e-9} {
		if err := (Options{FailureRate: r}).Validate(); err == nil || !strings.Contains(err.Error(), "failure rate") {
			t.Errorf("rate %v: Validate = %v, want an error naming the failure rate", r, err)
		}
	}
	for _, r := range []float64{0, 1e-6, 0.001, 1} {
		if err := (Options{FailureRate: r}).Validate(); err != nil {
			t.Errorf("rate %v: %v", r, err)
		}
	}
}
