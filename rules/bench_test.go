package rules

import (
	"fmt"
	"strings"
	"testing"

	"github.com/heraldhq/herald/parsers"
)

// BenchmarkEval measures what the agent does per record: the input's filter
// on the raw text, then Eval for the records it lets through. The records are
// the realistic scheduler mix, 1% of which the rules match. "verbatim" is the
// qlik parser as it is; "no-prefilter" declares it not Verbatim, so neither
// the filter nor the evaluator's per-rule prefilter applies.
//
// One op is one record. (The records are split beforehand; in the agent a
// filtered-out line is not even split.)
func BenchmarkEval(b *testing.B) {
	pack, _ := PackSource("qliksense")
	failedOnly, _, _ := strings.Cut(string(pack), "\n[[rule]]\nid = \"qlik-reload-aborted\"")
	recs := decodeQlik(b, "scheduler", "mix.txt", mixHeader+"\n"+strings.Join(mixLines(10000, 100, 1), "\n")+"\n", nil)
	for _, n := range []int{1, 20, 50} {
		text := failedOnly
		if n > 1 {
			text = string(pack) + extraRules(n-3)
		}
		for _, verbatim := range []bool{true, false} {
			name := fmt.Sprintf("rules=%d/verbatim", n)
			if !verbatim {
				name = fmt.Sprintf("rules=%d/no-prefilter", n)
			}
			b.Run(name, func(b *testing.B) {
				info := qlikInfo(b)
				info.Verbatim = verbatim
				set, err := loadText(b, text, map[string]InputInfo{"scheduler": info})
				if err != nil {
					b.Fatal(err)
				}
				if got := len(set.Rules()); got != n {
					b.Fatalf("%d rules, want %d", got, n)
				}
				filter, ev := set.Filter("scheduler"), set.NewEvaluator()
				matches := 0
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					rec := recs[i%len(recs)]
					i++
					if filter != nil && !filter(rec.Raw) {
						continue
					}
					ms, err := ev.Eval(rec)
					if err != nil {
						b.Fatal(err)
					}
					matches += len(ms)
				}
				b.ReportMetric(float64(matches)/float64(i), "matches/op")
			})
		}
	}
}

// BenchmarkEvalMatch is the cost of one record that a rule matches: env,
// the rule's expressions and the Match with its fields.
func BenchmarkEvalMatch(b *testing.B) {
	set, err := Load(nil, "", []string{"qliksense"}, map[string]InputInfo{"scheduler": qlikInfo(b)})
	if err != nil {
		b.Fatal(err)
	}
	var rec *parsers.Record
	for _, r := range decodeQlik(b, "scheduler", "x.txt", mixHeader+"\n"+strings.Join(mixLines(100, 10, 2), "\n")+"\n", nil) {
		if r.Get("Message") == "Execution State Change to FinishedFail" {
			rec = r
			break
		}
	}
	if rec == nil {
		b.Fatal("no failed row in the mix")
	}
	ev := set.NewEvaluator()
	b.ReportAllocs()
	for b.Loop() {
		if ms, _ := ev.Eval(rec); len(ms) != 1 {
			b.Fatal("no match")
		}
	}
}
