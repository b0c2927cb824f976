package rules

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// readmeBlocks returns the fenced blocks of the given language in README.md.
func readmeBlocks(t *testing.T, lang string) []string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var (
		out   []string
		block *strings.Builder
		keep  bool
	)
	for _, line := range strings.SplitAfter(string(b), "\n") {
		fence, isFence := strings.CutPrefix(strings.TrimRight(line, "\n"), "```")
		switch {
		case isFence && block == nil:
			block, keep = &strings.Builder{}, fence == lang
		case isFence:
			if keep {
				out = append(out, block.String())
			}
			block = nil
		case block != nil:
			block.WriteString(line)
		}
	}
	return out
}

// TestReadmeExample loads the README's rule file, runs it on scheduler rows,
// and checks that its example error is what the typos it shows produce.
func TestReadmeExample(t *testing.T) {
	blocks := readmeBlocks(t, "toml")
	if len(blocks) != 1 {
		t.Fatalf("%d toml blocks in README.md, want 1", len(blocks))
	}
	example := blocks[0]
	inputs := map[string]InputInfo{"scheduler": qlikInfo(t)}
	set, err := loadText(t, example, inputs)
	if err != nil {
		t.Fatalf("the README example does not load: %v", err)
	}
	text := mixHeader + "\n" +
		"1\t20260216T092459.101+0100\tINFO\tPRO2-WIN1\tSystem.Scheduler.Scheduler.Master.Task.TaskSession\t47\tid1\tLAB\\qlikservice\tExecution State Change to FinishedFail\t\t\tReload Sales\ttask-1\texec-1\tSales\tapp-1\t0\n" +
		"2\t20260216T093459.101+0100\tINFO\tPRO2-WIN1\tSystem.Scheduler.Scheduler.Master.Task.TaskSession\t47\tid2\tLAB\\qlikservice\tExecution State Change to FinishedFail\t\t\tReload HR\ttask-2\texec-2\tHR\tapp-2\t0\n" +
		"3\t20260216T094459.101+0100\tINFO\tPRO2-WIN1\tSystem.Scheduler.Scheduler.Master.Task.TaskSession\t47\tid3\tLAB\\qlikservice\tExecution State Change to FinishedSuccess\t\t\tReload Sales\ttask-1\texec-3\tSales\tapp-1\t0\n"
	ev := set.NewEvaluator()
	var got []string
	for _, rec := range decodeQlik(t, "scheduler", "x.txt", text, set.Filter("scheduler")) {
		ms, err := ev.Eval(rec)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			got = append(got, m.Rule.ID+" "+m.Key+" "+m.Title)
		}
	}
	want := "sales-reload-failed task-1 Sales reload failed: Reload Sales|sales-reload-ok task-1 "
	if s := strings.Join(got, "|"); s != want {
		t.Errorf("matches %q, want %q", s, want)
	}

	// The example error output comes from these two typos.
	broken := strings.Replace(strings.Replace(example, "&& Message startsWith \"Execution State Change to FinishedFail\"",
		"&& Mesage startsWith \"Execution State Change to FinishedFail\"", 1), "rate_limit", "rate_limt", 1)
	_, err = loadText(t, broken, inputs)
	if err == nil {
		t.Fatal("the broken example loads")
	}
	var wantErr string
	for _, b := range readmeBlocks(t, "") {
		if strings.HasPrefix(b, "rules/reloads.toml:") {
			wantErr = b
		}
	}
	if wantErr == "" {
		t.Fatal("no example error in README.md")
	}
	gotErr := regexp.MustCompile(`(?m)^\S*rules\.toml:`).ReplaceAllString(err.Error(), "rules/reloads.toml:")
	if strings.TrimSpace(gotErr) != strings.TrimSpace(wantErr) {
		t.Errorf("README shows\n%s\nbut the error is\n%s", wantErr, gotErr)
	}
}
