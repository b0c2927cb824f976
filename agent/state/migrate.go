package state

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// migrateHook, when set, is called at the named points of a migration. The
// failpoints build (failpoint.go) sets it so that a test can kill the agent
// in the middle of one.
var migrateHook func(point string)

// backupSuffix names the copy of a file of schema version from that Open
// keeps before migrating it.
func backupSuffix(from uint64) string { return fmt.Sprintf(".schema%d", from) }

// keepCopy writes a copy of the file, as it is before a migration, beside it:
// with it an operator can go back to the release that wrote it.
func (s *Store) keepCopy() error {
	return s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMeta)
		if v == nil {
			return nil
		}
		raw := v.Get(keySchema)
		if len(raw) != 8 || binary.BigEndian.Uint64(raw) >= SchemaVersion {
			return nil
		}
		from := binary.BigEndian.Uint64(raw)
		if err := tx.CopyFile(s.path+backupSuffix(from), 0o600); err != nil {
			return fmt.Errorf("state: keep a copy of %s before migrating it: %w", s.path, err)
		}
		return nil
	})
}

// migrate rewrites a file of schema version from into the current schema,
// inside tx, the transaction that opens the store: a crash at any moment
// leaves the file as it was, and the next start migrates it again. Each step
// takes the file one version further.
func (s *Store) migrate(tx *bolt.Tx, from uint64) error {
	if from < 1 || from >= SchemaVersion {
		return corrupt(s.path, fmt.Errorf("schema version %d is unknown", from))
	}
	start := time.Now()
	var alerts, seen, entries int
	if from == 1 {
		var err error
		if alerts, err = migrateAlerts1(tx); err != nil {
			return corrupt(s.path, err)
		}
		if migrateHook != nil {
			migrateHook("alerts")
		}
		if _, err = migrateSeen1(tx); err != nil {
			return corrupt(s.path, err)
		}
		for _, parent := range [][]byte{bucketOutbox, bucketDead} {
			n, err := migrateEntries1(tx, parent)
			if err != nil {
				return corrupt(s.path, err)
			}
			entries += n
		}
	}
	// 2 to 3: dedup ids by digest. Records of schema 2 stay as they are
	// (codec.go reads them) until they change; the dicts bucket is created
	// with the others.
	seen, err := migrateSeen2(tx)
	if err != nil {
		return corrupt(s.path, err)
	}
	if migrateHook != nil {
		migrateHook("done")
	}
	s.logger.Info("state file migrated", "path", s.path, "from", from, "to", SchemaVersion,
		"alerts", alerts, "dedup_ids", seen, "entries", entries, "took", time.Since(start).Round(time.Millisecond), "copy_of_old_file", s.path+backupSuffix(from))
	return nil
}

// migrateAlerts1 rewrites the alerts of schema 1 (JSON, keyed by rule and
// key, indexed in alerts_by_key) as records keyed in firing order.
func migrateAlerts1(tx *bolt.Tx) (int, error) {
	var alerts []Alert
	if b := tx.Bucket(bucketAlerts); b != nil {
		err := b.ForEach(func(k, v []byte) error {
			var a Alert
			if err := json.Unmarshal(v, &a); err != nil {
				return fmt.Errorf("schema 1 alert %q: %w", k, err)
			}
			alerts = append(alerts, a)
			return nil
		})
		if err != nil {
			return 0, err
		}
		if err := tx.DeleteBucket(bucketAlerts); err != nil {
			return 0, err
		}
	}
	if tx.Bucket([]byte("alerts_by_key")) != nil {
		if err := tx.DeleteBucket([]byte("alerts_by_key")); err != nil {
			return 0, err
		}
	}
	b, err := tx.CreateBucket(bucketAlerts)
	if err != nil {
		return 0, err
	}
	b.FillPercent = 1.0
	slices.SortStableFunc(alerts, func(a, b Alert) int {
		return cmp.Or(a.FirstSeen.Compare(b.FirstSeen), strings.Compare(a.Rule, b.Rule), strings.Compare(a.Key, b.Key))
	})
	var buf []byte
	for i := range alerts {
		seq, err := b.NextSequence()
		if err != nil {
			return 0, err
		}
		buf = appendAlertRecord(buf[:0], &alerts[i])
		if err := b.Put(u64(seq), bytes.Clone(buf)); err != nil {
			return 0, err
		}
	}
	return len(alerts), nil
}

// migrateSeen1 rewrites the dedup ids of schema 1 (keyed by id, the time as
// the value) keyed by time and id.
func migrateSeen1(tx *bolt.Tx) (int, error) {
	return rewriteSeen(tx, func(k, v []byte) []byte {
		// Schema 1 pruned a value that is not a time; so does this.
		if len(v) != 8 {
			return nil
		}
		return seenKey(int64(binary.BigEndian.Uint64(v)), string(k))
	})
}

// migrateSeen2 rewrites the dedup ids of schema 2, keyed by time and id,
// keyed by time and the id's digest.
func migrateSeen2(tx *bolt.Tx) (int, error) {
	return rewriteSeen(tx, func(k, _ []byte) []byte {
		// A key too short to hold a time would have been pruned.
		if len(k) < 8 {
			return nil
		}
		return seenKey(seenKeyTime(k), seenDigest(string(k[8:])))
	})
}

// rewriteSeen replaces the seen bucket with one holding key(k, v) for each of
// its keys and values, leaving out those for which key returns nil.
func rewriteSeen(tx *bolt.Tx, key func(k, v []byte) []byte) (int, error) {
	var keys [][]byte
	if b := tx.Bucket(bucketSeen); b != nil {
		err := b.ForEach(func(k, v []byte) error {
			if nk := key(k, v); nk != nil {
				keys = append(keys, nk)
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
		if err := tx.DeleteBucket(bucketSeen); err != nil {
			return 0, err
		}
	}
	b, err := tx.CreateBucket(bucketSeen)
	if err != nil {
		return 0, err
	}
	b.FillPercent = 1.0
	slices.SortFunc(keys, bytes.Compare)
	for _, k := range keys {
		if err := b.Put(k, seenMark); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

// migrateEntries1 re-encodes every entry of every sink under parent (the
// outbox or the dead letters) from JSON to a binary record, under the same
// sequence number; the sinks' buckets and their sequences stay.
func migrateEntries1(tx *bolt.Tx, parent []byte) (int, error) {
	p := tx.Bucket(parent)
	if p == nil {
		return 0, nil
	}
	n := 0
	err := p.ForEachBucket(func(sink []byte) error {
		b := p.Bucket(sink)
		type kv struct{ k, v []byte }
		var out []kv
		err := b.ForEach(func(k, v []byte) error {
			e, seq, err := decodeEntryJSON(k, v)
			if err != nil {
				return fmt.Errorf("schema 1 %s of sink %q: %w", parent, sink, err)
			}
			out = append(out, kv{u64(seq), appendEntryRecord(nil, &e)})
			return nil
		})
		if err != nil {
			return err
		}
		b.FillPercent = 1.0
		for _, e := range out {
			if err := b.Put(e.k, e.v); err != nil {
				return err
			}
		}
		n += len(out)
		return nil
	})
	return n, err
}

// decodeEntryJSON reads a schema 1 outbox or dead-letter entry.
func decodeEntryJSON(k, v []byte) (entryValue, uint64, error) {
	var e entryValue
	seq, err := entrySeq(k)
	if err != nil {
		return e, 0, err
	}
	if err := json.Unmarshal(v, &e); err != nil {
		return e, seq, fmt.Errorf("entry %d: %w", seq, err)
	}
	return e, seq, nil
}
