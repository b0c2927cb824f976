package driver

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/heraldhq/herald/bench/qlikgen"
	"github.com/heraldhq/herald/parsers"
	"github.com/heraldhq/herald/parsers/qlik"
	"github.com/heraldhq/herald/rules"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s changed (-update if that was meant); got:\n%s", path, got)
	}
}

// ruleCounts are the rule table sizes the tests check: the default, and one
// with generated rules.
var ruleCounts = []int{DefaultRules, 61}

// specs returns the first n rules of the table.
func specs(t testing.TB, n int) []ruleSpec {
	t.Helper()
	s, err := ruleTable(n)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// loadRules loads the benchmark's rules the way herald does: the rule file
// and the pack, for one qlik input called scheduler.
func loadRules(t testing.TB, specs []ruleSpec) (*rules.Set, parsers.Parser) {
	t.Helper()
	p, err := qlik.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.toml"), []byte(heraldRules(specs)), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := rules.Load([]string{"rules.toml"}, dir, packs, map[string]rules.InputInfo{
		"scheduler": {Fields: p.Fields(), Verbatim: p.Verbatim(), Parser: qlik.Name},
	})
	if err != nil {
		t.Fatal(err)
	}
	return set, p
}

// decode reads a log through the qlik parser; filter may be nil.
func decode(t testing.TB, p parsers.Parser, data []byte, filter parsers.Filter) []*parsers.Record {
	t.Helper()
	dec := p.NewDecoder("scheduler", "bench.txt", filter)
	var recs []*parsers.Record
	emit := func(rec *parsers.Record, err error) {
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		recs = append(recs, rec.Clone())
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	var off int64
	for first := true; sc.Scan(); first = false {
		off += int64(len(sc.Bytes())) + 1
		dec.Decode(parsers.Line{Text: strings.TrimSuffix(sc.Text(), "\r"), Offset: off, First: first}, emit)
	}
	dec.Flush(emit)
	return recs
}

func TestRuleSet(t *testing.T) {
	for _, n := range append(ruleCounts, 3, 7) {
		specs := specs(t, n)
		set, _ := loadRules(t, specs)
		var got, want []string
		for _, r := range set.Rules() {
			got = append(got, r.ID)
		}
		for _, r := range specs {
			want = append(want, r.id)
		}
		slices.Sort(got)
		slices.Sort(want)
		if len(want) != n || !slices.Equal(got, want) {
			t.Fatalf("herald loads rules %v,\nthe specs are %v; want the same %d", got, want, n)
		}
		if n == DefaultRules {
			golden(t, "rules.toml", heraldRules(specs))
		}
	}
	if _, err := ruleTable(2); err == nil || !strings.Contains(err.Error(), "rules 2") {
		t.Errorf("ruleTable(2) = %v, want an error naming the count", err)
	}
	if a, b := heraldRules(specs(t, 61)), heraldRules(specs(t, 61)); a != b {
		t.Error("the generated rules differ between calls")
	}
}

// TestOnlyFailuresMatch runs the generated log through the qlik parser and
// the rules as herald does, and through the specs as syslog-ng's filters
// read them: both must pick exactly the alert rows, each by the failed rule.
func TestOnlyFailuresMatch(t *testing.T) {
	for _, tc := range []struct {
		rules int
		rate  float64
	}{{DefaultRules, 0.01}, {61, 0.1}, {DefaultRules, 0.001}} {
		onlyFailuresMatch(t, tc.rules, tc.rate)
	}
}

func onlyFailuresMatch(t *testing.T, n int, rate float64) {
	const rows = 10_000
	specs := specs(t, n)
	set, p := loadRules(t, specs)
	var buf bytes.Buffer
	o := qlikgen.Options{Seed: 1, FailureRate: rate}
	if _, err := qlikgen.Write(&buf, qlikgen.New(o), rows); err != nil {
		t.Fatal(err)
	}

	ev := set.NewEvaluator()
	keys := map[string]bool{}
	for _, rec := range decode(t, p, buf.Bytes(), set.Filter("scheduler")) {
		ms, err := ev.Eval(rec)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.Rule.ID != failedRule || m.Key != rec.Get("TaskId") || keys[m.Key] {
				t.Fatalf("herald: rule %s, key %q matched %q", m.Rule.ID, m.Key, rec.Raw)
			}
			keys[m.Key] = true
		}
	}
	if len(keys) != o.Alerts(rows) {
		t.Fatalf("%d rules, rate %v: herald raised %d alerts, want %d", n, rate, len(keys), o.Alerts(rows))
	}

	specKeys := map[string]bool{}
	for _, rec := range decode(t, p, buf.Bytes(), nil) {
		for _, r := range specs {
			if matchSpec(r.conds, rec.Get) {
				if r.id != failedRule {
					t.Fatalf("spec %s matches %q", r.id, rec.Raw)
				}
				specKeys[rec.Get("TaskId")] = true
			}
		}
	}
	if len(specKeys) != len(keys) {
		t.Fatalf("the specs match %d rows, herald %d", len(specKeys), len(keys))
	}
}

// TestSpecsMirrorHerald builds, for every spec, a row that satisfies it and
// checks that herald's rules (the pack included) fire that rule for it: the
// specs syslog-ng gets say what the rules say.
func TestSpecsMirrorHerald(t *testing.T) {
	for _, n := range ruleCounts {
		specsMirrorHerald(t, specs(t, n))
	}
}

func specsMirrorHerald(t *testing.T, specs []ruleSpec) {
	set, p := loadRules(t, specs)
	ev := set.NewEvaluator()
	samples := map[string]string{`^Slow response from master scheduler: [0-9]{5,} ms$`: "Slow response from master scheduler: 12345 ms"}
	header := string(qlikgen.New(qlikgen.Options{}).AppendHeader(nil))
	for _, r := range specs {
		for alt := range 2 { // the first and the last value of each condition
			vals := map[string]string{
				"Sequence#": "1", "Timestamp": "20261122T060000.000+0100", "Level": "INFO", "Hostname": "N1",
				"Logger": "L", "Message": "M", "TaskId": "task-1", "ExecutionId": "exec-1",
			}
			for _, c := range r.conds {
				v := c.values[alt*(len(c.values)-1)]
				switch c.op {
				case opContains:
					v = "[" + v + "]"
				case opPrefix:
					v += " and more"
				case opRegexp:
					v = samples[v]
				}
				vals[c.field] = v
			}
			cols := make([]string, len(qlikgen.Columns))
			for i, c := range qlikgen.Columns {
				cols[i] = vals[c]
			}
			data := header + strings.Join(cols, "\t") + "\r\n"
			recs := decode(t, p, []byte(data), nil)
			if len(recs) != 1 {
				t.Fatalf("%s: %d records from %q", r.id, len(recs), data)
			}
			if !matchSpec(r.conds, recs[0].Get) {
				t.Fatalf("%s: the spec does not match its own sample %q", r.id, recs[0].Raw)
			}
			ms, err := ev.Eval(recs[0])
			if err != nil {
				t.Fatal(err)
			}
			ids := make([]string, len(ms))
			for i, m := range ms {
				ids[i] = m.Rule.ID
			}
			if !slices.Contains(ids, r.id) {
				t.Errorf("%s: herald fires %v for %q", r.id, ids, recs[0].Raw)
			}
		}
	}
}

// TestSyslogNGConfig pins the syslog-ng configuration and, when syslog-ng is
// installed, has it check the syntax.
func TestSyslogNGConfig(t *testing.T) {
	for _, n := range ruleCounts {
		conf := syslogNGConfig("/tmp/bench/syslog-ng/qlik.log", "http://127.0.0.1:12345/syslog-ng", specs(t, n))
		if n == DefaultRules {
			golden(t, "syslog-ng.conf", conf)
		}
		if got := strings.Count(conf, "\nfilter f_"); got != n+1 { // the rules and their union
			t.Errorf("%d rules: %d filters, want %d", n, got, n+1)
		}
		bin, err := exec.LookPath("syslog-ng")
		if err != nil {
			t.Log("SKIPPED: syslog-ng is not installed; the syntax is not checked")
			continue
		}
		path := filepath.Join(t.TempDir(), "syslog-ng.conf")
		if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(bin, "--syntax-only", "-f", path).CombinedOutput(); err != nil {
			t.Fatalf("%d rules: syslog-ng --syntax-only: %v\n%s", n, err, out)
		}
	}
}

func TestHeraldConfig(t *testing.T) {
	for format, file := range map[string]string{FormatHerald: "herald.toml", FormatAlertmanager: "herald-alertmanager.toml"} {
		cfg, err := heraldConfig("/w/data", "/w/logs/BENCH-NODE1_System_Scheduler.txt", "/w/rules.toml", "http://127.0.0.1:1/herald", format)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, file, cfg)
	}
	if _, err := heraldConfig("/it's/data", "/l", "/r", "http://x", FormatHerald); err == nil {
		t.Fatal("a path with a quote was accepted")
	}
}
