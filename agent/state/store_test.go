package state

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/heraldhq/herald/plugins/sdk"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func openTest(t testing.TB, path string) *Store {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "state", "herald.db")
	}
	s, err := Open(path, Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func event(id, rule, key string) sdk.Event {
	return sdk.Event{ID: id, Rule: rule, Key: key, Status: sdk.StatusFiring, Title: "reload failed " + key, Time: t0}
}

func mustUpdate(t *testing.T, s *Store, fn func(tx *Tx) error) {
	t.Helper()
	if err := s.Update(fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func depth(t testing.TB, s *Store, sink string) int {
	t.Helper()
	n, err := s.Depth(sink)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func pendingIDs(t *testing.T, s *Store, sink string) []string {
	t.Helper()
	es, err := s.Pending(sink, 0)
	if err != nil {
		t.Fatalf("Pending: %v", err)
	}
	var ids []string
	for _, e := range es {
		ids = append(ids, e.Event.ID)
	}
	return ids
}

func TestReopenKeepsEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nested", "dir", "herald.db")
	s := openTest(t, path)
	pos := Position{Offset: 4711, Fingerprint: "abc", Path: `C:\x.txt`, Updated: t0}
	alert := Alert{
		Rule: "reload-failed", Key: "task-1", Status: sdk.StatusFiring, Title: "t", Severity: "critical",
		Fields: map[string]string{"TaskName": "Nightly"}, FirstSeen: t0, LastSeen: t0, Count: 2,
		Refs: map[string]string{"pager": "ev-1"}, LastFired: t0, Suppressed: 3, SuppressedSince: t0,
	}
	mustUpdate(t, s, func(tx *Tx) error {
		if err := tx.SetPosition("file-1", pos); err != nil {
			return err
		}
		if err := tx.PutAlert(alert); err != nil {
			return err
		}
		if err := tx.MarkSeen("ev-a", t0); err != nil {
			return err
		}
		for _, id := range []string{"a", "b"} {
			if _, err := tx.Enqueue("pager", event(id, "reload-failed", "task-1")); err != nil {
				return err
			}
		}
		return nil
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTest(t, path)
	err := s.View(func(tx *Tx) error {
		got, ok := tx.Position("file-1")
		if !ok || got != pos {
			t.Errorf("Position = %+v, %v; want %+v", got, ok, pos)
		}
		if _, ok := tx.Position("file-2"); ok {
			t.Error("Position of an unknown key found")
		}
		a, ok := tx.Alert("reload-failed", "task-1")
		if !ok || a.Refs["pager"] != "ev-1" || a.Fields["TaskName"] != "Nightly" || a.Count != 2 || !a.LastFired.Equal(t0) {
			t.Errorf("Alert = %+v, %v", a, ok)
		}
		if !tx.Seen("ev-a") || tx.Seen("ev-b") {
			t.Error("Seen does not survive reopening")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := pendingIDs(t, s, "pager"); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("pending after reopen = %v", got)
	}
	if d := depth(t, s, "pager"); d != 2 {
		t.Errorf("Depth after reopen = %d, want 2", d)
	}
	// Sequences continue after a reopen rather than restarting.
	mustUpdate(t, s, func(tx *Tx) error {
		seq, err := tx.Enqueue("pager", event("c", "r", "k"))
		if seq != 3 {
			t.Errorf("seq after reopen = %d, want 3", seq)
		}
		return err
	})
}

func TestUpdateErrorRollsBackEverything(t *testing.T) {
	s := openTest(t, "")
	boom := errors.New("parser exploded")
	err := s.Update(func(tx *Tx) error {
		if err := tx.SetPosition("file-1", Position{Offset: 10}); err != nil {
			return err
		}
		if _, err := tx.Enqueue("pager", event("a", "r", "k")); err != nil {
			return err
		}
		if err := tx.MarkSeen("a", t0); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || strings.Contains(err.Error(), "commit") {
		t.Fatalf("Update error = %v, want the fn's error unwrapped", err)
	}
	_ = s.View(func(tx *Tx) error {
		if _, ok := tx.Position("file-1"); ok {
			t.Error("position survived a failed Update")
		}
		if tx.Seen("a") {
			t.Error("seen id survived a failed Update")
		}
		return nil
	})
	if got := pendingIDs(t, s, "pager"); len(got) != 0 {
		t.Errorf("events survived a failed Update: %v", got)
	}
	if d := depth(t, s, "pager"); d != 0 {
		t.Errorf("Depth = %d after a failed Update", d)
	}
}

// A value that does not decode reads as absent, and the transaction fails
// rather than commit what was decided on the misread.
func TestUndecodableValueFailsTheTransaction(t *testing.T) {
	s := openTest(t, "")
	mustUpdate(t, s, func(tx *Tx) error {
		return tx.PutAlert(Alert{Rule: "failed", Key: "task-1", Status: sdk.StatusFiring})
	})
	// Damage the record's version byte, as a bad sector might.
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAlerts)
		k, v := b.Cursor().First()
		if k == nil {
			t.Fatal("no alert record")
		}
		bad := bytes.Clone(v)
		bad[0] = 0xee
		return b.Put(bytes.Clone(k), bad)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(func(tx *Tx) error {
		if _, ok := tx.Alert("failed", "task-1"); ok {
			t.Error("undecodable alert read as present")
		}
		_, err := tx.Enqueue("pager", event("a", "failed", "task-1"))
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "state: alert 1:") || !strings.Contains(err.Error(), "version") {
		t.Fatalf("Update error = %v, want one naming alert 1 and its version", err)
	}
	if got := pendingIDs(t, s, "pager"); len(got) != 0 {
		t.Errorf("enqueue committed despite the misread: %v", got)
	}
	if err := s.View(func(tx *Tx) error { tx.Alerts(nil); return nil }); err == nil {
		t.Error("View hid the undecodable value")
	}
}

// A full disk shows up as a failing commit. bbolt's MaxSize fails the commit the
// same way growing a file on a full disk does.
func TestCommitFailureIsReturnedAndKeepsCommittedData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "herald.db")
	s, err := Open(path, Options{MaxSize: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, s, func(tx *Tx) error {
		_, err := tx.Enqueue("pager", event("kept", "r", "k"))
		return err
	})
	err = s.Update(func(tx *Tx) error {
		for i := range 100 {
			ev := event(fmt.Sprint("big-", i), "r", "k")
			ev.Message = incompressible(ev.ID, 8<<10)
			if _, err := tx.Enqueue("pager", ev); err != nil {
				return err
			}
		}
		return tx.SetPosition("file-1", Position{Offset: 99})
	})
	if err == nil || !strings.HasPrefix(err.Error(), "state: commit: ") {
		t.Fatalf("Update error = %v, want a state: commit error", err)
	}
	if d := depth(t, s, "pager"); d != 1 {
		t.Errorf("Depth = %d after a failed commit, want 1", d)
	}
	// The store stays usable and consistent.
	mustUpdate(t, s, func(tx *Tx) error { return tx.SetPosition("file-1", Position{Offset: 5}) })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, path)
	if got := pendingIDs(t, s, "pager"); !slices.Equal(got, []string{"kept"}) {
		t.Errorf("pending after failed commit and reopen = %v, want [kept]", got)
	}
	_ = s.View(func(tx *Tx) error {
		if p, _ := tx.Position("file-1"); p.Offset != 5 {
			t.Errorf("position = %d, want 5", p.Offset)
		}
		return nil
	})
}

// bbolt locks with flock (LockFileEx on Windows), which is per open file, so two
// Opens in one process contend like two processes do.
func TestOpenWhileInUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "herald.db")
	openTest(t, path)
	_, err := Open(path, Options{Timeout: 50 * time.Millisecond})
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("second Open error = %v, want ErrInUse", err)
	}
	want := fmt.Sprintf("state file %s is in use by another herald process (lock wait 50ms)", path)
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
}

// corruptTestDir is t.TempDir, except on Windows: when bbolt panics half way
// through opening a damaged file, the file stays open and mapped until the
// process ends (the agent stops on that error), and Windows cannot delete a
// file in that state. There the directory is removed if it can be, and left
// in the temp directory otherwise.
func corruptTestDir(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "windows" {
		return t.TempDir()
	}
	dir, err := os.MkdirTemp("", "herald-state-corrupt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Logf("leaving %s behind: %v", dir, err)
		}
	})
	return dir
}

func TestOpenCorruptFile(t *testing.T) {
	// A real state file with some content, to damage.
	good := filepath.Join(t.TempDir(), "good.db")
	s, err := Open(good, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, s, func(tx *Tx) error {
		for i := range 500 {
			ev := event(fmt.Sprint(i), "r", fmt.Sprint("k", i))
			ev.Message = strings.Repeat("m", 200)
			if _, err := tx.Enqueue("pager", ev); err != nil {
				return err
			}
		}
		return nil
	})
	// A few small commits reuse freed pages, moving the freelist page below
	// the high-water mark as in a long-running agent.
	for i := range 5 {
		mustUpdate(t, s, func(tx *Tx) error { return tx.SetPosition("f", Position{Offset: int64(i)}) })
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	goodBytes, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	pageSize := os.Getpagesize()
	if len(goodBytes) < 8*pageSize {
		t.Fatalf("test file too small to damage: %d bytes", len(goodBytes))
	}
	lay := pageLayout(t, good)
	t.Logf("layout %+v, file %d pages", lay, len(goodBytes)/pageSize)
	if lay.freelist+1 >= lay.hwm || lay.leaf == 0 {
		t.Fatalf("test needs a leaf page and the freelist page below the high-water mark: %+v", lay)
	}

	tests := []struct {
		name    string
		content []byte
	}{
		{"garbage", []byte(strings.Repeat("this is not a bbolt file\n", 1000))},
		{"short garbage", []byte("garbage")},
		{"truncated to a partial page", goodBytes[:1000]},
		{"truncated to the meta pages", goodBytes[:2*pageSize]},
		// bbolt grows the file ahead of its pages: cut the used part in half.
		{"truncated to half", goodBytes[:lay.hwm/2*pageSize]},
		// Damage that leaves the meta and freelist pages intact, so bbolt opens
		// the file and only our checks find the problem.
		{"truncated after the freelist", goodBytes[:(lay.freelist+1)*pageSize]},
		{"one leaf page overwritten", func() []byte {
			b := slices.Clone(goodBytes)
			for i := lay.leaf * pageSize; i < (lay.leaf+1)*pageSize; i++ {
				b[i] = 0xA5
			}
			return b
		}()},
		{"one leaf page zeroed", func() []byte {
			b := slices.Clone(goodBytes)
			clear(b[lay.leaf*pageSize : (lay.leaf+1)*pageSize])
			return b
		}()},
		{"data pages overwritten", func() []byte {
			b := slices.Clone(goodBytes)
			for i := 4 * pageSize; i < len(b); i++ {
				b[i] = 0xA5
			}
			return b
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(corruptTestDir(t), "herald.db")
			if err := os.WriteFile(path, tt.content, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Open(path, Options{})
			if err == nil {
				_ = s.Close()
				t.Fatal("Open of a damaged file succeeded")
			}
			t.Log(err)
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("error %v does not wrap ErrCorrupt", err)
			}
			for _, want := range []string{path, "move the file aside", "undelivered events are lost", "restore a backup"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

type layout struct{ freelist, leaf, hwm int }

// pageLayout finds the freelist page and the last leaf page of a bbolt file.
func pageLayout(t *testing.T, path string) layout {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var l layout
	err = db.View(func(tx *bolt.Tx) error {
		l.hwm = int(tx.Size()) / db.Info().PageSize
		for id := 2; id < l.hwm; id++ {
			info, err := tx.Page(id)
			if err != nil {
				return err
			}
			switch info.Type {
			case "freelist":
				l.freelist = id
			case "leaf":
				if l.freelist == 0 || l.leaf == 0 {
					l.leaf = id
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestOpenNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "herald.db")
	openTest(t, path).Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keySchema, u64(SchemaVersion+1)) })
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	_, err = Open(path, Options{})
	want := fmt.Sprintf("schema version %d and this build understands up to %d", SchemaVersion+1, SchemaVersion)
	if !errors.Is(err, ErrNewerSchema) || !strings.Contains(err.Error(), want) {
		t.Fatalf("Open error = %v, want ErrNewerSchema saying %q", err, want)
	}
}

func TestOpenUnwritableDirectory(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(filepath.Join(blocker, "herald.db"), Options{})
	if err == nil || errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), blocker) {
		t.Fatalf("Open under a file = %v, want a plain error naming the path", err)
	}
}

func TestAlertsByKey(t *testing.T) {
	s := openTest(t, "")
	alerts := []Alert{
		{Rule: "failed", Key: "ab", Status: sdk.StatusFiring},
		{Rule: "aborted", Key: "ab", Status: sdk.StatusResolved, ResolvedAt: t0},
		{Rule: "failed", Key: "abc", Status: sdk.StatusFiring},
		{Rule: "b", Key: "a", Status: sdk.StatusFiring}, // "a"+"b" must not look like key "ab"
	}
	mustUpdate(t, s, func(tx *Tx) error {
		for _, a := range alerts {
			if err := tx.PutAlert(a); err != nil {
				return err
			}
		}
		return nil
	})
	byKey := func(key string) []string {
		var rules []string
		_ = s.View(func(tx *Tx) error {
			for _, a := range tx.AlertsByKey(key) {
				if a.Key != key {
					t.Errorf("AlertsByKey(%q) returned key %q", key, a.Key)
				}
				rules = append(rules, a.Rule)
			}
			return nil
		})
		return rules
	}
	if got := byKey("ab"); !slices.Equal(got, []string{"aborted", "failed"}) {
		t.Errorf("AlertsByKey(ab) = %v", got)
	}
	if got := byKey("a"); !slices.Equal(got, []string{"b"}) {
		t.Errorf("AlertsByKey(a) = %v", got)
	}
	if got := byKey("zzz"); len(got) != 0 {
		t.Errorf("AlertsByKey(zzz) = %v", got)
	}

	mustUpdate(t, s, func(tx *Tx) error {
		n, err := tx.PruneResolved(t0.Add(time.Second))
		if n != 1 {
			t.Errorf("PruneResolved removed %d, want 1", n)
		}
		return err
	})
	if got := byKey("ab"); !slices.Equal(got, []string{"failed"}) {
		t.Errorf("AlertsByKey(ab) after prune = %v", got)
	}
	_ = s.View(func(tx *Tx) error {
		var got []string
		for _, a := range tx.Alerts(func(a Alert) bool { return a.Status == sdk.StatusFiring }) {
			got = append(got, a.Rule+"/"+a.Key)
		}
		if want := []string{"b/a", "failed/ab", "failed/abc"}; !slices.Equal(got, want) {
			t.Errorf("Alerts(firing) = %v; want %v", got, want)
		}
		return nil
	})
}

// TestAlertWrittenAndReadInOneTx reads alerts back in the transaction that
// wrote them (they are served without decoding): what a caller does to the
// maps of an alert it put or got must not change what is stored, a deleted
// alert is gone, and AlertRef gives a sink's reference only for the alert's
// current instance.
func TestAlertWrittenAndReadInOneTx(t *testing.T) {
	s := openTest(t, "")
	mustUpdate(t, s, func(tx *Tx) error {
		a := Alert{Rule: "failed", Key: "t1", Status: sdk.StatusFiring, Instance: 2,
			Fields: map[string]string{"TaskName": "Nightly"}, Refs: map[string]string{"pager": "ev-1"}}
		if err := tx.PutAlert(a); err != nil {
			return err
		}
		a.Fields["TaskName"] = "changed after PutAlert"
		got, ok := tx.Alert("failed", "t1")
		if !ok || got.Fields["TaskName"] != "Nightly" || got.Refs["pager"] != "ev-1" {
			t.Errorf("Alert after PutAlert = %+v, %v", got, ok)
		}
		got.Refs["pager"] = "changed after Alert"
		if ref := tx.AlertRef("failed", "t1", "pager", 2); ref != "ev-1" {
			t.Errorf("AlertRef(instance 2) = %q, want ev-1", ref)
		}
		if ref := tx.AlertRef("failed", "t1", "pager", 1); ref != "" {
			t.Errorf("AlertRef(instance 1) = %q, want none: another instance", ref)
		}
		if ref := tx.AlertRef("failed", "t1", "chat", 2); ref != "" {
			t.Errorf("AlertRef(chat) = %q, want none", ref)
		}
		if err := tx.PutAlert(Alert{Rule: "failed", Key: "t2", Status: sdk.StatusFiring}); err != nil {
			return err
		}
		if err := tx.DeleteAlert("failed", "t2"); err != nil {
			return err
		}
		if a, ok := tx.Alert("failed", "t2"); ok {
			t.Errorf("Alert after DeleteAlert = %+v", a)
		}
		return nil
	})
	mustUpdate(t, s, func(tx *Tx) error {
		// Without references, and with a field that looks like them.
		if err := tx.PutAlert(Alert{Rule: "failed", Key: "t3", Instance: 1, Fields: map[string]string{"refs": `"refs":{"pager":"x"}`}}); err != nil {
			return err
		}
		return tx.PutAlert(Alert{Rule: "failed", Key: "t4", Instance: 1, Fields: map[string]string{"TaskName": "Nightly"}})
	})
	_ = s.View(func(tx *Tx) error {
		got, ok := tx.Alert("failed", "t1")
		if !ok || got.Fields["TaskName"] != "Nightly" || got.Refs["pager"] != "ev-1" {
			t.Errorf("stored alert = %+v, %v", got, ok)
		}
		for _, key := range []string{"t3", "t4", "no-such-alert"} {
			if ref := tx.AlertRef("failed", key, "pager", 1); ref != "" {
				t.Errorf("AlertRef(%s) = %q, want none", key, ref)
			}
		}
		if ref := tx.AlertRef("failed", "t1", "pager", 2); ref != "ev-1" {
			t.Errorf("AlertRef from the file = %q, want ev-1", ref)
		}
		if _, ok := tx.Alert("failed", "t2"); ok {
			t.Error("deleted alert is stored")
		}
		return nil
	})
}

func TestPrune(t *testing.T) {
	s := openTest(t, "")
	mustUpdate(t, s, func(tx *Tx) error {
		for i, at := range []time.Time{t0.Add(-time.Hour), t0.Add(time.Hour)} {
			if err := tx.SetPosition(fmt.Sprint("file-", i), Position{Offset: 1, Updated: at}); err != nil {
				return err
			}
			if err := tx.MarkSeen(fmt.Sprint("id-", i), at); err != nil {
				return err
			}
		}
		return nil
	})
	mustUpdate(t, s, func(tx *Tx) error {
		if n, err := tx.PrunePositions(t0); n != 1 || err != nil {
			t.Errorf("PrunePositions = %d, %v; want 1", n, err)
		}
		if n, err := tx.PruneSeen(t0); n != 1 || err != nil {
			t.Errorf("PruneSeen = %d, %v; want 1", n, err)
		}
		return nil
	})
	_ = s.View(func(tx *Tx) error {
		ps := tx.Positions()
		if _, ok := ps["file-1"]; len(ps) != 1 || !ok {
			t.Errorf("positions after prune = %v", ps)
		}
		if tx.Seen("id-0") || !tx.Seen("id-1") {
			t.Error("PruneSeen removed the wrong ids")
		}
		return nil
	})
}

func TestComplete(t *testing.T) {
	s := openTest(t, "")
	var seqs []uint64
	mustUpdate(t, s, func(tx *Tx) error {
		if err := tx.PutAlert(Alert{Rule: "failed", Key: "task-1", Status: sdk.StatusFiring}); err != nil {
			return err
		}
		for _, ev := range []sdk.Event{
			event("accepted", "failed", "task-1"),
			event("accepted-no-alert", "other", "task-2"),
			event("rejected", "failed", "task-3"),
			event("retryable", "failed", "task-4"),
		} {
			seq, err := tx.Enqueue("pager", ev)
			if err != nil {
				return err
			}
			seqs = append(seqs, seq)
		}
		return nil
	})
	err := s.Complete("pager", []Done{
		{seqs[0], sdk.Accept("signl4-event-1")},
		{seqs[1], sdk.Accept("ref-without-alert")},
		{seqs[2], sdk.Reject("400 Bad Request: missing title")},
		{seqs[3], sdk.Retry("503 Service Unavailable", time.Time{})},
		{999, sdk.Accept("")}, // dropped meanwhile: skipped
	})
	if err != nil {
		t.Fatal(err)
	}

	pending, err := s.Pending("pager", 0)
	if err != nil || len(pending) != 1 {
		t.Fatalf("Pending = %+v, %v; want only the retryable entry", pending, err)
	}
	if p := pending[0]; p.Event.ID != "retryable" || p.Attempts != 1 || p.LastError != "503 Service Unavailable" || !p.Enqueued.Equal(t0) {
		t.Errorf("retryable entry = %+v", p)
	}
	if d := depth(t, s, "pager"); d != 1 {
		t.Errorf("Depth = %d, want 1", d)
	}
	dead, err := s.Dead("pager")
	if err != nil || len(dead) != 1 {
		t.Fatalf("Dead = %+v, %v", dead, err)
	}
	if d := dead[0]; d.Seq != seqs[2] || d.Event.ID != "rejected" || d.Reason != "400 Bad Request: missing title" || !d.Died.Equal(t0) {
		t.Errorf("dead entry = %+v", d)
	}
	_ = s.View(func(tx *Tx) error {
		a, _ := tx.Alert("failed", "task-1")
		if a.Refs["pager"] != "signl4-event-1" {
			t.Errorf("alert refs = %v, want pager: signl4-event-1", a.Refs)
		}
		if _, ok := tx.Alert("other", "task-2"); ok {
			t.Error("Complete created an alert for a ref")
		}
		return nil
	})

	// A second retryable answer counts again.
	if err := s.Complete("pager", []Done{{seqs[3], sdk.Retry("429 Too Many Requests", time.Time{})}}); err != nil {
		t.Fatal(err)
	}
	pending, _ = s.Pending("pager", 0)
	if pending[0].Attempts != 2 || pending[0].LastError != "429 Too Many Requests" {
		t.Errorf("after second retry: %+v", pending[0])
	}
	if err := s.Complete("pager", []Done{{seqs[3], sdk.Result{}}}); err == nil {
		t.Error("Complete accepted a result without an outcome")
	}
}

func TestDeadLetters(t *testing.T) {
	s := openTest(t, "")
	var seqs []uint64
	mustUpdate(t, s, func(tx *Tx) error {
		for _, id := range []string{"d1", "d2", "d3", "p1"} {
			seq, err := tx.Enqueue("chat", event(id, "r", id))
			seqs = append(seqs, seq)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err := s.Complete("chat", []Done{
		{seqs[0], sdk.Reject("no such channel")},
		{seqs[1], sdk.Reject("no such channel")},
		{seqs[2], sdk.Reject("no such channel")},
	}); err != nil {
		t.Fatal(err)
	}
	if sinks, err := s.Sinks(); err != nil || !slices.Equal(sinks, []string{"chat"}) {
		t.Errorf("Sinks = %v, %v", sinks, err)
	}

	// Unknown sequence numbers change nothing and are named.
	if n, err := s.RetryDead("chat", Seqs(seqs[1], 77)); err == nil || n != 0 || !strings.Contains(err.Error(), "no dead letter 77") {
		t.Errorf("RetryDead with an unknown seq = %d, %v", n, err)
	}
	if n, err := s.RetryDead("chat", Seqs(seqs[1])); err != nil || n != 1 {
		t.Fatalf("RetryDead = %d, %v", n, err)
	}
	// Revived entries go to the end of the outbox, with a new sequence.
	pending, _ := s.Pending("chat", 0)
	if len(pending) != 2 || pending[0].Event.ID != "p1" || pending[1].Event.ID != "d2" || pending[1].Seq <= seqs[3] {
		t.Errorf("outbox after RetryDead = %+v", pending)
	}
	if d := depth(t, s, "chat"); d != 2 {
		t.Errorf("Depth = %d, want 2", d)
	}

	if n, err := s.DropDead("chat", Seqs(seqs[0])); err != nil || n != 1 {
		t.Errorf("DropDead = %d, %v", n, err)
	}
	if n, err := s.RetryDead("chat", All); err != nil || n != 1 {
		t.Errorf("RetryDead(All) = %d, %v", n, err)
	}
	if dead, _ := s.Dead("chat"); len(dead) != 0 {
		t.Errorf("dead letters left: %+v", dead)
	}
	if got := pendingIDs(t, s, "chat"); !slices.Equal(got, []string{"p1", "d2", "d3"}) {
		t.Errorf("outbox = %v", got)
	}

	pending, _ = s.Pending("chat", 1)
	if len(pending) != 1 {
		t.Errorf("Pending with limit 1 returned %d", len(pending))
	}
	if n, err := s.DropPending("chat", Seqs(pending[0].Seq)); err != nil || n != 1 {
		t.Errorf("DropPending = %d, %v", n, err)
	}
	if n, err := s.DropPending("chat", All); err != nil || n != 2 {
		t.Errorf("DropPending(All) = %d, %v", n, err)
	}
	if d := depth(t, s, "chat"); d != 0 {
		t.Errorf("Depth = %d after dropping everything", d)
	}
	if sinks, _ := s.Sinks(); len(sinks) != 0 {
		t.Errorf("Sinks = %v with nothing pending or dead", sinks)
	}
	if n, err := s.DropDead("nosuchsink", All); err != nil || n != 0 {
		t.Errorf("DropDead of an unknown sink = %d, %v", n, err)
	}
}

// BenchmarkUpdate100Events measures the transaction the pipeline runs per batch
// of lines: 100 events enqueued and one position saved, fsync on.
func BenchmarkUpdate100Events(b *testing.B) {
	for _, noSync := range []bool{false, true} {
		b.Run(fmt.Sprintf("fsync=%v", !noSync), func(b *testing.B) {
			s := openTest(b, "")
			s.db.NoSync = noSync
			ev := event("", "reload-failed", "")
			ev.Message = strings.Repeat("m", 300)
			ev.Fields = map[string]string{"TaskName": "Nightly reload", "AppId": "5c7f2f5a-6d2b-4a39-a8a5-2f0b0e1f5d3c"}
			b.ResetTimer()
			for i := range b.N {
				err := s.Update(func(tx *Tx) error {
					for j := range 100 {
						ev.ID = fmt.Sprint(i, "-", j)
						ev.Key = ev.ID
						if _, err := tx.Enqueue("pager", ev); err != nil {
							return err
						}
					}
					return tx.SetPosition("file-1", Position{Offset: int64(i)})
				})
				if err != nil {
					b.Fatal(err)
				}
				// Drain as a dispatcher would so the file stays small.
				b.StopTimer()
				pending, _ := s.Pending("pager", 0)
				done := make([]Done, len(pending))
				for k, e := range pending {
					done[k] = Done{e.Seq, sdk.Accept("")}
				}
				if err := s.Complete("pager", done); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// BenchmarkAlertFlow is the state work of 100 new alerts, as the agent does
// it: the pipeline's transaction (dedup id, alert read and written, event
// enqueued, file position saved), then the dispatcher's (the batch read, the
// alerts' references looked up, the results recorded). ns/alert is per alert.
func BenchmarkAlertFlow(b *testing.B) {
	for _, noSync := range []bool{false, true} {
		b.Run(fmt.Sprintf("fsync=%v", !noSync), func(b *testing.B) {
			s := openTest(b, "")
			s.db.NoSync = noSync
			fields := map[string]string{
				"TaskName": "Reload Sales dashboard", "TaskId": "", "AppName": "Sales dashboard",
				"AppId": "5c7f2f5a-6d2b-4a39-a8a5-2f0b0e1f5d3c", "ExecutionId": "0f7b6f8e-3a55-4d8f-9e0c-2b1f9d3c7a11",
				"Hostname": "QS-NODE1", "User": "INTERNAL\\sa_scheduler", "ScriptLogErrors": "", "ScriptLogTail": "",
			}
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				err := s.Update(func(tx *Tx) error {
					for range 100 {
						n++
						key := fmt.Sprintf("task-%07d", n)
						if tx.Seen("dedup\x00reload-failed\x00" + key) {
							b.Fatal("seen")
						}
						if err := tx.MarkSeen("dedup\x00reload-failed\x00"+key, t0); err != nil {
							return err
						}
						a, ok := tx.Alert("reload-failed", key)
						if ok {
							b.Fatal("alert exists")
						}
						a = Alert{Rule: "reload-failed", Key: key, Status: sdk.StatusFiring, Title: "Qlik Sense reload failed: " + key,
							Severity: "critical", Fields: fields, FirstSeen: t0, LastSeen: t0, Count: 1, Instance: 1, LastFired: t0}
						if err := tx.PutAlert(a); err != nil {
							return err
						}
						ev := sdk.Event{ID: key + "-fire", Rule: a.Rule, Status: a.Status, Key: key, Severity: a.Severity, Title: a.Title,
							Message: strings.Repeat("Reload task failed for app. ", 14), Fields: fields, Time: t0, Host: "QS-NODE1"}
						if _, err := tx.Enqueue("pager", ev); err != nil {
							return err
						}
					}
					return tx.SetPosition("file-1", Position{Offset: int64(n), Fingerprint: "1024:0123456789abcdef", Path: "/logs/x.txt", Updated: t0})
				})
				if err != nil {
					b.Fatal(err)
				}
				pending, err := s.Pending("pager", 100)
				if err != nil || len(pending) != 100 {
					b.Fatalf("Pending: %d, %v", len(pending), err)
				}
				refs := 0
				err = s.View(func(tx *Tx) error {
					for _, e := range pending {
						if tx.AlertRef(e.Event.Rule, e.Event.Key, "pager", e.Instance) != "" {
							refs++
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				done := make([]Done, len(pending))
				for k, e := range pending {
					done[k] = Done{e.Seq, sdk.Accept("")}
				}
				if err := s.Complete("pager", done); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/alert")
		})
	}
}

// TestFileGrowsInSteps: the file is at most a step (growStep) larger than
// its pages need, not the next power of two (bbolt's default up to 16 MiB).
func TestFileGrowsInSteps(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("on Windows bbolt sizes the file to its memory map")
	}
	path := filepath.Join(t.TempDir(), "herald.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// 4.5 MiB of incompressible messages: bbolt's default would make the file 8 MiB.
	for i := range 3 {
		mustUpdate(t, s, func(tx *Tx) error {
			for j := range 300 {
				ev := event(fmt.Sprint("ev-", i, "-", j), "r", "k")
				ev.Message = incompressible(ev.ID, 5<<10)
				if _, err := tx.Enqueue("pager", ev); err != nil {
					return err
				}
			}
			return nil
		})
	}
	var need int64
	_ = s.db.View(func(tx *bolt.Tx) error { need = tx.Size(); return nil })
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if need < 4<<20 {
		t.Fatalf("the test wrote %d bytes of pages, want more than 4 MiB", need)
	}
	// A commit grows the file before it frees the pages it replaced, so the
	// last growth may have been a few pages beyond what remains in use.
	if slack := int64(growStep(need) + 16*os.Getpagesize()); info.Size() > need+slack {
		t.Errorf("file is %d bytes for %d bytes of pages: more than %d beyond", info.Size(), need, slack)
	}
	for _, tt := range []struct{ size, step int64 }{{0, 256 << 10}, {8 << 20, 512 << 10}, {1 << 30, 16 << 20}} {
		if got := growStep(tt.size); int64(got) != tt.step {
			t.Errorf("growStep(%d) = %d, want %d", tt.size, got, tt.step)
		}
	}
}

// incompressible returns n random letters, the same for the same seed:
// text the records' compression (dicts.go) cannot shrink, for tests that
// need a file of some size.
func incompressible(seed string, n int) string {
	h := fnv.New64a()
	h.Write([]byte(seed))
	rng := rand.New(rand.NewPCG(h.Sum64(), uint64(n)))
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(rng.IntN(26))
	}
	return string(b)
}

// TestWaitAhead: WaitAhead returns at once while a sink has fewer than ahead
// entries pending, waits for a delivery while all have more, and reports a
// stall when none comes within patience.
func TestWaitAhead(t *testing.T) {
	s := openTest(t, "")
	for _, sink := range []string{"pager", "chat"} {
		mustUpdate(t, s, func(tx *Tx) error {
			for i := range 3 {
				if _, err := tx.Enqueue(sink, event(fmt.Sprint(sink, i), "r", "k")); err != nil {
					return err
				}
			}
			return nil
		})
	}
	ctx := t.Context()
	if s.WaitAhead(ctx, []string{"pager", "chat", "empty"}, 2, time.Minute) {
		t.Error("stalled although a sink has nothing pending")
	}
	if s.WaitAhead(ctx, nil, 2, time.Minute) {
		t.Error("stalled with no sinks")
	}
	if !s.WaitAhead(ctx, []string{"pager", "chat"}, 2, time.Millisecond) {
		t.Error("no stall reported with every sink ahead and no delivery")
	}

	// A delivery that leaves a sink below ahead ends the wait.
	gen := s.Delivered()
	waited := make(chan bool)
	go func() { waited <- s.WaitAhead(ctx, []string{"pager", "chat"}, 3, time.Minute) }()
	entries, err := s.Pending("chat", 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Complete("chat", []Done{{Seq: entries[0].Seq, Result: sdk.Accept("")}}); err != nil {
		t.Fatal(err)
	}
	if stalled := <-waited; stalled {
		t.Error("stalled although chat delivered")
	}
	if s.Delivered() != gen+1 {
		t.Errorf("Delivered = %d after one delivery from %d", s.Delivered(), gen)
	}

	// ctx ends the wait.
	cctx, cancel := context.WithCancel(ctx)
	go func() { waited <- s.WaitAhead(cctx, []string{"pager"}, 1, time.Minute) }()
	cancel()
	if <-waited {
		t.Error("a cancelled wait reported a stall")
	}
}
