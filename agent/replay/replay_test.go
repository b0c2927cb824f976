package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/parsers"
	"github.com/heraldhq/herald/plugins/sdk"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const quickstart = "../../examples/quickstart"

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// replayAll runs files through e and returns the events as JSON lines and the
// summary as printed.
func replayAll(t *testing.T, e *Engine, files ...File) ([]byte, []byte, *Summary) {
	t.Helper()
	var events bytes.Buffer
	enc := json.NewEncoder(&events)
	sum, err := e.Run(context.Background(), files, Options{TempDir: t.TempDir(), Emit: func(ev Event) error { return enc.Encode(ev) }})
	if err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	if err := sum.Write(&table); err != nil {
		t.Fatal(err)
	}
	return events.Bytes(), table.Bytes(), sum
}

// TestQuickstartGolden replays the quickstart log with the quickstart config:
// the events are those `herald run --once` delivers, with the sinks they go to.
func TestQuickstartGolden(t *testing.T) {
	cfg, err := config.Load(filepath.Join(quickstart, "herald.toml"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(FromConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(quickstart, "QS-NODE1_System_Scheduler.txt")
	in, err := e.InputFor(path)
	if err != nil {
		t.Fatal(err)
	}
	events, table, sum := replayAll(t, e, File{Path: path, Input: in})
	golden(t, "quickstart.jsonl", events)
	golden(t, "quickstart.summary", table)

	// What the golden files must show, so that -update cannot bless a regression.
	var got []Event
	for _, line := range strings.Split(strings.TrimSpace(string(events)), "\n") {
		var ev Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatal(err)
		}
		got = append(got, ev)
	}
	want := []struct {
		rule   string
		status sdk.Status
	}{{"qlik-reload-failed", sdk.StatusFiring}, {"qlik-reload-aborted", sdk.StatusFiring}, {"qlik-reload-failed", sdk.StatusResolved}}
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d:\n%s", len(got), len(want), events)
	}
	for i, w := range want {
		if got[i].Rule != w.rule || got[i].Status != w.status || got[i].Host != "QS-NODE1" ||
			len(got[i].Sinks) != 1 || got[i].Sinks[0] != "console" {
			t.Errorf("event %d = %s %s host %s sinks %v, want %s %s host QS-NODE1 sinks [console]",
				i, got[i].Rule, got[i].Status, got[i].Host, got[i].Sinks, w.rule, w.status)
		}
	}
	if sum.Events != 3 || sum.Files != 1 || sum.Lines != 18 || sum.ParseErrors != 0 {
		t.Errorf("summary = %+v", sum)
	}
	failed := sum.Rules[0]
	if failed.Rule != "qlik-reload-failed" || failed.Fired != 1 || failed.Duplicates != 1 || failed.Open != 0 {
		t.Errorf("qlik-reload-failed stats = %+v, want 1 fired, 1 duplicate (Max retries + FinishedFail), 0 open", failed)
	}
}

// qlikHeader and qlikRow write scheduler rows the way Qlik does.
const qlikHeader = "\uFEFFSequence#\tTimestamp\tLevel\tHostname\tLogger\tThread\tId\tServiceUser\tMessage\tException\tStackTrace\tTaskName\tTaskId\tExecutionId\tAppName\tAppId\r\n"

const taskSession = "System.Scheduler.Scheduler.Master.Task.TaskSession"

func qlikRow(seq int, at time.Time, logger, msg string, task int, exec string) string {
	return fmt.Sprintf("%d\t%s\tINFO\tQS-NODE2\t%s\t47\tid-%d\tLAB\\qlik\t%s\t\t\tTask %d\ttask-%d\t%s\tApp %d\tapp-%d\r\n",
		seq, at.Format("20060102T150405.000-0700"), logger, seq, msg, task, task, exec, task, task)
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func packEngine(t *testing.T, mutate func(*Spec)) *Engine {
	t.Helper()
	spec := Spec{
		Inputs: []InputSpec{{Name: DefaultInput, Parser: "qlik"}},
		Packs:  []string{"qliksense"},
		Host:   "test-host",
		Now:    func() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) },
	}
	if mutate != nil {
		mutate(&spec)
	}
	e, err := New(spec)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestAlertStateCarriesAcrossFiles replays a failure logged in one archived
// file and its fix in the next: files are one timeline, in the order given.
func TestAlertStateCarriesAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 11, 20, 8, 0, 0, 0, time.FixedZone("", 3600))
	a := filepath.Join(dir, "QS-NODE2_System_Scheduler_2026-11-20T07-00-00Z.log")
	b := filepath.Join(dir, "QS-NODE2_System_Scheduler_2026-11-20T19-00-00Z.log")
	writeFile(t, a, qlikHeader+qlikRow(1, t0, taskSession, "Execution State Change to FinishedFail", 1, "e1"))
	writeFile(t, b, qlikHeader+qlikRow(2, t0.Add(time.Hour), taskSession, "Execution State Change to FinishedSuccess", 1, "e2")+
		qlikRow(3, t0.Add(2*time.Hour), taskSession, "Execution State Change to FinishedSuccess", 2, "e3"))

	paths, err := Expand([]string{filepath.Join(dir, "*Z.log")})
	if err != nil {
		t.Fatal(err)
	}
	e := packEngine(t, nil)
	var files []File
	for _, p := range paths {
		files = append(files, File{Path: p, Input: DefaultInput})
	}
	events, _, sum := replayAll(t, e, files...)
	lines := strings.Split(strings.TrimSpace(string(events)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"status":"firing"`) || !strings.Contains(lines[1], `"status":"resolved"`) {
		t.Fatalf("want a firing then its resolution, got:\n%s", events)
	}
	if strings.Contains(string(events), `"sinks"`) {
		t.Errorf("without a config the events must not claim sinks:\n%s", events)
	}
	succeeded := sum.Rules[2]
	if succeeded.Rule != "qlik-reload-succeeded" || succeeded.Matches != 2 || succeeded.Resolved != 1 || succeeded.Unmatched != 1 {
		t.Errorf("qlik-reload-succeeded stats = %+v, want 2 matches, 1 resolved, 1 unmatched", succeeded)
	}
	if sum.Files != 2 || sum.Lines != 5 {
		t.Errorf("files %d lines %d, want 2 and 5", sum.Files, sum.Lines)
	}
}

// TestRateLimitAndOpen checks the suppressed and open counts of a rule with a
// rate limit, with a user rule file given the way --rules gives it.
func TestRateLimitAndOpen(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "rules.toml"), `
[[rule]]
id = "any-fail"
when = 'Message startsWith "Execution State Change to FinishedFail"'
key = 'TaskId'
title = '"failed: " + TaskName'
message = 'Message'
rate_limit = "1h"
sinks = ["pager"]
`)
	t0 := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	var body strings.Builder
	body.WriteString(qlikHeader)
	for i := range 4 { // four failures within an hour: one alert, three held back
		body.WriteString(qlikRow(i+1, t0.Add(time.Duration(i)*time.Minute), taskSession, "Execution State Change to FinishedFail", 7, fmt.Sprint("e", i)))
	}
	log := filepath.Join(dir, "sched.txt")
	writeFile(t, log, body.String())

	e := packEngine(t, func(s *Spec) { s.Packs = nil; s.RuleFiles = []string{"rules.toml"}; s.BaseDir = dir })
	_, table, sum := replayAll(t, e, File{Path: log, Input: DefaultInput})
	want := RuleStats{Rule: "any-fail", Matches: 4, Fired: 1, Suppressed: 3, Open: 1}
	if sum.Rules[0] != want {
		t.Errorf("stats = %+v, want %+v\n%s", sum.Rules[0], want, table)
	}
}

// TestParseErrorsAndLongLines counts bad records, including a line longer than
// a record may be, and goes on with the next.
func TestParseErrorsAndLongLines(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	long := "1\t20261120T080000.000Z\tINFO\tx\t" + taskSession + "\t" + strings.Repeat("FinishedFail ", parsers.MaxRecordBytes/12) + "\r\n"
	body := qlikHeader + long +
		"2\t20261120T080000.000\tINFO\tQS\t" + taskSession + "\t1\tid\tu\tExecution State Change to FinishedFail\t\t\tT\tt\te\tA\ta\r\n" + // no zone
		qlikRow(3, t0, taskSession, "Execution State Change to FinishedFail", 1, "e1")
	log := filepath.Join(dir, "bad.txt")
	writeFile(t, log, body)
	e := packEngine(t, nil)
	_, table, sum := replayAll(t, e, File{Path: log, Input: DefaultInput})
	if sum.ParseErrors != 2 || sum.Events != 1 || sum.Lines != 4 {
		t.Errorf("parse errors %d, events %d, lines %d; want 2, 1, 4\n%s", sum.ParseErrors, sum.Events, sum.Lines, table)
	}
	if !strings.Contains(string(table), "exceeds the limit") || !strings.Contains(string(table), "first errors:") {
		t.Errorf("summary does not show the first errors:\n%s", table)
	}
	if sum.Bytes != int64(len(body)) {
		t.Errorf("bytes = %d, want %d", sum.Bytes, len(body))
	}
}

func TestInputFor(t *testing.T) {
	e := packEngine(t, func(s *Spec) {
		s.Inputs = []InputSpec{
			{Name: "scheduler", Parser: "qlik", Paths: []string{`C:\ProgramData\Qlik\Sense\Log\Scheduler\Trace\*_System_Scheduler.txt`}},
			{Name: "repository", Parser: "qlik", Paths: []string{"/logs/*_System_Repository.txt"}, Exclude: []string{"*_old_*"}},
		}
	})
	tests := []struct {
		path, want, err string
	}{
		{"x/QS-NODE1_System_Scheduler.txt", "scheduler", ""},
		{"QS-NODE1_System_Repository.txt", "repository", ""},
		{"QS-NODE1_old_System_Repository.txt", "", "no input's paths match"},
		{"QS-NODE1_System_Scheduler_2026-11-20T07-00-00Z.log", "", "name the input"},
	}
	for _, tt := range tests {
		got, err := e.InputFor(tt.path)
		if got != tt.want || (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("InputFor(%q) = %q, %v; want %q, error containing %q", tt.path, got, err, tt.want, tt.err)
		}
	}
}

func TestExpand(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"b_2026-11-21T00-00-00Z.log", "b_2026-11-20T00-00-00Z.log", "a.txt"} {
		writeFile(t, filepath.Join(dir, n), "")
	}
	if err := os.Mkdir(filepath.Join(dir, "c_dir.log"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := Expand([]string{filepath.Join(dir, "a.txt"), filepath.Join(dir, "*.log"), filepath.Join(dir, "a.txt")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a.txt", "b_2026-11-20T00-00-00Z.log", "b_2026-11-21T00-00-00Z.log"}
	if len(got) != len(want) {
		t.Fatalf("Expand = %v, want %v", got, want)
	}
	for i := range want {
		if filepath.Base(got[i]) != want[i] {
			t.Errorf("Expand[%d] = %s, want %s", i, got[i], want[i])
		}
	}
	if _, err := Expand([]string{filepath.Join(dir, "*.nothing")}); err == nil || !strings.Contains(err.Error(), "matches no file") {
		t.Errorf("a pattern matching nothing: err = %v", err)
	}
}

func TestCancel(t *testing.T) {
	dir := t.TempDir()
	var body strings.Builder
	body.WriteString(qlikHeader)
	for i := range 3 * checkCtx {
		body.WriteString(qlikRow(i+1, time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC), "Other.Logger", "routine", 1, "e"))
	}
	log := filepath.Join(dir, "big.txt")
	writeFile(t, log, body.String())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	sum, err := packEngine(t, nil).Run(ctx, []File{{Path: log, Input: DefaultInput}}, Options{TempDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "replay stopped in") {
		t.Fatalf("err = %v, want the replay to stop", err)
	}
	if sum.Lines != checkCtx {
		t.Errorf("stopped after %d lines, want %d", sum.Lines, checkCtx)
	}
}

// TestLargeReplay replays a generated 100k-line scheduler log with a failure
// and a resolution every 1000 lines, and logs how long it took.
func TestLargeReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("large input")
	}
	dir := t.TempDir()
	log := filepath.Join(dir, "QS-NODE2_System_Scheduler.txt")
	var body strings.Builder
	body.WriteString(qlikHeader)
	t0 := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	const lines = 100_000
	for i := 1; i < lines; i++ {
		at := t0.Add(time.Duration(i) * time.Second)
		switch {
		case i%1000 == 0:
			body.WriteString(qlikRow(i, at, taskSession, "Execution State Change to FinishedFail", i%7, fmt.Sprint("f", i)))
		case i%1000 == 500:
			body.WriteString(qlikRow(i, at, taskSession, "Execution State Change to FinishedSuccess", (i-500)%7, fmt.Sprint("s", i)))
		default:
			body.WriteString(qlikRow(i, at, "System.Scheduler.Scheduler.Slave.Tasks.ReloadTask", "Reload progress: routine", i%7, "x"))
		}
	}
	writeFile(t, log, body.String())
	start := time.Now()
	_, _, sum := replayAll(t, packEngine(t, nil), File{Path: log, Input: DefaultInput})
	t.Logf("replayed %d lines (%s) in %s", sum.Lines, byteSize(sum.Bytes), time.Since(start))
	if sum.Lines != lines || sum.Rules[0].Fired != 99 || sum.Rules[2].Resolved != 99 {
		t.Errorf("lines %d, fired %d, resolved %d; want %d, 99, 99", sum.Lines, sum.Rules[0].Fired, sum.Rules[2].Resolved, lines)
	}
}
