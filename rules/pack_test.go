package rules

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// packMatch is what the golden file records of a match.
type packMatch struct {
	Seq     string            `json:"seq"`
	Rule    string            `json:"rule"`
	Resolve []string          `json:"resolves,omitempty"`
	Sev     string            `json:"severity"`
	Key     string            `json:"key"`
	Dedup   string            `json:"dedup,omitempty"`
	Title   string            `json:"title"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// packText is the synthetic sample plus rows that name the same outcomes
// outside the master TaskSession logger, which the pack must ignore.
func packText(t *testing.T) string {
	sample, err := os.ReadFile("testdata/synthetic-System_Scheduler.txt")
	if err != nil {
		t.Fatal(err)
	}
	row := func(seq, level, logger, msg, task string) string {
		return strings.Join([]string{seq, "20210216T100000.000+0100", level, "PRO2-WIN2", logger, "12",
			"6f1c2d54-0b9e-4a47-9a5e-2b0c1f7e1b" + seq, `LAB\qlikservice`, msg, "", "", task,
			"0c9d8e7f-1111-2222-3333-444455556666", "a1b2c3d4-0000-4000-8000-00000000" + seq, "Sales", "5afb19a5-54df-4987-8a3b-ca4ed5811683",
			"00000000-0000-0000-0000-000000000000"}, "\t")
	}
	extra := []string{
		row("0201", "ERROR", "Service.Scheduler.Scheduler.Master.Task.TaskSession", "Execution State Change to FinishedFail", "Reload Sales"),
		row("0202", "INFO", "System.Scheduler.Scheduler.Slave.Tasks.ReloadTask", "Max retries reached", "Reload Sales"),
		row("0203", "INFO", "System.Scheduler.Scheduler.Master.Task.TaskSessionState", "Execution State Change to Aborting", "Reload Sales"),
		row("0204", "INFO", "System.Scheduler.Scheduler.Master.Task.TaskSession", "Execution State Change to Started", "Max retries reached"),
		row("0205", "INFO", "System.Scheduler.Scheduler.Master.Task.TaskSession", "Execution State Change to FinishedFail", ""),
	}
	return strings.TrimRight(string(sample), "\r\n") + "\r\n" + strings.Join(extra, "\r\n") + "\r\n"
}

func TestQlikSensePack(t *testing.T) {
	set, err := Load(nil, "", []string{"qliksense"}, map[string]InputInfo{"scheduler": qlikInfo(t)})
	if err != nil {
		t.Fatal(err)
	}
	// Decode twice: without the filter (every row), and with it (what the agent does).
	const path = "PRO2-WIN1_System_Scheduler.txt"
	all := decodeQlik(t, "scheduler", path, packText(t), nil)
	kept := decodeQlik(t, "scheduler", path, packText(t), set.Filter("scheduler"))
	if len(all) != 12 {
		t.Fatalf("%d records decoded, want 12", len(all))
	}

	ev := set.NewEvaluator()
	var got []packMatch
	for _, rec := range all {
		ms, err := ev.Eval(rec)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			got = append(got, packMatch{Seq: rec.Get("Sequence"), Rule: m.Rule.ID, Resolve: m.Rule.Resolves, Sev: m.Rule.Severity,
				Key: m.Key, Dedup: m.Dedup, Title: m.Title, Message: m.Message, Fields: m.Fields})
		}
	}

	// What an administrator relies on, independent of the golden file's wording.
	var seqs []string
	for _, m := range got {
		seqs = append(seqs, m.Seq+":"+m.Rule)
	}
	want := "103:qlik-reload-failed 104:qlik-reload-failed 105:qlik-reload-succeeded 106:qlik-reload-aborted 0205:qlik-reload-failed"
	if s := strings.Join(seqs, " "); s != want {
		t.Errorf("matches\n %s\nwant\n %s", s, want)
	}
	if len(got) == 5 {
		if got[0].Key != got[1].Key || got[0].Dedup != got[1].Dedup || got[0].Dedup == "" {
			t.Errorf("the two rows of one failed run do not share key and dedup: %+v %+v", got[0], got[1])
		}
		if got[2].Key != got[0].Key || got[3].Key != got[0].Key {
			t.Errorf("success and abort of the task are not keyed like its failure")
		}
		if got[0].Sev != "critical" || got[3].Sev != "warning" {
			t.Errorf("severities %s, %s", got[0].Sev, got[3].Sev)
		}
		if g := got[4]; g.Title != "Qlik Sense reload failed: 0c9d8e7f-1111-2222-3333-444455556666" || g.Fields["TaskName"] != "" {
			t.Errorf("a run without a task name: %+v", g)
		}
	}
	// The filter keeps every row a rule matches and drops most others.
	keptSeqs := map[string]bool{}
	for _, rec := range kept {
		keptSeqs[rec.Get("Sequence")] = true
	}
	for _, m := range got {
		if !keptSeqs[m.Seq] {
			t.Errorf("the filter dropped row %s, which rule %s matches", m.Seq, m.Rule)
		}
	}
	if len(kept) >= len(all) {
		t.Errorf("the filter kept all %d rows", len(all))
	}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(got); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	golden := filepath.Join("testdata", "qliksense.golden.json")
	if *update {
		if err := os.WriteFile(golden, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wantB, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(b, wantB) {
		t.Errorf("matches differ from %s (go test -update rewrites it):\n%s", golden, b)
	}
}

// TestQlikSensePackNotStarted checks the rows of a task that could not
// start: each is a failure of the task, deduplicated with the FinishedFail
// of the same execution (one alert per execution), and resolved by the
// task's next success. Rows are in the Qlik format (tab-separated, header).
func TestQlikSensePackNotStarted(t *testing.T) {
	set, err := Load(nil, "", []string{"qliksense"}, map[string]InputInfo{"scheduler": qlikInfo(t)}, WithScriptLogDir(scriptLogDir(t)))
	if err != nil {
		t.Fatal(err)
	}
	const (
		taskID = "0c9d8e7f-1111-2222-3333-444455556666"
		appID  = failedApp // has a script log of an earlier run, which must not be quoted
		master = "System.Scheduler.Scheduler.Master.Task.TaskSession"
	)
	header := "Sequence#\tTimestamp\tLevel\tHostname\tLogger\tThread\tId\tServiceUser\tMessage\tException\tStackTrace\tTaskName\tTaskId\tExecutionId\tAppName\tAppId\tId2"
	row := func(seq, level, logger, msg, exec string) string {
		return strings.Join([]string{seq, "20210216T100000.000+0100", level, "PRO2-WIN1", logger, "12",
			"6f1c2d54-0b9e-4a47-9a5e-2b0c1f7e1b" + seq, `LAB\qlikservice`, msg, "", "", "Reload Sales",
			taskID, exec, "Sales", appID, "00000000-0000-0000-0000-000000000000"}, "\t")
	}
	const exec1, exec2, exec3 = "a1b2c3d4-0000-4000-8000-000000000001", "a1b2c3d4-0000-4000-8000-000000000002", "a1b2c3d4-0000-4000-8000-000000000003"
	text := "\uFEFF" + strings.Join([]string{header,
		row("301", "WARN", master, "Could not reserve an executor for task "+taskID+". No slave node available.", exec1),
		row("302", "INFO", master, "Execution State Change to FinishedFail", exec1),
		row("303", "ERROR", master, "Failed to start session for task "+taskID, exec2),
		row("304", "INFO", master, "Max retries reached", exec2),
		row("305", "INFO", master, "Execution State Change to FinishedSuccess", exec3),
		// The same words from another logger are not the task's outcome.
		row("306", "WARN", "System.Scheduler.Scheduler.Slave.Tasks.ReloadTask", "Could not reserve an executor for task "+taskID, exec3),
	}, "\r\n") + "\r\n"

	ev := set.NewEvaluator()
	type got struct{ rule, dedup, title string }
	var ms []Match
	for _, rec := range decodeQlik(t, "scheduler", "PRO2-WIN1_System_Scheduler.txt", text, set.Filter("scheduler")) {
		m, err := ev.Eval(rec)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m...)
	}
	want := []got{
		{"qlik-reload-failed", exec1, "Qlik Sense task could not start: Reload Sales"},
		{"qlik-reload-failed", exec1, "Qlik Sense reload failed: Reload Sales"}, // same rule and dedup: dropped
		{"qlik-reload-failed", exec2, "Qlik Sense task could not start: Reload Sales"},
		{"qlik-reload-failed", exec2, "Qlik Sense reload failed: Reload Sales"},
		{"qlik-reload-succeeded", exec3, "Qlik Sense reload succeeded: Reload Sales"},
	}
	if len(ms) != len(want) {
		t.Fatalf("%d matches, want %d: %+v", len(ms), len(want), ms)
	}
	for i, w := range want {
		m := ms[i]
		if m.Rule.ID != w.rule || m.Dedup != w.dedup || m.Title != w.title || m.Key != taskID {
			t.Errorf("match %d: rule %s dedup %q title %q key %q, want %+v", i, m.Rule.ID, m.Dedup, m.Title, m.Key, w)
		}
	}
	if !slices.Contains(ms[4].Rule.Resolves, "qlik-reload-failed") {
		t.Errorf("the success resolves %v", ms[4].Rule.Resolves)
	}
	first := ms[0]
	if !strings.Contains(first.Message, `Task "Reload Sales" could not start (app "Sales", app id `+appID+`), reported by the scheduler on PRO2-WIN1: Could not reserve an executor for task `) ||
		strings.Contains(first.Message, "Script") {
		t.Errorf("message: %s", first.Message)
	}
	if _, ok := first.Fields["ScriptLogErrors"]; ok {
		t.Errorf("a task that did not start has the script log of another run: %v", first.Fields)
	}
	if first.Fields["ExecutionId"] != exec1 || first.Fields["TaskId"] != taskID {
		t.Errorf("fields %v", first.Fields)
	}
}
