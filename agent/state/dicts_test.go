package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/heraldhq/herald/plugins/sdk"
)

// qlikAlert is the alert the qliksense pack raises for a failed reload,
// with ids as random as Qlik's.
func qlikAlert(r *rand.Rand, n int) Alert {
	guid := func() string {
		return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xffff, r.Uint32()&0xffff, r.Uint64()&(1<<48-1))
	}
	task, app, exec := guid(), guid(), guid()
	name, appName := fmt.Sprintf("Reload failing app %d", n), fmt.Sprintf("Finance Cube %d", n)
	at := t0.Add(time.Duration(n) * time.Second)
	return Alert{
		Rule: "qlik-reload-failed", Key: task, Status: sdk.StatusFiring, Severity: "critical", Instance: 1, Count: 1,
		Title: "Qlik Sense reload failed: " + name,
		Fields: map[string]string{"AppId": app, "AppName": appName, "ExecutionId": exec, "Hostname": "QS-NODE1",
			"TaskId": task, "TaskName": name, "User": `INTERNAL\sa_scheduler`},
		Message: fmt.Sprintf(`Reload task "%s" failed for app "%s" (app id %s), reported by the scheduler on QS-NODE1. `+
			`Execution %s. Script log: %%ProgramData%%\Qlik\Sense\Log\Script\%s.*.log on the node that ran the reload.`, name, appName, app, exec, app),
		FirstSeen: at, LastSeen: at, LastFired: at,
	}
}

// storedSize is the size of the record stored for the alert of rule and key.
func storedSize(t *testing.T, s *Store, rule, key string) int {
	t.Helper()
	n := 0
	_ = s.View(func(tx *Tx) error {
		_, v, ok := tx.findAlert(rule, key, alertKey(rule, key))
		if !ok {
			t.Fatalf("alert %s/%s not found", rule, key)
		}
		n = len(v)
		return nil
	})
	return n
}

// TestCompressedRecordSize: a rule's first alert makes its dictionary, and
// the alerts after it are stored in less than half their size, as are their
// outbox entries; they read back as written, also after a restart.
func TestCompressedRecordSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "herald.db")
	s := openTest(t, path)
	r := rand.New(rand.NewPCG(1, 2))
	var alerts []Alert
	for i := range 100 {
		alerts = append(alerts, qlikAlert(r, i))
	}
	mustUpdate(t, s, func(tx *Tx) error {
		for _, a := range alerts {
			if err := tx.PutAlert(a); err != nil {
				return err
			}
			ev := sdk.Event{ID: "ev-" + a.Key, Rule: a.Rule, Status: a.Status, Key: a.Key, Severity: a.Severity,
				Title: a.Title, Message: a.Message, Fields: a.Fields, Time: a.FirstSeen, Host: "QS-NODE1"}
			if _, err := tx.Enqueue("webhook", ev); err != nil {
				return err
			}
		}
		return nil
	})
	plain, packed := 0, 0
	for _, a := range alerts[1:] {
		plain += len(appendAlertRecord(nil, &a))
		packed += storedSize(t, s, a.Rule, a.Key)
	}
	t.Logf("alert records: %d bytes uncompressed, %d stored (%.0f %%)", plain/99, packed/99, 100*float64(packed)/float64(plain))
	if packed*2 > plain {
		t.Errorf("alerts stored in %d bytes each, uncompressed %d: want less than half", packed/99, plain/99)
	}
	entries := 0
	_ = s.View(func(tx *Tx) error {
		b, _ := tx.sinkBucket(bucketOutbox, "webhook", false)
		return b.ForEach(func(_, v []byte) error { entries += len(v); return nil })
	})
	if entries*2 > plain {
		t.Errorf("outbox entries stored in %d bytes each: want less than half of %d", entries/100, plain/100)
	}

	// After a restart the dictionary is read from the file.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, path)
	_ = s.View(func(tx *Tx) error {
		for _, want := range alerts {
			if got, ok := tx.Alert(want.Rule, want.Key); !ok || !reflect.DeepEqual(got, normalized(want)) {
				t.Fatalf("alert %s after a restart = %+v, %v", want.Key, got, ok)
			}
		}
		return nil
	})
	if got := pendingIDs(t, s, "webhook"); len(got) != 100 || got[99] != "ev-"+alerts[99].Key {
		t.Errorf("outbox after a restart: %d entries, last %q", len(got), got[len(got)-1])
	}
}

// TestDictionaryOfAFailedTransaction: a dictionary made in a transaction that
// fails, in fn or in its commit, is forgotten with it, and the next
// transaction makes its own under the same id.
func TestDictionaryOfAFailedTransaction(t *testing.T) {
	path := filepath.Join(t.TempDir(), "herald.db")
	s, err := Open(path, Options{MaxSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := rand.New(rand.NewPCG(3, 4))
	failed := errors.New("rule evaluation failed")
	if err := s.Update(func(tx *Tx) error {
		if err := tx.PutAlert(qlikAlert(r, 1)); err != nil {
			return err
		}
		return failed
	}); !errors.Is(err, failed) {
		t.Fatalf("Update = %v, want %v", err, failed)
	}
	// A commit that fails: a dictionary and more than the file may hold.
	big := qlikAlert(r, 2)
	big.Rule = "other-rule"
	err = s.Update(func(tx *Tx) error {
		if err := tx.PutAlert(big); err != nil {
			return err
		}
		a := qlikAlert(r, 3)
		a.Message = incompressible("big", 2<<20)
		return tx.PutAlert(a)
	})
	if err == nil || !strings.HasPrefix(err.Error(), "state: commit: ") {
		t.Fatalf("Update = %v, want a failed commit", err)
	}
	if n := len(s.dicts.byRule); n != 0 || s.dicts.get(1) != nil {
		t.Fatalf("dictionaries of failed transactions kept: %v", s.dicts.byRule)
	}
	kept := qlikAlert(r, 4)
	mustUpdate(t, s, func(tx *Tx) error { return tx.PutAlert(kept) })
	if id := s.dicts.byRule[kept.Rule]; id != 1 {
		t.Errorf("the first dictionary committed has id %d, want 1", id)
	}
	_ = s.View(func(tx *Tx) error {
		if got, ok := tx.Alert(kept.Rule, kept.Key); !ok || got.Message != kept.Message {
			t.Errorf("alert = %+v, %v", got, ok)
		}
		return nil
	})
}

// TestDictionaryLimit: past maxDicts, a new rule's records are stored
// uncompressed, and read back.
func TestDictionaryLimit(t *testing.T) {
	defer func(n int) { maxDicts = n }(maxDicts)
	maxDicts = 2
	s := openTest(t, "")
	r := rand.New(rand.NewPCG(5, 6))
	var alerts []Alert
	mustUpdate(t, s, func(tx *Tx) error {
		for i := range 4 {
			a := qlikAlert(r, i)
			a.Rule = fmt.Sprint("rule-", i)
			alerts = append(alerts, a)
			if err := tx.PutAlert(a); err != nil {
				return err
			}
		}
		return nil
	})
	if n := len(s.dicts.byRule); n != 2 {
		t.Errorf("%d dictionaries, want 2", n)
	}
	for i, a := range alerts {
		packed := storedSize(t, s, a.Rule, a.Key) < len(appendAlertRecord(nil, &a))
		if packed != (i < 2) {
			t.Errorf("alert of %s compressed: %v", a.Rule, packed)
		}
	}
	_ = s.View(func(tx *Tx) error {
		for _, a := range tx.Alerts(nil) {
			if want := alerts[a.Rule[len(a.Rule)-1]-'0']; a.Message != want.Message {
				t.Errorf("%s: message %q, want %q", a.Rule, a.Message, want.Message)
			}
		}
		return nil
	})
}

// TestDamagedDictionary: a dictionary the file cannot give back is the
// corrupt-file error at Open, naming it.
func TestDamagedDictionary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "herald.db")
	s := openTest(t, path)
	mustUpdate(t, s, func(tx *Tx) error { return tx.PutAlert(qlikAlert(rand.New(rand.NewPCG(7, 8)), 1)) })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDicts).Put(binary.BigEndian.AppendUint64(nil, 1), []byte{3, 'r'})
	})
	_ = db.Close()
	if _, err := Open(path, Options{}); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "dictionary 1") {
		t.Fatalf("Open = %v, want ErrCorrupt naming dictionary 1", err)
	}
}
