package tail

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heraldhq/herald/parsers"
)

// BenchmarkCatchUp reads a backlog of scheduler-like lines (270 bytes, CRLF)
// to its end, in Once mode, the way a restarted agent catches up: "own" with
// the tailer's buffered reader (the default for a large backlog), "nxadm"
// through nxadm/tail. The consumer does nothing with a line ("idle"), or
// spends a few hundred nanoseconds on it ("busy"), as decoding and rules do,
// so that the reader waits for it. "norelease" does not hand batches back
// for reuse. One op is the whole file; ns/line is per line.
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
		name      string
		backlog   int64
		busy      bool
		norelease bool
	}{
		{"own/idle", 0, false, false},
		{"own/busy", 0, true, false},
		{"own/idle/norelease", 0, false, true},
		{"nxadm/idle", math.MaxInt64, false, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(row) * lines))
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				tl, err := Start(context.Background(), Config{
					Paths: []string{path}, StartAt: StartAtBeginning, Once: true, ownReadBacklog: bc.backlog,
				})
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for evs := range tl.Events() {
					for i := range evs {
						if evs[i].Kind == Line {
							n += consume(bc.busy, &evs[i])
						}
					}
					if !bc.norelease {
						tl.Release(evs)
					}
				}
				if n < lines {
					b.Fatal(fmt.Sprintf("%d lines, want %d", n, lines))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*lines), "ns/line")
			if cpu > 0 {
				// CPU time of the whole process (tailer and consumer) is
				// steadier than wall time on a shared machine.
				b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(b.N*lines), "cpu-ns/line")
			}
		})
	}
}

// consume stands for what a consumer does with a line: nothing, or (busy)
// a few hundred nanoseconds of work on its text. It returns at least 1.
func consume(busy bool, e *Event) int {
	n := 1
	if busy {
		for range 30 {
			n += strings.Count(e.Line.Text, "\t")
		}
	}
	return n
}

// BenchmarkHandOff measures handing lines from a reading goroutine to a
// consumer, apart from reading them: one Event per channel operation, as
// Events did before issue #7, against batches of 64 and 256 events per
// operation, as Events does now (BatchEvents), with as many events in
// flight (1024). The consumer does nothing ("idle") or spends a few hundred
// nanoseconds per line, as decoding and rules do ("busy"), so the channel
// runs full and every receive wakes the sender. The batches here are
// allocated, not reused.
func BenchmarkHandOff(b *testing.B) {
	const lines = 20000
	texts := make([]string, lines)
	for i := range texts {
		texts[i] = strings.Repeat("x", 268)
	}
	ev := func(i int) Event {
		return Event{Kind: Line, Key: "1:2", Path: "p", Line: parsers.Line{Text: texts[i], Offset: int64(i)}, Fingerprint: "1024:00"}
	}
	for _, busy := range []bool{false, true} {
		name := map[bool]string{false: "idle", true: "busy"}[busy]
		for _, batch := range []int{1, 64, 256} {
			b.Run(fmt.Sprintf("%s/batch=%d", name, batch), func(b *testing.B) {
				cpu := cpuTime()
				for b.Loop() {
					n := 0
					if batch == 1 {
						ch := make(chan Event, batchBuffer*BatchEvents)
						go func() {
							for i := range texts {
								ch <- ev(i)
							}
							close(ch)
						}()
						for e := range ch {
							n += consume(busy, &e)
						}
					} else {
						// The same number of events in flight.
						ch := make(chan []Event, batchBuffer*BatchEvents/batch)
						go func() {
							buf := make([]Event, 0, batch)
							for i := range texts {
								if buf = append(buf, ev(i)); len(buf) == batch {
									ch <- buf
									buf = make([]Event, 0, batch)
								}
							}
							if len(buf) > 0 {
								ch <- buf
							}
							close(ch)
						}()
						for evs := range ch {
							for i := range evs {
								n += consume(busy, &evs[i])
							}
						}
					}
					if n < lines {
						b.Fatalf("%d lines, want %d", n, lines)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*lines), "ns/line")
				if cpu > 0 {
					b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(b.N*lines), "cpu-ns/line")
				}
			})
		}
	}
}
