package driver

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"github.com/heraldhq/herald/bench/qlikgen"
	"github.com/heraldhq/herald/parsers"
)

// BenchmarkLines is the agent's per-line work on the benchmark's log, without
// the file and the state: the qlik decoder with the input's prefilter, and the
// 20 rules on each record the prefilter lets through. One op is one line.
// "nofilter" leaves the prefilter out (every line is split and evaluated).
func BenchmarkLines(b *testing.B) {
	const rows = 100_000
	var buf bytes.Buffer
	if _, err := qlikgen.Write(&buf, qlikgen.New(qlikgen.Options{Seed: 1}), rows); err != nil {
		b.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		lines = append(lines, strings.TrimSuffix(sc.Text(), "\r"))
	}
	lines[0] = strings.TrimPrefix(lines[0], "\uFEFF")
	for _, filtered := range []bool{true, false} {
		name := "filter"
		if !filtered {
			name = "nofilter"
		}
		b.Run(name, func(b *testing.B) {
			set, p := loadRules(b, baseRules)
			var filter parsers.Filter
			if filtered {
				filter = set.Filter("scheduler")
			}
			ev := set.NewEvaluator()
			matches := 0
			emit := func(rec *parsers.Record, err error) {
				if err != nil {
					b.Fatal(err)
				}
				ms, err := ev.Eval(rec)
				if err != nil {
					b.Fatal(err)
				}
				matches += len(ms)
			}
			var dec parsers.Decoder
			var off int64
			i := 0
			b.SetBytes(int64(buf.Cap()) / rows) // about 270 bytes a line
			b.ReportAllocs()
			for b.Loop() {
				if i%len(lines) == 0 {
					dec, off, i = p.NewDecoder("scheduler", "bench.txt", filter), 0, 0
				}
				l := lines[i]
				off += int64(len(l)) + 2
				dec.Decode(parsers.Line{Text: l, Offset: off, First: i == 0}, emit)
				i++
			}
			dec.Flush(emit)
			if matches == 0 {
				b.Fatal("no rule matched")
			}
		})
	}
}
