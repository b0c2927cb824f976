package tail

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkCatchUp reads a backlog of scheduler-like lines (270 bytes, CRLF)
// to its end, in Once mode, the way a restarted agent catches up: "own" with
// the tailer's buffered reader (the default for a large backlog), "nxadm"
// through nxadm/tail. One op is the whole file; ns/line is per line.
func BenchmarkCatchUp(b *testing.B) {
	const lines = 20000
	row := "1234\t20260102T030405.678+0100\tINFO\tQS-NODE1\tSystem.Scheduler.Scheduler.Master.MasterCoordinator\t42\t" +
		"6f1c2d54-0b9e-4a47-9a5e-2b0c1f7e1a02\tINTERNAL\\sa_scheduler\tNo slave scheduler reported in the last interval; " +
		"checking the slave list again\t\t\t\t\t\t\t\t\t\t\t\t\t"
	row = row + strings.Repeat("x", 270-len(row)-2) + "\r\n"
	path := filepath.Join(b.TempDir(), "QS-NODE1_System_Scheduler.txt")
	if err := os.WriteFile(path, []byte(strings.Repeat(row, lines)), 0o644); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name    string
		backlog int64
	}{
		{"own", 0},
		{"nxadm", math.MaxInt64},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(row) * lines))
			b.ReportAllocs()
			for b.Loop() {
				tl, err := Start(context.Background(), Config{
					Paths: []string{path}, StartAt: StartAtBeginning, Once: true, ownReadBacklog: bc.backlog,
				})
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for ev := range tl.Events() {
					if ev.Kind == Line {
						n++
					}
				}
				if n != lines {
					b.Fatal(fmt.Sprintf("%d lines, want %d", n, lines))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*lines), "ns/line")
		})
	}
}
