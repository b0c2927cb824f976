package state

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/plugins/sdk"
)

// openCache opens a store with a cache of limit bytes per sink and the given
// clock.
func openCache(t testing.TB, path string, limit int, now func() time.Time) *Store {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "herald.db")
	}
	s, err := Open(path, Options{Now: now, CacheBytes: limit})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// fromFile decodes sink's outbox from the file, bypassing the cache.
func fromFile(t *testing.T, s *Store, sink string) []Entry {
	t.Helper()
	var out []Entry
	err := s.View(func(tx *Tx) error {
		b, _ := tx.sinkBucket(bucketOutbox, sink, false)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			e, seq, err := decodeEntry(k, v, tx.dict)
			out = append(out, e.entry(seq))
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// pendingFromCache returns Pending and how many of its entries came from the
// cache.
func pendingFromCache(t *testing.T, s *Store, sink string, limit int) ([]Entry, int64) {
	t.Helper()
	before := s.cache.hits.Load()
	es, err := s.Pending(sink, limit)
	if err != nil {
		t.Fatalf("Pending: %v", err)
	}
	return es, s.cache.hits.Load() - before
}

// A cached entry is exactly what decoding the file gives: the same fields,
// times as the record gives them back (no monotonic reading, the location
// recordTime chooses), no empty map where decoding gives nil. Strings that
// are not UTF-8 are kept byte for byte, in the cache as in the file, so such
// entries are cached too.
func TestCacheGivesWhatTheFileHolds(t *testing.T) {
	plus2 := time.FixedZone("CEST", 2*3600)
	withFields := event("f", "rule", "task-f")
	withFields.Fields = map[string]string{"TaskName": "Nightly <reload> & co", "Path": `C:\Qlik`, "Empty": ""}
	emptyFields := event("e", "rule", "task-e")
	emptyFields.Fields = map[string]string{}
	zoned := event("z", "rule", "task-z")
	zoned.Time = time.Date(2025, 3, 1, 14, 0, 0, 123456789, plus2)
	local := event("l", "rule", "task-l")
	local.Time = time.Now() // Local, with a monotonic reading
	withRef := event("r", "rule", "task-r")
	withRef.Ref = "signl4-event-1"
	withRef.Message = "line one\nline two\t\u2028 \"quoted\""
	badMessage := event("b", "rule", "task-b")
	badMessage.Message = "caf\xe9"
	splitRune := event("s", "rule", "task-s")
	splitRune.Message, splitRune.Host = "caf\xc3", "\xa9" // é cut in two: each half is invalid
	badFieldKey := event("k", "rule", "task-k")
	badFieldKey.Fields = map[string]string{"\xff": "v"}

	tests := []struct {
		name   string
		ev     sdk.Event
		now    func() time.Time
		cached bool
	}{
		{"plain", event("p", "rule", "task-p"), nil, true},
		{"fields with characters JSON escapes", withFields, nil, true},
		{"empty fields map", emptyFields, nil, true},
		{"time in a fixed zone", zoned, nil, true},
		{"local time with monotonic reading", local, time.Now, true},
		{"ref and escapes", withRef, nil, true},
		{"message not UTF-8", badMessage, nil, true},
		{"field key not UTF-8", badFieldKey, nil, true},
		{"a character split across two strings", splitRune, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := tt.now
			if now == nil {
				now = func() time.Time { return t0.In(plus2) }
			}
			s := openCache(t, "", 1<<20, now)
			mustUpdate(t, s, func(tx *Tx) error {
				_, err := tx.Enqueue("pager", tt.ev)
				return err
			})
			got, hits := pendingFromCache(t, s, "pager", 0)
			if want := int64(0); tt.cached {
				want = 1
				if hits != want {
					t.Errorf("Pending took %d entries from the cache, want %d", hits, want)
				}
			} else if hits != want {
				t.Errorf("Pending took %d entries from the cache, want %d", hits, want)
			}
			if want := fromFile(t, s, "pager"); !reflect.DeepEqual(got, want) {
				t.Errorf("Pending =\n%#v\nthe file holds\n%#v", got, want)
			}
			// Strings come back byte for byte, valid UTF-8 or not.
			ev := got[0].Event
			if ev.Message != tt.ev.Message || ev.Host != tt.ev.Host || ev.ID != tt.ev.ID ||
				(len(tt.ev.Fields) > 0 && !reflect.DeepEqual(ev.Fields, tt.ev.Fields)) {
				t.Errorf("Pending = %+q, enqueued %+q", ev, tt.ev)
			}
		})
	}
}

// The cache follows every change of the outbox: what Pending returns is what
// the file holds, in the same order, and entries come from memory only while
// this process wrote them and they fit.
func TestCacheFollowsTheOutbox(t *testing.T) {
	errBoom := errors.New("boom")
	enqueue := func(s *Store, ids ...string) error {
		return s.Update(func(tx *Tx) error {
			for _, id := range ids {
				if _, err := tx.Enqueue("pager", event(id, "rule", "task-"+id)); err != nil {
					return err
				}
			}
			return nil
		})
	}
	type step struct {
		do       func(t *testing.T, s *Store) *Store // returns the store to go on with
		setup    bool                                // nothing to check afterwards
		ids      []string                            // Pending's event ids afterwards
		hits     int64                               // of them from the cache
		inCache  int                                 // cached entries of the sink
		attempts int                                 // Attempts of the first entry
	}
	run := func(f func(s *Store) error) func(t *testing.T, s *Store) *Store {
		return func(t *testing.T, s *Store) *Store {
			t.Helper()
			if err := f(s); err != nil {
				t.Fatal(err)
			}
			return s
		}
	}
	complete := func(outcome func() sdk.Result, n int) func(s *Store) error {
		return func(s *Store) error {
			es, err := s.Pending("pager", n)
			if err != nil {
				return err
			}
			done := make([]Done, len(es))
			for i, e := range es {
				done[i] = Done{e.Seq, outcome()}
			}
			return s.Complete("pager", done)
		}
	}
	accept := func() sdk.Result { return sdk.Accept("") }

	// The test's events all have the same size.
	size := cached(entryValue{Event: event("a", "rule", "task-a"), Enqueued: t0}).size
	tests := []struct {
		name  string
		limit int // entries of size
		steps []step
	}{
		{"enqueued entries come from memory", 10, []step{
			{do: run(func(s *Store) error { return enqueue(s, "a", "b", "c") }), ids: []string{"a", "b", "c"}, hits: 3, inCache: 3},
		}},
		{"a rolled-back transaction leaves nothing, and its sequence number's next owner is served", 10, []step{
			{do: run(func(s *Store) error { return enqueue(s, "a") }), ids: []string{"a"}, hits: 1, inCache: 1},
			{do: func(t *testing.T, s *Store) *Store {
				err := s.Update(func(tx *Tx) error {
					if _, err := tx.Enqueue("pager", event("ghost", "rule", "task-ghost")); err != nil {
						return err
					}
					return errBoom
				})
				if !errors.Is(err, errBoom) {
					t.Fatalf("Update = %v, want boom", err)
				}
				return s
			}, ids: []string{"a"}, hits: 1, inCache: 1},
			{do: run(func(s *Store) error { return enqueue(s, "b") }), ids: []string{"a", "b"}, hits: 2, inCache: 2},
		}},
		{"beyond the bound the oldest stay cached and the rest is decoded, in order", 2, []step{
			{do: run(func(s *Store) error { return enqueue(s, "a", "b", "c", "d") }), ids: []string{"a", "b", "c", "d"}, hits: 2, inCache: 2},
			{do: run(complete(accept, 2)), ids: []string{"c", "d"}, hits: 0, inCache: 0},
			{do: run(func(s *Store) error { return enqueue(s, "e", "f", "g") }), ids: []string{"c", "d", "e", "f", "g"}, hits: 2, inCache: 2},
		}},
		{"an entry larger than the bound is decoded", 2, []step{
			{do: run(func(s *Store) error {
				return s.Update(func(tx *Tx) error {
					big := event("a", "rule", "task-a")
					big.Message = strings.Repeat("script log line\n", 100)
					_, err := tx.Enqueue("pager", big)
					return err
				})
			}), ids: []string{"a"}, hits: 0, inCache: 0},
			{do: run(func(s *Store) error { return enqueue(s, "b") }), ids: []string{"a", "b"}, hits: 1, inCache: 1},
		}},
		{"accepted entries leave", 10, []step{
			{do: run(func(s *Store) error { return enqueue(s, "a", "b", "c") }), setup: true},
			{do: run(complete(accept, 2)), ids: []string{"c"}, hits: 1, inCache: 1},
		}},
		{"an accepted entry with a reference leaves", 10, []step{
			{do: run(func(s *Store) error { return enqueue(s, "a", "b") }), setup: true},
			{do: run(complete(func() sdk.Result { return sdk.Accept("ref-1") }, 1)), ids: []string{"b"}, hits: 1, inCache: 1},
		}},
		{"a retryable answer is seen in memory as in the file", 10, []step{
			{do: run(func(s *Store) error { return enqueue(s, "a", "b") }), setup: true},
			{do: run(complete(func() sdk.Result { return sdk.Retry("503", time.Time{}) }, 1)), ids: []string{"a", "b"}, hits: 2, inCache: 2, attempts: 1},
			{do: run(complete(func() sdk.Result { return sdk.Retry("503 again", time.Time{}) }, 1)), ids: []string{"a", "b"}, hits: 2, inCache: 2, attempts: 2},
			{do: run(func(s *Store) error {
				// One Complete that answers an entry twice sees its own first
				// answer, not the cached entry from before it.
				retry := sdk.Retry("503 twice", time.Time{})
				return s.Complete("pager", []Done{{1, retry}, {1, retry}})
			}), ids: []string{"a", "b"}, hits: 2, inCache: 2, attempts: 4},
		}},
		{"rejected entries leave for the dead letters, retried ones come back cached", 10, []step{
			{do: run(func(s *Store) error { return enqueue(s, "a", "b") }), setup: true},
			{do: run(complete(func() sdk.Result { return sdk.Reject("400") }, 1)), ids: []string{"b"}, hits: 1, inCache: 1},
			{do: run(func(s *Store) error { _, err := s.RetryDead("pager", All); return err }), ids: []string{"b", "a"}, hits: 2, inCache: 2},
		}},
		{"dropped entries leave", 10, []step{
			{do: run(func(s *Store) error { return enqueue(s, "a", "b", "c") }), setup: true},
			{do: run(func(s *Store) error { _, err := s.DropPending("pager", Seqs(2)); return err }), ids: []string{"a", "c"}, hits: 2, inCache: 2},
			{do: run(func(s *Store) error { _, err := s.DropPending("pager", All); return err }), ids: nil, hits: 0, inCache: 0},
		}},
		{"after a restart entries are decoded from the file", 10, []step{
			{do: run(func(s *Store) error { return enqueue(s, "a", "b") }), setup: true},
			{do: func(t *testing.T, s *Store) *Store {
				path := s.Path()
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				return openCache(t, path, 10*size, func() time.Time { return t0 })
			}, ids: []string{"a", "b"}, hits: 0, inCache: 0},
			{do: run(func(s *Store) error { return enqueue(s, "c") }), ids: []string{"a", "b", "c"}, hits: 1, inCache: 1},
		}},
		{"a failed commit leaves nothing", 10, []step{
			{do: run(func(s *Store) error { return enqueue(s, "a") }), setup: true},
			{do: func(t *testing.T, s *Store) *Store {
				s.db.MaxSize = 1 // every growth of the file fails, as on a full disk
				big := event("big", "rule", "task-big")
				big.Message = string(make([]byte, 1<<20))
				err := s.Update(func(tx *Tx) error { _, err := tx.Enqueue("pager", big); return err })
				if err == nil {
					t.Fatal("Update of 1 MiB past MaxSize succeeded")
				}
				s.db.MaxSize = 0
				return s
			}, ids: []string{"a"}, hits: 1, inCache: 1},
		}},
		{"a negative bound turns the cache off", -1, []step{
			{do: run(func(s *Store) error { return enqueue(s, "a", "b") }), ids: []string{"a", "b"}, hits: 0, inCache: 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openCache(t, "", max(tt.limit*size, -1), func() time.Time { return t0 })
			for i, st := range tt.steps {
				s = st.do(t, s)
				if st.setup {
					continue
				}
				got, hits := pendingFromCache(t, s, "pager", 0)
				if ids := idsOf(got); !slices.Equal(ids, st.ids) {
					t.Fatalf("step %d: Pending = %v, want %v", i, ids, st.ids)
				}
				if want := fromFile(t, s, "pager"); !reflect.DeepEqual(got, want) {
					t.Fatalf("step %d: Pending =\n%#v\nthe file holds\n%#v", i, got, want)
				}
				if hits != st.hits {
					t.Errorf("step %d: %d entries came from the cache, want %d", i, hits, st.hits)
				}
				if n, _ := s.cache.len("pager"); n != st.inCache {
					t.Errorf("step %d: %d entries cached, want %d", i, n, st.inCache)
				}
				if len(got) > 0 && got[0].Attempts != st.attempts {
					t.Errorf("step %d: first entry has %d attempts, want %d", i, got[0].Attempts, st.attempts)
				}
			}
		})
	}
}

func idsOf(es []Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Event.ID)
	}
	return out
}

// Neither the event given to Enqueue nor an entry Pending returned shares
// memory with the cache: changing them changes nothing stored.
func TestCacheSharesNoMemory(t *testing.T) {
	s := openCache(t, "", 1<<20, func() time.Time { return t0 })
	ev := event("a", "rule", "task-a")
	ev.Fields = map[string]string{"TaskName": "Nightly"}
	mustUpdate(t, s, func(tx *Tx) error {
		_, err := tx.Enqueue("pager", ev)
		ev.Fields["TaskName"] = "changed by the caller after Enqueue"
		return err
	})
	ev.Fields["TaskName"] = "changed by the caller after commit"

	got, hits := pendingFromCache(t, s, "pager", 0)
	if hits != 1 || got[0].Event.Fields["TaskName"] != "Nightly" {
		t.Fatalf("Pending (%d from the cache) = %v, want the fields as enqueued", hits, got[0].Event.Fields)
	}
	got[0].Event.Fields["TaskName"] = "changed by a reader"
	got[0].Event.Title = "changed by a reader"

	again, hits := pendingFromCache(t, s, "pager", 0)
	if hits != 1 || again[0].Event.Fields["TaskName"] != "Nightly" || again[0].Event.Title != ev.Title {
		t.Fatalf("Pending after a reader changed its copy = %+v", again[0].Event)
	}
}

// Readers running while the outbox changes never see an entry other than as
// their snapshot of the file holds it, whether it comes from memory or not.
func TestCacheIsConsistentUnderConcurrentChanges(t *testing.T) {
	// Room for about 20 entries: some are cached, some not.
	s := openCache(t, "", 20*cached(entryValue{Event: event("0-0", "rule", "task-0"), Enqueued: t0}).size, func() time.Time { return t0 })
	s.db.NoSync = true
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var checks int64
	var mu sync.Mutex
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				var n int64
				err := s.View(func(tx *Tx) error {
					b, _ := tx.sinkBucket(bucketOutbox, "pager", false)
					if b == nil {
						return nil
					}
					return b.ForEach(func(k, v []byte) error {
						got, _, err := tx.outboxEntry("pager", k, v)
						if err != nil {
							return err
						}
						want, _, err := decodeEntry(k, v, tx.dict)
						if err != nil {
							return err
						}
						if !reflect.DeepEqual(got, want) {
							return fmt.Errorf("entry %x: read %+v, the snapshot holds %+v", k, got, want)
						}
						n++
						return nil
					})
				})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				checks += n
				mu.Unlock()
			}
		})
	}
	// The writer: batches in, and each round the oldest answered retryable,
	// accepted or rejected in turn, so entries change while cached.
	outcomes := []sdk.Result{sdk.Retry("503", time.Time{}), sdk.Accept(""), sdk.Accept("ref"), sdk.Reject("400")}
	for round := range 200 {
		err := s.Update(func(tx *Tx) error {
			for i := range 5 {
				if _, err := tx.Enqueue("pager", event(fmt.Sprint(round, "-", i), "rule", fmt.Sprint("task-", i))); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		es, err := s.Pending("pager", 4)
		if err != nil {
			t.Fatal(err)
		}
		done := make([]Done, len(es))
		for i, e := range es {
			done[i] = Done{e.Seq, outcomes[(round+i)%len(outcomes)]}
		}
		if err := s.Complete("pager", done); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if got, want := idsOf(mustPending(t, s)), idsOf(fromFile(t, s, "pager")); !slices.Equal(got, want) {
		t.Errorf("Pending = %v, the file holds %v", got, want)
	}
	t.Logf("%d entries checked; the cache served %d lookups and missed %d", checks, s.cache.hits.Load(), s.cache.misses.Load())
}

func mustPending(t *testing.T, s *Store) []Entry {
	t.Helper()
	es, err := s.Pending("pager", 0)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// A commit whose hook never ran (bbolt wrote it but reported an error) leaves
// a gap in the transaction ids: the cache, which may not know what that commit
// changed, starts afresh.
func TestCacheStartsAfreshAfterAMissedCommit(t *testing.T) {
	c := newOutboxCache(1 << 20)
	c.commit(1, nil)
	c.commit(2, []cacheOp{{sink: "pager", seq: 1, val: &cachedEntry{}}, {sink: "pager", seq: 2, val: &cachedEntry{}}})
	if c.get(2, "pager", 1) == nil || c.get(1, "pager", 1) != nil {
		t.Fatal("an entry is served to readers of exactly the version it was cached at")
	}
	c.commit(4, []cacheOp{{sink: "pager", seq: 3, val: &cachedEntry{}}})
	if n, _ := c.len("pager"); c.get(4, "pager", 1) != nil || c.get(4, "pager", 3) == nil || n != 1 {
		t.Errorf("after a missed commit the cache holds %d entries, want only the new one", n)
	}
}
