package qlik

import (
	"strings"
	"testing"

	"github.com/heraldhq/herald/parsers"
)

// benchLine is a typical scheduler row of the synthetic sample's 17 columns.
const (
	benchHeader = "Sequence#\tTimestamp\tLevel\tHostname\tLogger\tThread\tId\tServiceUser\tMessage\tException\tStackTrace\tTaskName\tTaskId\tExecutionId\tAppName\tAppId\tId2"
	benchLine   = "102\t20210216T092459.020+0100\tINFO\tPRO2-WIN1\tSystem.Scheduler.Scheduler.Slave.Tasks.ReloadTask\t52\t6f1c2d54-0b9e-4a47-9a5e-2b0c1f7e1a02\tLAB\\qlikservice\tMessage from ReloadProvider: Reload in progress.\t\t\tManually triggered reload of Test failing reloads 2\tdec2a02a-1680-44ef-8dc2-e2bfb180af87\t14a81bf5-f81c-4047-b1a1-193b0920de28\tTest failing reloads 2\te7af59a0-c243-480d-9571-08727551a66f\t00000000-0000-0000-0000-000000000000\r"
)

// BenchmarkDecode measures one line (one record) through the decoder: a record
// the filter rejects, and one it accepts, which is split, timed and emitted.
// The filters are a strings.Contains each; "reject-free" rejects without
// reading the line, which leaves the decoder's own work.
func BenchmarkDecode(b *testing.B) {
	for _, bc := range []struct {
		name   string
		filter parsers.Filter
	}{
		{"reject", func(raw string) bool { return strings.Contains(raw, "FinishedFail") }},
		{"reject-free", func(string) bool { return false }},
		{"accept", func(raw string) bool { return strings.Contains(raw, "ReloadProvider") }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p, err := New(nil)
			if err != nil {
				b.Fatal(err)
			}
			dec := p.NewDecoder("scheduler", "NODE_System_Scheduler.txt", bc.filter)
			records := 0
			emit := func(rec *parsers.Record, err error) {
				if err != nil {
					b.Fatal(err)
				}
				records++
			}
			off := int64(len(benchHeader) + 2)
			dec.Decode(parsers.Line{Text: benchHeader + "\r", Offset: off, First: true}, emit)
			l := parsers.Line{Text: benchLine}
			b.SetBytes(int64(len(benchLine) + 1))
			b.ReportAllocs()
			for b.Loop() {
				l.Offset += int64(len(benchLine) + 1)
				dec.Decode(l, emit)
			}
			if want := bc.name == "accept"; (records > 0) != want {
				b.Fatalf("%d records emitted", records)
			}
		})
	}
}
