package state

import (
	"path/filepath"
	"testing"

	"github.com/heraldhq/herald/plugins/sdk"
)

// AlertRef answers a sink no alert has a reference of without a lookup; a
// reference stored by Complete, by PutAlert in the same transaction, or found
// in the file at Open is still found.
func TestAlertRefKnowsSinksWithRefs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "herald.db")
	s := openTest(t, path)
	mustUpdate(t, s, func(tx *Tx) error {
		if err := tx.PutAlert(Alert{Rule: "r", Key: "k", Status: sdk.StatusFiring, Instance: 1}); err != nil {
			return err
		}
		_, err := tx.Enqueue("pager", event("e1", "r", "k"))
		return err
	})
	ref := func(s *Store, sink string) (got string) {
		_ = s.View(func(tx *Tx) error { got = tx.AlertRef("r", "k", sink, 1); return nil })
		return got
	}
	if got := ref(s, "pager"); got != "" {
		t.Fatalf("AlertRef before any reference = %q", got)
	}
	if err := s.Complete("pager", []Done{{Seq: 1, Result: sdk.Accept("ev-1")}}); err != nil {
		t.Fatal(err)
	}
	if got := ref(s, "pager"); got != "ev-1" {
		t.Fatalf("AlertRef after Complete stored a reference = %q, want ev-1", got)
	}
	// In one transaction: put with a reference of a new sink, then read it.
	mustUpdate(t, s, func(tx *Tx) error {
		a, _ := tx.Alert("r", "k")
		a.Refs["chat"] = "msg-9"
		if err := tx.PutAlert(a); err != nil {
			return err
		}
		if got := tx.AlertRef("r", "k", "chat", 1); got != "msg-9" {
			t.Errorf("AlertRef in the transaction that stored it = %q", got)
		}
		return nil
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, path)
	if got, got2 := ref(s, "pager"), ref(s, "chat"); got != "ev-1" || got2 != "msg-9" {
		t.Fatalf("AlertRef after reopening = %q, %q; want ev-1, msg-9", got, got2)
	}
	if got := ref(s, "hook"); got != "" {
		t.Fatalf("AlertRef of a sink without references = %q", got)
	}
}

// A lookup that finds nothing is remembered for the transaction, and
// forgotten when the alert is put: the lifecycle looks a new alert up, puts
// it, and reads it back.
func TestAbsentAlertThenPut(t *testing.T) {
	s := openTest(t, "")
	mustUpdate(t, s, func(tx *Tx) error {
		if _, ok := tx.Alert("r", "k"); ok {
			t.Fatal("found an alert in an empty store")
		}
		if err := tx.PutAlert(Alert{Rule: "r", Key: "k", Status: sdk.StatusFiring}); err != nil {
			return err
		}
		if _, ok := tx.Alert("r", "k"); !ok {
			t.Error("the alert just put is not found")
		}
		if err := tx.DeleteAlert("r", "k"); err != nil {
			return err
		}
		if _, ok := tx.Alert("r", "k"); ok {
			t.Error("a deleted alert is found")
		}
		return tx.PutAlert(Alert{Rule: "r", Key: "k", Status: sdk.StatusResolved})
	})
	_ = s.View(func(tx *Tx) error {
		if a, ok := tx.Alert("r", "k"); !ok || a.Status != sdk.StatusResolved {
			t.Errorf("after delete and put again: %+v, %v", a, ok)
		}
		if n := len(tx.Alerts(nil)); n != 1 {
			t.Errorf("%d alerts stored, want 1", n)
		}
		return nil
	})
}

// Several values under one hash (a key shared by rules, or a collision)
// are all kept, and removing one keeps the others.
func TestHashIndexSharedHash(t *testing.T) {
	x := newHashIndex()
	for _, v := range []uint64{7, 9, 11, 9} {
		x.add(42, v)
	}
	if got := x.appendValues(nil, 42); len(got) != 3 || got[0] != 7 || got[1] != 9 || got[2] != 11 {
		t.Fatalf("values = %v, want [7 9 11]", got)
	}
	x.remove(42, 7)
	if got := x.appendValues(nil, 42); len(got) != 2 || got[0] != 9 || got[1] != 11 {
		t.Fatalf("after removing the first: %v, want [9 11]", got)
	}
	x.remove(42, 11)
	x.remove(42, 12) // not there
	if got := x.appendValues(nil, 42); len(got) != 1 || got[0] != 9 || len(x.one) != 1 || len(x.more) != 0 {
		t.Fatalf("after removing 11: %v (one %v, more %v), want [9]", got, x.one, x.more)
	}
	x.remove(42, 9)
	if len(x.one) != 0 || len(x.more) != 0 {
		t.Fatalf("index not empty: %+v", x)
	}
}
