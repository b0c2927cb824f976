package state

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/plugins/sdk"
)

// churnAlert is the n-th alert of the churn tests: a qliksense-like failure
// keyed by a task id in random order.
func churnAlert(n int) Alert {
	key := fmt.Sprintf("%016x-task", uint64(n)*0x9E3779B97F4A7C15)
	return Alert{Rule: "qlik-reload-failed", Key: key, Status: sdk.StatusFiring, Title: "Qlik Sense reload failed: " + key,
		Severity: "critical", Fields: map[string]string{"TaskName": "Reload Sales dashboard", "TaskId": key, "AppName": "Sales dashboard"},
		Message: strings.Repeat("Reload task failed for app. ", 8), FirstSeen: t0, LastSeen: t0, Count: 1, Instance: 1, LastFired: t0}
}

// churnRound opens count alerts from first, delivers their events, resolves
// them and prunes them with their dedup ids: a day of heavy churn in small.
func churnRound(t testing.TB, s *Store, first, count int) {
	t.Helper()
	for i := first; i < first+count; i += 100 {
		err := s.Update(func(tx *Tx) error {
			for n := i; n < i+100; n++ {
				a := churnAlert(n)
				if err := tx.MarkSeen("dedup\x00"+a.Key, t0); err != nil {
					return err
				}
				if err := tx.PutAlert(a); err != nil {
					return err
				}
				if _, err := tx.Enqueue("pager", sdk.Event{ID: a.Key + "-fire", Rule: a.Rule, Key: a.Key, Status: a.Status,
					Title: a.Title, Message: a.Message, Fields: a.Fields, Time: t0}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		pending, err := s.Pending("pager", 0)
		if err != nil {
			t.Fatal(err)
		}
		done := make([]Done, len(pending))
		for k, e := range pending {
			done[k] = Done{e.Seq, sdk.Accept("")}
		}
		if err := s.Complete("pager", done); err != nil {
			t.Fatal(err)
		}
	}
	for i := first; i < first+count; i += 100 {
		err := s.Update(func(tx *Tx) error {
			for n := i; n < i+100; n++ {
				a := churnAlert(n)
				a.Status, a.ResolvedAt = sdk.StatusResolved, t0
				if err := tx.PutAlert(a); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	err := s.Update(func(tx *Tx) error {
		if _, err := tx.PruneResolved(t0.Add(time.Second)); err != nil {
			return err
		}
		_, err := tx.PruneSeen(t0.Add(time.Second))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestChurnFileBounded opens, delivers, resolves and prunes 2,000 alerts a
// round, many rounds: freed pages are reused, so the file (and the pages it
// uses) stop growing once the first rounds have sized it.
func TestChurnFileBounded(t *testing.T) {
	s := openTest(t, "")
	s.db.NoSync = true // the pages written are the same; the disk is not under test
	const perRound, rounds, warmup = 2000, 15, 3
	var warm int
	for r := range rounds {
		churnRound(t, s, r*perRound, perRound)
		size := int(fileSize(t, s.path))
		if r == warmup-1 {
			warm = size
		}
		if r >= warmup && size > warm {
			t.Fatalf("after round %d of %d alerts opened and pruned the file is %d bytes, up from %d after round %d: freed pages are not reused",
				r+1, perRound, size, warm, warmup)
		}
	}
	err := s.View(func(tx *Tx) error {
		if n := len(tx.Alerts(nil)); n != 0 {
			return fmt.Errorf("%d alerts left after pruning", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// BenchmarkResolve100 is the state work of resolving 100 open alerts among
// 10,000 in one fsynced transaction, as the pipeline does when the failed
// tasks next succeed: pages/alert is how many pages the commit writes per
// alert. Each alert change copies the page it lands on (random, by its key).
func BenchmarkResolve100(b *testing.B) {
	s := openTest(b, "")
	const open = 10_000
	s.db.NoSync = true
	for i := 0; i < open; i += 1000 {
		err := s.Update(func(tx *Tx) error {
			for n := i; n < i+1000; n++ {
				if err := tx.PutAlert(churnAlert(n)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	s.db.NoSync = false
	st := s.db.Stats()
	before := st.TxStats.GetWrite()
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		err := s.Update(func(tx *Tx) error {
			for range 100 {
				a, ok := tx.Alert("qlik-reload-failed", churnAlert(n%open).Key)
				if !ok {
					return fmt.Errorf("alert %d missing", n%open)
				}
				a.Status, a.ResolvedAt, a.Count = sdk.StatusResolved, t0, a.Count+1
				if err := tx.PutAlert(a); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	st = s.db.Stats()
	b.ReportMetric(float64(st.TxStats.GetWrite()-before)/float64(n), "pages/alert")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(n), "µs/alert")
}

func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Size()
}
