package state

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/plugins/sdk"
)

// benchEvent is a firing event shaped like the qliksense pack's
// qlik-reload-failed: nine fields, a message of a few hundred bytes.
func benchEvent(n int) sdk.Event {
	key := fmt.Sprintf("5c7f2f5a-6d2b-4a39-a8a5-%012d", n)
	return sdk.Event{
		ID: key + "-fire", Rule: "qlik-reload-failed", Status: sdk.StatusFiring, Key: key, Severity: "critical",
		Title:   "Qlik Sense reload failed: Reload Sales dashboard",
		Message: strings.Repeat("Reload task failed for app. ", 8),
		Fields: map[string]string{
			"TaskName": "Reload Sales dashboard", "TaskId": key, "AppName": "Sales dashboard",
			"AppId": "5c7f2f5a-6d2b-4a39-a8a5-2f0b0e1f5d3c", "ExecutionId": "0f7b6f8e-3a55-4d8f-9e0c-2b1f9d3c7a11",
			"Hostname": "QS-NODE1", "User": "INTERNAL\\sa_scheduler", "ScriptLogErrors": "", "ScriptLogTail": "",
		},
		Time: t0, Host: "QS-NODE1",
	}
}

// BenchmarkOutbox10k is the outbox's share of delivering 10,000 alerts, as
// the agent does it: the pipeline enqueues 100 events per transaction, and
// after each commit the dispatcher reads the batch (Pending) and records it
// as accepted (Complete). fsync is off, so the figure is CPU, not the disk.
//
// The "pending" sub-benchmark times only the Pending calls: the dispatcher's
// read of entries the agent has just written.
func BenchmarkOutbox10k(b *testing.B) {
	events := make([]sdk.Event, 10000)
	for i := range events {
		events[i] = benchEvent(i)
	}
	for _, part := range []string{"all", "pending"} {
		b.Run(part, func(b *testing.B) {
			s := openTest(b, "")
			s.db.NoSync = true
			b.ReportAllocs()
			for b.Loop() {
				for i := 0; i < len(events); i += 100 {
					if part == "pending" {
						b.StopTimer()
					}
					err := s.Update(func(tx *Tx) error {
						for _, ev := range events[i : i+100] {
							if _, err := tx.Enqueue("pager", ev); err != nil {
								return err
							}
						}
						return nil
					})
					if err != nil {
						b.Fatal(err)
					}
					if part == "pending" {
						b.StartTimer()
					}
					pending, err := s.Pending("pager", 100)
					if err != nil || len(pending) != 100 || pending[0].Event.ID != events[i].ID {
						b.Fatalf("Pending: %d, %v", len(pending), err)
					}
					if part == "pending" {
						b.StopTimer()
					}
					done := make([]Done, len(pending))
					for k, e := range pending {
						done[k] = Done{e.Seq, sdk.Accept("")}
					}
					if err := s.Complete("pager", done); err != nil {
						b.Fatal(err)
					}
					if part == "pending" {
						b.StartTimer()
					}
				}
			}
		})
	}
}

// BenchmarkCacheMemory reports the heap one cached outbox entry holds
// (B/entry): a firing event like the qliksense pack's, enqueued by itself as
// the pipeline does, measured after a garbage collection against a store
// without a cache; and what the cache counts for it against its bound
// (counted-B/entry). DefaultCacheBytes is chosen with these figures.
func BenchmarkCacheMemory(b *testing.B) {
	const n = 1000
	var estimate float64
	heapWith := func(limit int) uint64 {
		s := openCache(b, "", limit, func() time.Time { return t0 })
		s.db.NoSync = true
		for i := 0; i < n; i += 100 {
			err := s.Update(func(tx *Tx) error {
				for j := range 100 {
					if _, err := tx.Enqueue("pager", benchEvent(i+j)); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		got, bytes := s.cache.len("pager")
		if limit > 0 && got != n {
			b.Fatalf("%d entries cached, want %d", got, n)
		}
		estimate = float64(bytes) / n
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		return m.HeapAlloc
	}
	var perEntry float64
	for b.Loop() {
		without := heapWith(-1)
		with := heapWith(1 << 30)
		perEntry = (float64(with) - float64(without)) / n
	}
	b.ReportMetric(perEntry, "B/entry")
	b.ReportMetric(estimate, "counted-B/entry")
}

// BenchmarkOutboxBacklog is a sink that is down while 10,000 alerts are
// queued, 100 per transaction: the time, the pages written per entry
// (pages/entry), and the file's size at the end (file-MB), which the agent
// maps into memory.
func BenchmarkOutboxBacklog(b *testing.B) {
	events := make([]sdk.Event, 10000)
	for i := range events {
		events[i] = benchEvent(i)
	}
	var pages, size float64
	for b.Loop() {
		b.StopTimer()
		s := openTest(b, "")
		s.db.NoSync = true
		st := s.db.Stats()
		before := st.TxStats.GetWrite()
		b.StartTimer()
		for i := 0; i < len(events); i += 100 {
			err := s.Update(func(tx *Tx) error {
				for _, ev := range events[i : i+100] {
					if _, err := tx.Enqueue("pager", ev); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		st = s.db.Stats()
		pages = float64(st.TxStats.GetWrite()-before) / float64(len(events))
		_ = s.View(func(tx *Tx) error { size = float64(tx.tx.Size()) / (1 << 20); return nil })
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(pages, "pages/entry")
	b.ReportMetric(size, "file-MB")
}
