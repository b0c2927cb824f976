// Package enginecmp compares storage engines on the state workload of the
// agent (agent/state): the pipeline's transaction per batch of new alerts and
// the dispatcher's read, reference lookup and completion of that batch, with a
// given number of alerts already open. It is a module of its own so that the
// engines it compares with (pebble) do not become dependencies of herald.
//
//	cd bench/enginecmp && go test -run XXX -bench . -benchtime 200x
//
// Variants:
//   - state: agent/state as the agent uses it (bbolt, schema 1).
//   - bbolt-full, pebble-full: the same keys and values (alerts, the
//     alerts-by-key index, dedup ids, outbox, position) written directly, so
//     the difference between them is the engine's.
//   - bbolt-lean, pebble-lean: one record per alert (dedup id and index folded
//     into it) plus the outbox entry and the position: the fewest keys per
//     alert a layout can write.
//   - bbolt-append: bbolt-lean with alerts keyed by the order in which they
//     first fired (an in-memory map from rule and key to that number), so a
//     new alert lands on the last page instead of a random one.
//   - bbolt-seqidx: bbolt-full with alerts keyed by firing order and the
//     alerts_by_key index mapping key and rule to that number, on disk (no
//     map in memory); dedup ids as today.
package enginecmp

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble"
	bolt "go.etcd.io/bbolt"

	"github.com/heraldhq/herald/agent/state"
	"github.com/heraldhq/herald/plugins/sdk"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

var fields = map[string]string{
	"TaskName": "Reload Sales dashboard", "TaskId": "", "AppName": "Sales dashboard",
	"AppId": "5c7f2f5a-6d2b-4a39-a8a5-2f0b0e1f5d3c", "ExecutionId": "0f7b6f8e-3a55-4d8f-9e0c-2b1f9d3c7a11",
	"Hostname": "QS-NODE1", "User": "INTERNAL\\sa_scheduler", "ScriptLogErrors": "", "ScriptLogTail": "",
}

// alertFor is the n-th new alert and its firing event, shaped like the
// qliksense pack's qlik-reload-failed. Keys are task ids: random order, as
// Qlik's GUIDs are.
func alertFor(n int) (state.Alert, sdk.Event) {
	// A multiplicative hash spreads consecutive n over the key space.
	key := fmt.Sprintf("%016x-task", uint64(n)*0x9E3779B97F4A7C15)
	a := state.Alert{Rule: "qlik-reload-failed", Key: key, Status: sdk.StatusFiring, Title: "Qlik Sense reload failed: " + key,
		Severity: "critical", Fields: fields, FirstSeen: t0, LastSeen: t0, Count: 1, Instance: 1, LastFired: t0}
	ev := sdk.Event{ID: key + "-fire", Rule: a.Rule, Status: a.Status, Key: key, Severity: a.Severity, Title: a.Title,
		Message: strings.Repeat("Reload task failed for app. ", 14), Fields: fields, Time: t0, Host: "QS-NODE1"}
	return a, ev
}

// engine is one way of storing the workload.
type engine interface {
	// fire runs the pipeline's transaction for alerts n..n+count-1.
	fire(n, count int, sync bool) error
	// dispatch reads up to limit outbox entries, looks up their alerts'
	// references and records them as accepted, in one transaction.
	dispatch(limit int, sync bool) (int, error)
	size() int64
	close() error
}

// --- agent/state as it is ---

type stateEngine struct{ s *state.Store }

func (e *stateEngine) fire(n, count int, _ bool) error {
	return e.s.Update(func(tx *state.Tx) error {
		for i := n; i < n+count; i++ {
			a, ev := alertFor(i)
			id := "dedup\x00" + a.Rule + "\x00" + a.Key
			if tx.Seen(id) {
				return fmt.Errorf("%s seen", id)
			}
			// The agent marks ids with the time it raises them, which grows.
			if err := tx.MarkSeen(id, t0.Add(time.Duration(i)*time.Millisecond)); err != nil {
				return err
			}
			if _, ok := tx.Alert(a.Rule, a.Key); ok {
				return fmt.Errorf("alert %s exists", a.Key)
			}
			if err := tx.PutAlert(a); err != nil {
				return err
			}
			if _, err := tx.Enqueue("pager", ev); err != nil {
				return err
			}
		}
		return tx.SetPosition("file-1", state.Position{Offset: int64(n), Fingerprint: "1024:0123456789abcdef", Path: "/logs/x.txt", Updated: t0})
	})
}

func (e *stateEngine) dispatch(limit int, _ bool) (int, error) {
	pending, err := e.s.Pending("pager", limit)
	if err != nil || len(pending) == 0 {
		return 0, err
	}
	err = e.s.View(func(tx *state.Tx) error {
		for _, p := range pending {
			_ = tx.AlertRef(p.Event.Rule, p.Event.Key, "pager", p.Instance)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	done := make([]state.Done, len(pending))
	for i, p := range pending {
		done[i] = state.Done{Seq: p.Seq, Result: sdk.Accept("")}
	}
	return len(done), e.s.Complete("pager", done)
}

func (e *stateEngine) size() int64  { return fileSize(e.s.Path()) }
func (e *stateEngine) close() error { return e.s.Close() }

// --- shared encoding of the raw variants ---

type entryValue struct {
	Event    sdk.Event `json:"event"`
	Enqueued time.Time `json:"enqueued"`
	Instance int       `json:"instance,omitempty"`
}

// leanAlert is the lean layout's alert record: the alert with the dedup id
// of its last event.
type leanAlert struct {
	state.Alert
	LastEventID string `json:"last_event_id"`
}

func lengthPrefixed(a, b string) []byte {
	out := binary.AppendUvarint(nil, uint64(len(a)))
	out = append(out, a...)
	return append(out, b...)
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

var refsKey = []byte(`"refs":`)

// --- bbolt, written directly ---

type boltEngine struct {
	db   *bolt.DB
	lean bool
	// byKey, when not nil, is the append layout: alerts are keyed by the
	// order in which they first fired, so new alerts fill the last page, and
	// this map, built at open in a real store, finds an alert's number by
	// rule and key.
	byKey map[string]uint64
	// seqIndex is the full layout with alerts keyed by firing order and
	// alerts_by_key mapping key and rule to that number, on disk.
	seqIndex bool
}

var (
	bAlerts = []byte("alerts")
	bIndex  = []byte("alerts_by_key")
	bSeen   = []byte("seen")
	bOutbox = []byte("outbox")
	bPos    = []byte("positions")
)

func openBoltAppend(dir string) (*boltEngine, error) {
	e, err := openBolt(dir, true)
	if e != nil {
		e.byKey = map[string]uint64{}
	}
	return e, err
}

func openBolt(dir string, lean bool) (*boltEngine, error) {
	db, err := bolt.Open(filepath.Join(dir, "herald.db"), 0o600, &bolt.Options{FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, n := range [][]byte{bAlerts, bIndex, bSeen, bOutbox, bPos} {
			if _, err := tx.CreateBucketIfNotExists(n); err != nil {
				return err
			}
		}
		return nil
	})
	return &boltEngine{db: db, lean: lean}, err
}

func (e *boltEngine) fire(n, count int, sync bool) error {
	e.db.NoSync = !sync
	return e.db.Update(func(tx *bolt.Tx) error {
		alerts, outbox := tx.Bucket(bAlerts), tx.Bucket(bOutbox)
		outbox.FillPercent = 1
		for i := n; i < n+count; i++ {
			a, ev := alertFor(i)
			ak := lengthPrefixed(a.Rule, a.Key)
			if e.byKey != nil {
				if _, ok := e.byKey[string(ak)]; ok {
					return fmt.Errorf("alert %s exists", a.Key)
				}
				alerts.FillPercent = 1
				seq, _ := alerts.NextSequence()
				raw, _ := json.Marshal(leanAlert{Alert: a, LastEventID: ev.ID})
				if err := alerts.Put(u64(seq), raw); err != nil {
					return err
				}
				e.byKey[string(ak)] = seq
			} else if e.seqIndex {
				id := []byte("dedup\x00" + a.Rule + "\x00" + a.Key)
				if tx.Bucket(bSeen).Get(id) != nil {
					return fmt.Errorf("%s seen", id)
				}
				if err := tx.Bucket(bSeen).Put(id, u64(uint64(t0.UnixNano()))); err != nil {
					return err
				}
				idx := tx.Bucket(bIndex)
				ik := lengthPrefixed(a.Key, a.Rule)
				if idx.Get(ik) != nil {
					return fmt.Errorf("alert %s exists", a.Key)
				}
				alerts.FillPercent = 1
				seq, _ := alerts.NextSequence()
				raw, _ := json.Marshal(a)
				if err := alerts.Put(u64(seq), raw); err != nil {
					return err
				}
				if err := idx.Put(ik, u64(seq)); err != nil {
					return err
				}
			} else if e.lean {
				if v := alerts.Get(ak); v != nil {
					return fmt.Errorf("alert %s exists", a.Key)
				}
				raw, _ := json.Marshal(leanAlert{Alert: a, LastEventID: ev.ID})
				if err := alerts.Put(ak, raw); err != nil {
					return err
				}
			} else {
				id := []byte("dedup\x00" + a.Rule + "\x00" + a.Key)
				if tx.Bucket(bSeen).Get(id) != nil {
					return fmt.Errorf("%s seen", id)
				}
				if err := tx.Bucket(bSeen).Put(id, u64(uint64(t0.UnixNano()))); err != nil {
					return err
				}
				if alerts.Get(ak) != nil {
					return fmt.Errorf("alert %s exists", a.Key)
				}
				raw, _ := json.Marshal(a)
				if err := alerts.Put(ak, raw); err != nil {
					return err
				}
				if err := tx.Bucket(bIndex).Put(lengthPrefixed(a.Key, a.Rule), nil); err != nil {
					return err
				}
			}
			seq, _ := outbox.NextSequence()
			raw, _ := json.Marshal(entryValue{Event: ev, Enqueued: t0, Instance: 1})
			if err := outbox.Put(u64(seq), raw); err != nil {
				return err
			}
		}
		raw, _ := json.Marshal(state.Position{Offset: int64(n), Fingerprint: "1024:0123456789abcdef", Path: "/logs/x.txt", Updated: t0})
		return tx.Bucket(bPos).Put([]byte("file-1"), raw)
	})
}

func (e *boltEngine) dispatch(limit int, sync bool) (int, error) {
	e.db.NoSync = !sync
	var seqs [][]byte
	err := e.db.View(func(tx *bolt.Tx) error {
		alerts := tx.Bucket(bAlerts)
		c := tx.Bucket(bOutbox).Cursor()
		for k, v := c.First(); k != nil && len(seqs) < limit; k, v = c.Next() {
			var ent entryValue
			if err := json.Unmarshal(v, &ent); err != nil {
				return err
			}
			ak := lengthPrefixed(ent.Event.Rule, ent.Event.Key)
			if e.byKey != nil {
				ak = u64(e.byKey[string(ak)])
			}
			if e.seqIndex {
				ak = tx.Bucket(bIndex).Get(lengthPrefixed(ent.Event.Key, ent.Event.Rule))
			}
			if raw := alerts.Get(ak); bytes.Contains(raw, refsKey) {
				return fmt.Errorf("unexpected refs")
			}
			seqs = append(seqs, bytes.Clone(k))
		}
		return nil
	})
	if err != nil || len(seqs) == 0 {
		return 0, err
	}
	return len(seqs), e.db.Update(func(tx *bolt.Tx) error {
		for _, k := range seqs {
			if err := tx.Bucket(bOutbox).Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}

func (e *boltEngine) size() int64  { return fileSize(e.db.Path()) }
func (e *boltEngine) close() error { return e.db.Close() }

// --- pebble ---

// pebbleEngine keeps one key space with a prefix per kind of record. The
// outbox is read from the first undelivered sequence number, kept in memory:
// a queue in an LSM tree leaves tombstones at its head, and reading from the
// start would step over all of them.
type pebbleEngine struct {
	db       *pebble.DB
	dir      string
	lean     bool
	nextSeq  uint64
	firstSeq uint64
}

func openPebble(dir string, lean bool) (*pebbleEngine, error) {
	db, err := pebble.Open(dir, &pebble.Options{})
	if err != nil {
		return nil, err
	}
	return &pebbleEngine{db: db, dir: dir, lean: lean, nextSeq: 1, firstSeq: 1}, nil
}

func pk(prefix string, k []byte) []byte { return append([]byte(prefix), k...) }

func (e *pebbleEngine) get(b *pebble.Batch, k []byte) ([]byte, bool, error) {
	v, closer, err := b.Get(k)
	if err == pebble.ErrNotFound {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	out := bytes.Clone(v)
	return out, true, closer.Close()
}

func (e *pebbleEngine) fire(n, count int, sync bool) error {
	b := e.db.NewIndexedBatch()
	defer b.Close()
	seq := e.nextSeq
	for i := n; i < n+count; i++ {
		a, ev := alertFor(i)
		ak := pk("a/", lengthPrefixed(a.Rule, a.Key))
		if e.lean {
			if _, ok, err := e.get(b, ak); err != nil || ok {
				return fmt.Errorf("alert %s exists: %v", a.Key, err)
			}
			raw, _ := json.Marshal(leanAlert{Alert: a, LastEventID: ev.ID})
			if err := b.Set(ak, raw, nil); err != nil {
				return err
			}
		} else {
			id := pk("s/", []byte("dedup\x00"+a.Rule+"\x00"+a.Key))
			if _, ok, err := e.get(b, id); err != nil || ok {
				return fmt.Errorf("%s seen: %v", id, err)
			}
			if err := b.Set(id, u64(uint64(t0.UnixNano())), nil); err != nil {
				return err
			}
			if _, ok, err := e.get(b, ak); err != nil || ok {
				return fmt.Errorf("alert %s exists: %v", a.Key, err)
			}
			raw, _ := json.Marshal(a)
			if err := b.Set(ak, raw, nil); err != nil {
				return err
			}
			if err := b.Set(pk("k/", lengthPrefixed(a.Key, a.Rule)), nil, nil); err != nil {
				return err
			}
		}
		raw, _ := json.Marshal(entryValue{Event: ev, Enqueued: t0, Instance: 1})
		if err := b.Set(pk("o/pager/", u64(seq)), raw, nil); err != nil {
			return err
		}
		seq++
	}
	raw, _ := json.Marshal(state.Position{Offset: int64(n), Fingerprint: "1024:0123456789abcdef", Path: "/logs/x.txt", Updated: t0})
	if err := b.Set([]byte("p/file-1"), raw, nil); err != nil {
		return err
	}
	opt := pebble.NoSync
	if sync {
		opt = pebble.Sync
	}
	if err := b.Commit(opt); err != nil {
		return err
	}
	e.nextSeq = seq
	return nil
}

func (e *pebbleEngine) dispatch(limit int, sync bool) (int, error) {
	it, err := e.db.NewIter(&pebble.IterOptions{LowerBound: pk("o/pager/", u64(e.firstSeq)), UpperBound: []byte("o/pager0")})
	if err != nil {
		return 0, err
	}
	var seqs [][]byte
	for ok := it.First(); ok && len(seqs) < limit; ok = it.Next() {
		var ent entryValue
		if err := json.Unmarshal(it.Value(), &ent); err != nil {
			_ = it.Close()
			return 0, err
		}
		v, closer, err := e.db.Get(pk("a/", lengthPrefixed(ent.Event.Rule, ent.Event.Key)))
		if err == nil {
			if bytes.Contains(v, refsKey) {
				err = fmt.Errorf("unexpected refs")
			}
			_ = closer.Close()
		}
		if err != nil {
			_ = it.Close()
			return 0, err
		}
		seqs = append(seqs, bytes.Clone(it.Key()))
	}
	if err := it.Close(); err != nil || len(seqs) == 0 {
		return 0, err
	}
	b := e.db.NewBatch()
	defer b.Close()
	for _, k := range seqs {
		if err := b.Delete(k, nil); err != nil {
			return 0, err
		}
	}
	opt := pebble.NoSync
	if sync {
		opt = pebble.Sync
	}
	if err := b.Commit(opt); err != nil {
		return 0, err
	}
	e.firstSeq = binary.BigEndian.Uint64(seqs[len(seqs)-1][len("o/pager/"):]) + 1
	return len(seqs), nil
}

func (e *pebbleEngine) size() int64 {
	var n int64
	_ = filepath.WalkDir(e.dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
func (e *pebbleEngine) close() error { return e.db.Close() }

func fileSize(path string) int64 {
	info, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return info.Size()
}

// cpuTime is the user and system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rssAnon reads the process's anonymous resident memory, in MiB.
func rssAnon() float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(raw)) {
		if rest, ok := strings.CutPrefix(line, "RssAnon:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}

// BenchmarkEngines runs, for each variant and each number of open alerts, one
// batch of 100 new alerts per iteration: the pipeline's transaction and the
// dispatcher's, both fsynced. Metrics: µs/alert (wall time), cpu-µs/alert
// (the process's user and system time, background work of the engine
// included), allocs/alert,
// disk-B/alert (the file or directory over all alerts ever opened, which stay
// open), RssAnon-MiB (the process's, at the end: run one variant per process to
// compare it).
func BenchmarkEngines(b *testing.B) {
	variants := []struct {
		name string
		open func(dir string) (engine, error)
	}{
		{"state", func(dir string) (engine, error) {
			s, err := state.Open(filepath.Join(dir, "herald.db"), state.Options{})
			return &stateEngine{s}, err
		}},
		{"bbolt-full", func(dir string) (engine, error) { return openBolt(dir, false) }},
		{"bbolt-lean", func(dir string) (engine, error) { return openBolt(dir, true) }},
		{"bbolt-append", func(dir string) (engine, error) { return openBoltAppend(dir) }},
		{"bbolt-seqidx", func(dir string) (engine, error) {
			e, err := openBolt(dir, false)
			if e != nil {
				e.seqIndex = true
			}
			return e, err
		}},
		{"pebble-full", func(dir string) (engine, error) { return openPebble(dir, false) }},
		{"pebble-lean", func(dir string) (engine, error) { return openPebble(dir, true) }},
	}
	for _, v := range variants {
		for _, open := range []int{10_000, 100_000} {
			b.Run(fmt.Sprintf("%s/open=%dk", v.name, open/1000), func(b *testing.B) {
				e, err := v.open(b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				defer func() {
					if err := e.close(); err != nil {
						b.Error(err)
					}
				}()
				// The alerts already open, delivered; written in big
				// transactions without fsync, as a catch-up would not.
				n := 0
				for n < open {
					if err := e.fire(n, 1000, false); err != nil {
						b.Fatal(err)
					}
					n += 1000
					for {
						k, err := e.dispatch(1000, false)
						if err != nil {
							b.Fatal(err)
						}
						if k == 0 {
							break
						}
					}
				}
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				mallocs := ms.Mallocs
				cpu := cpuTime()
				start := n
				b.ResetTimer()
				for b.Loop() {
					if err := e.fire(n, 100, true); err != nil {
						b.Fatal(err)
					}
					n += 100
					if k, err := e.dispatch(100, true); err != nil || k != 100 {
						b.Fatalf("dispatched %d: %v", k, err)
					}
				}
				b.StopTimer()
				cpu = cpuTime() - cpu
				runtime.ReadMemStats(&ms)
				fired := float64(n - start)
				b.ReportMetric(float64(b.Elapsed().Microseconds())/fired, "µs/alert")
				b.ReportMetric(float64(cpu.Microseconds())/fired, "cpu-µs/alert")
				b.ReportMetric(float64(ms.Mallocs-mallocs)/fired, "allocs/alert")
				b.ReportMetric(float64(e.size())/float64(n), "disk-B/alert")
				b.ReportMetric(rssAnon(), "RssAnon-MiB")
			})
		}
	}
}
