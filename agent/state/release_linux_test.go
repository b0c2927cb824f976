package state

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/plugins/sdk"
)

// mappedRSS is how much of the file at path the process has resident through
// its memory maps, from /proc/self/smaps.
func mappedRSS(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rss int64
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		// A mapping's header: "start-end perms offset dev inode [path]".
		if fields := strings.Fields(line); len(fields) >= 5 && strings.Contains(fields[0], "-") {
			in = len(fields) >= 6 && fields[len(fields)-1] == path
			continue
		}
		if v, ok := strings.CutPrefix(line, "Rss:"); ok && in {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			rss += kb << 10
		}
	}
	return rss
}

// After a commit, the state file's pages are no longer resident in the
// process, however many alerts it holds; what the next transaction reads is
// mapped again, and reads back what was written.
func TestCommitReleasesMappedPages(t *testing.T) {
	defer func(d time.Duration) { releaseEvery = d }(releaseEvery)
	releaseEvery = 0
	path := filepath.Join(t.TempDir(), "herald.db")
	s := openTest(t, path)
	for batch := range 40 {
		mustUpdate(t, s, func(tx *Tx) error {
			for i := range 500 {
				key := fmt.Sprintf("task-%d-%d", batch, i)
				if err := tx.PutAlert(Alert{Rule: "r", Key: key, Status: sdk.StatusFiring, Title: incompressible(key, 300)}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	var n int
	_ = s.View(func(tx *Tx) error { n = len(tx.Alerts(nil)); return nil })
	if n != 20000 {
		t.Fatalf("%d alerts read back, want 20000", n)
	}
	// Reading every alert mapped every page; the next commit releases them.
	if mappedRSS(t, path) == 0 {
		t.Fatal("nothing of the file is resident after reading every alert: mappedRSS does not see the map")
	}
	mustUpdate(t, s, func(tx *Tx) error { return tx.SetPosition("f", Position{Offset: 1}) })
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	rss := mappedRSS(t, path)
	if info.Size() < 4<<20 || rss > info.Size()/8 {
		t.Fatalf("state file of %d bytes, %d of them resident after a commit; want a file of 4 MiB or more and at most an eighth resident", info.Size(), rss)
	}
	_ = s.View(func(tx *Tx) error {
		if a, ok := tx.Alert("r", "task-39-499"); !ok || a.Title != incompressible("task-39-499", 300) {
			t.Errorf("alert after release: %+v, %v", a, ok)
		}
		return nil
	})
}

// A commit soon after a release does not release again at once; the pages it
// left mapped are released releaseEvery later, when the store is quiet.
func TestQuietStoreReleasesLater(t *testing.T) {
	defer func(d time.Duration) { releaseEvery = d }(releaseEvery)
	releaseEvery = time.Minute
	path := filepath.Join(t.TempDir(), "herald.db")
	s := openTest(t, path)
	released := make(chan struct{}, 10)
	s.wmu.Lock()
	s.released = func() { released <- struct{}{} }
	s.wmu.Unlock()
	mustUpdate(t, s, func(tx *Tx) error {
		for i := range 10000 {
			if err := tx.PutAlert(Alert{Rule: "r", Key: fmt.Sprint("task-", i), Status: sdk.StatusFiring, Title: incompressible(fmt.Sprint("task-", i), 300)}); err != nil {
				return err
			}
		}
		return nil
	})
	<-released // the first commit releases at once
	_ = s.View(func(tx *Tx) error { tx.Alerts(nil); return nil })
	mustUpdate(t, s, func(tx *Tx) error { return tx.SetPosition("f", Position{Offset: 1}) })
	s.wmu.Lock()
	timer := s.releaseLater
	s.wmu.Unlock()
	if timer == nil {
		t.Fatal("a commit within releaseEvery of a release scheduled no later release")
	}
	if rss := mappedRSS(t, path); rss < 1<<20 {
		t.Fatalf("only %d bytes resident after reading every alert: the commit released them early", rss)
	}
	timer.Reset(0) // as if releaseEvery had passed
	<-released
	if rss := mappedRSS(t, path); rss > 256<<10 {
		t.Fatalf("%d bytes of the state file still resident after the later release", rss)
	}
	// Close stops a pending release; the timer must not touch a closed file.
	mustUpdate(t, s, func(tx *Tx) error { return tx.SetPosition("f", Position{Offset: 2}) })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s.wmu.Lock()
	pending := s.releaseLater
	s.wmu.Unlock()
	if pending != nil {
		t.Fatal("Close left a release pending")
	}
}
