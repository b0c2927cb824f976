package state

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kylelemons/godebug/diff"
	bolt "go.etcd.io/bbolt"

	"github.com/heraldhq/herald/agent/silence"
	"github.com/heraldhq/herald/plugins/sdk"
)

// testdata/schema1.db was written by the release with schema 1 (commit
// aed1054) from the content buildFixture puts in a store; schema1.golden.json
// is what that release read back from it through the API (dumpStore).
// testdata/schema2.db was written from the same content by schema 2 (commit
// d42e5cb), which read back the same. Before the schema changes again, keep a
// file of the current schema the same way:
// go test ./agent/state -run TestFixture -update-fixture.
var updateFixture = flag.Bool("update-fixture", false, "write testdata/schema<N>.db and its golden dump from buildFixture")

var fixtureNow = time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)

// fixtureKeys are the correlation keys buildFixture uses, and one it does not.
var fixtureKeys = []string{"3f1c6f0e-7f65-4b8a-9c1d-0d2e4f6a8b10", "a7d2e9c4-1b3f-4e5a-8c6d-7e8f9a0b1c2d", "k-unicode-日本", "shared-key", "never-seen"}

// buildFixture writes a store at path holding a bit of everything: alerts in
// every status, with references, fields, a held event and zones; two rules on
// one key; dedup ids; file positions; a silence; pending entries with
// attempts and dead letters for two sinks, with sequence numbers already
// used up. It returns the store, still open.
func buildFixture(t *testing.T, path string) *Store {
	t.Helper()
	now := fixtureNow
	s, err := Open(path, Options{Now: func() time.Time { return fixtureNow }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	berlin := time.FixedZone("", 3600)
	ev := func(id, rule, key, status string, at time.Time) sdk.Event {
		return sdk.Event{ID: id, Rule: rule, Key: key, Status: sdk.Status(status), Severity: "critical",
			Title: "Reload of " + key + " failed", Message: "Task finished with state FinishedFail\nScript line 12: Field not found <Sales>",
			Fields: map[string]string{"TaskName": "Reload Sales – täglich", "AppName": "Sales", "TaskId": key}, Time: at, Host: "qlik-node-1"}
	}
	keys := []string{"3f1c6f0e-7f65-4b8a-9c1d-0d2e4f6a8b10", "a7d2e9c4-1b3f-4e5a-8c6d-7e8f9a0b1c2d", "k-unicode-日本", "shared-key"}
	err = s.Update(func(tx *Tx) error {
		for i, k := range keys {
			at := now.Add(time.Duration(i) * time.Minute).In(berlin)
			a := Alert{Rule: "qlik-reload-failed", Key: k, Status: sdk.StatusFiring, Title: "Reload of " + k + " failed", Severity: "critical",
				Fields: map[string]string{"TaskName": "Reload " + k, "AppId": "app-" + k}, Message: "FinishedFail", FirstSeen: at, LastSeen: at.Add(time.Second),
				Count: i + 1, Instance: 1, LastFired: at}
			switch i {
			case 1:
				a.Status, a.AckedBy = sdk.StatusAcknowledged, "Rene"
				a.Refs = map[string]string{"pager": "2518583650940558238_7647c33f", "chat": "msg-1"}
			case 2:
				a.Status, a.ResolvedBy, a.ResolvedAt, a.Instance = sdk.StatusResolved, "task succeeded", at.Add(time.Hour), 3
			case 3:
				a.HeldBy, a.HeldSince, a.HeldCount, a.HeldUnsent = "sil-1", at, 2, true
				he := ev("held-1", "qlik-reload-failed", k, "firing", at)
				a.HeldEvent, a.HeldSinks = &he, []string{"pager", "hook"}
				a.Suppressed, a.SuppressedSince = 4, at
			}
			if err := tx.PutAlert(a); err != nil {
				return err
			}
			if err := tx.MarkSeen("seen-"+k, at); err != nil {
				return err
			}
		}
		// A second rule on the shared key, for AlertsByKey.
		if err := tx.PutAlert(Alert{Rule: "qlik-reload-aborted", Key: "shared-key", Status: sdk.StatusFiring, Title: "aborted", FirstSeen: now, Instance: 2}); err != nil {
			return err
		}
		if err := tx.SetPosition("file-1", Position{Offset: 12345, Fingerprint: "a1b2c3", Path: `C:\ProgramData\Qlik\Sense\Log\Scheduler\Trace\QS_System_Scheduler.txt`, Updated: now}); err != nil {
			return err
		}
		if err := tx.SetPosition("file-2", Position{Offset: 7, Fingerprint: "ffee", Path: "/var/log/qlik/x.txt", Updated: now.Add(-time.Hour)}); err != nil {
			return err
		}
		if err := tx.PutSilence(silence.Silence{ID: "sil-1", Matchers: []silence.Matcher{}, StartsAt: now, EndsAt: now.Add(2 * time.Hour), Comment: "patching", CreatedBy: "admin", Source: "cli", Suppressed: 2}); err != nil {
			return err
		}
		for i := range 6 {
			if _, err := tx.Enqueue("pager", ev("ev-p"+string(rune('0'+i)), "qlik-reload-failed", keys[i%2], "firing", now.Add(time.Duration(i)*time.Second))); err != nil {
				return err
			}
		}
		for i := range 3 {
			if _, err := tx.Enqueue("hook", ev("ev-h"+string(rune('0'+i)), "qlik-reload-aborted", "shared-key", "resolved", now)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// pager: 1 and 2 delivered, 3 dead, 4 retried twice; hook: 1 dead.
	if err := s.Complete("pager", []Done{{Seq: 1, Result: sdk.Accept("ref-1")}, {Seq: 2, Result: sdk.Accept("")}, {Seq: 3, Result: sdk.Reject("HTTP 400 bad request")}, {Seq: 4, Result: sdk.Retry("HTTP 503", time.Time{})}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Complete("pager", []Done{{Seq: 4, Result: sdk.Retry("timeout", time.Time{})}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Complete("hook", []Done{{Seq: 1, Result: sdk.Reject("HTTP 410 gone")}}); err != nil {
		t.Fatal(err)
	}
	return s
}

func dumpJSON(t *testing.T, s *Store) string {
	t.Helper()
	d, err := dumpStore(s, fixtureKeys)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

func schemaOf(t *testing.T, path string) uint64 {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v uint64
	_ = db.View(func(tx *bolt.Tx) error {
		v = binary.BigEndian.Uint64(tx.Bucket(bucketMeta).Get(keySchema))
		return nil
	})
	return v
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	if err := os.WriteFile(to, []byte(readFile(t, from)), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestFixtureContent: a store of the current schema built from the fixture's
// content answers exactly what the schema 1 release answered for its file.
func TestFixtureContent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "herald.db")
	s := buildFixture(t, path)
	got := dumpJSON(t, s)
	if want := readFile(t, "testdata/schema1.golden.json"); got != want {
		t.Errorf("a new store answers differently from the schema 1 golden dump:\n%s", diffLines(want, got))
	}
	if *updateFixture {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		name := filepath.Join("testdata", "schema"+string(rune('0'+SchemaVersion))+".db")
		copyFile(t, path, name)
		t.Logf("wrote %s", name)
	}
}

// TestMigrateOlderSchemas opens the files the schema 1 and schema 2 releases
// wrote: each is migrated, answers everything that release answered, keeps a
// copy of the old file, continues the sinks' sequence numbers, and works as a
// store.
func TestMigrateOlderSchemas(t *testing.T) {
	for _, from := range []uint64{1, 2} {
		t.Run(fmt.Sprint("schema ", from), func(t *testing.T) { testMigrate(t, from) })
	}
}

func testMigrate(t *testing.T, from uint64) {
	dir := t.TempDir()
	path := filepath.Join(dir, "herald.db")
	fixture := fmt.Sprintf("testdata/schema%d.db", from)
	copyFile(t, fixture, path)

	var logs strings.Builder
	s, err := Open(path, Options{Now: func() time.Time { return fixtureNow }, Logger: testLogger(&logs)})
	if err != nil {
		t.Fatalf("Open of a schema %d file: %v", from, err)
	}
	if got, want := dumpJSON(t, s), readFile(t, "testdata/schema1.golden.json"); got != want {
		t.Errorf("the migrated file answers differently from schema %d:\n%s", from, diffLines(want, got))
	}
	if got, copyPath, ok := s.Migrated(); !ok || got != from || copyPath != path+backupSuffix(from) {
		t.Errorf("Migrated() = %d, %q, %v; want %d, %q, true", got, copyPath, ok, from, path+backupSuffix(from))
	}
	// Schema 1 rewrites every alert; later schemas read the alerts as they are.
	wantLog := map[uint64]string{1: "alerts=5 dedup_ids=4", 2: "alerts=0 dedup_ids=4"}[from]
	if !strings.Contains(logs.String(), "state file migrated") || !strings.Contains(logs.String(), wantLog) {
		t.Errorf("no log line for the migration with its counts (%s):\n%s", wantLog, logs.String())
	}
	// The copy is a file of the old schema with the same content: migrated
	// in turn, it answers the same.
	if v := schemaOf(t, path+backupSuffix(from)); v != from {
		t.Errorf("the copy of the old file has schema %d, want %d", v, from)
	}
	again := filepath.Join(dir, "copy.db")
	copyFile(t, path+backupSuffix(from), again)
	if c, err := Open(again, Options{}); err != nil {
		t.Errorf("Open of the copy: %v", err)
	} else {
		if got, want := dumpJSON(t, c), readFile(t, "testdata/schema1.golden.json"); got != want {
			t.Errorf("the copy of the old file answers differently:\n%s", diffLines(want, got))
		}
		c.Close()
	}

	// It is a working store: sequences continue, alerts are found by key,
	// dedup ids by id, and a new alert and a resolution are kept.
	var seq uint64
	mustUpdate(t, s, func(tx *Tx) error {
		if !tx.Seen("seen-shared-key") || tx.Seen("seen-never-seen") {
			t.Error("dedup ids lost in the migration")
		}
		a, ok := tx.Alert("qlik-reload-failed", "a7d2e9c4-1b3f-4e5a-8c6d-7e8f9a0b1c2d")
		if !ok || a.Refs["pager"] != "2518583650940558238_7647c33f" {
			t.Errorf("alert after migration = %+v, %v", a, ok)
		}
		a.Status = sdk.StatusResolved
		if err := tx.PutAlert(a); err != nil {
			return err
		}
		if err := tx.PutAlert(Alert{Rule: "qlik-reload-failed", Key: "new", Status: sdk.StatusFiring}); err != nil {
			return err
		}
		var err error
		seq, err = tx.Enqueue("pager", event("new-1", "qlik-reload-failed", "new"))
		return err
	})
	if seq != 7 {
		t.Errorf("first sequence number after migration = %d, want 7 (pager had used 1-6)", seq)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if v := schemaOf(t, path); v != SchemaVersion {
		t.Fatalf("schema after migration = %d, want %d", v, SchemaVersion)
	}

	// Opening again does not migrate again and finds what was written.
	logs.Reset()
	s, err = Open(path, Options{Logger: testLogger(&logs)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, _, ok := s.Migrated(); strings.Contains(logs.String(), "migrated") || ok {
		t.Errorf("migrated twice (Migrated() = %v):\n%s", ok, logs.String())
	}
	_ = s.View(func(tx *Tx) error {
		if a, ok := tx.Alert("qlik-reload-failed", "a7d2e9c4-1b3f-4e5a-8c6d-7e8f9a0b1c2d"); !ok || a.Status != sdk.StatusResolved {
			t.Errorf("resolution lost: %+v %v", a, ok)
		}
		if _, ok := tx.Alert("qlik-reload-failed", "new"); !ok {
			t.Error("new alert lost")
		}
		if n := len(tx.AlertsByKey("shared-key")); n != 2 {
			t.Errorf("AlertsByKey(shared-key) = %d alerts, want 2", n)
		}
		return nil
	})
}

// TestMigrateDamagedSchema1 turns an alert a schema 1 file cannot decode into
// the corrupt-file error, and leaves the file as it was.
func TestMigrateDamagedSchema1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "herald.db")
	copyFile(t, "testdata/schema1.db", path)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketAlerts).Put([]byte("\x05brokenkey"), []byte(`{"rule":`))
	})
	_ = db.Close()
	before := readFile(t, path)
	_, err = Open(path, Options{})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "brokenkey") {
		t.Fatalf("Open = %v, want ErrCorrupt naming the alert", err)
	}
	if readFile(t, path) != before {
		t.Error("a failed migration changed the file")
	}
	if v := schemaOf(t, path); v != 1 {
		t.Errorf("schema after a failed migration = %d, want 1", v)
	}
}

func testLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, nil))
}

// diffLines is a line diff of want and got: "-" lines are only in want.
func diffLines(want, got string) string { return diff.Diff(want, got) }
