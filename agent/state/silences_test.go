package state

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/heraldhq/herald/agent/silence"
	"github.com/heraldhq/herald/plugins/sdk"
)

func TestSilencesRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "herald.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 29, 2, 0, 0, 0, time.FixedZone("", 3600))
	m, _ := silence.ParseMatcher(`task_name=~"Finance.*"`)
	want := silence.Silence{ID: "b1", Matchers: []silence.Matcher{m}, StartsAt: at, EndsAt: at.Add(2 * time.Hour),
		Comment: "DB upgrade", CreatedBy: "ops", Source: "cli", Suppressed: 3, ExpiredBy: "ops", Released: true}
	early := silence.Silence{ID: "a2", StartsAt: at.Add(-time.Hour), EndsAt: at, Comment: "earlier"}
	held := sdk.Event{ID: "e", Rule: "r", Key: "k", Status: sdk.StatusFiring, Time: at, Fields: map[string]string{"a": "b"}}
	err = s.Update(func(tx *Tx) error {
		if err := tx.PutSilence(want); err != nil {
			return err
		}
		if err := tx.PutSilence(early); err != nil {
			return err
		}
		return tx.PutAlert(Alert{Rule: "r", Key: "k", Status: sdk.StatusFiring, HeldBy: "b1", HeldSince: at, HeldCount: 2,
			HeldUnsent: true, HeldEvent: &held, HeldSinks: []string{"pager"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(path, Options{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.View(func(tx *Tx) error {
		got, ok := tx.Silence("b1")
		// Decoded matchers are not compiled: compare what is stored.
		if !ok || got.ID != want.ID || !got.StartsAt.Equal(want.StartsAt) || !got.EndsAt.Equal(want.EndsAt) ||
			got.Matchers[0].String() != m.String() || got.Comment != want.Comment || got.CreatedBy != want.CreatedBy ||
			got.Source != want.Source || got.Suppressed != 3 || got.ExpiredBy != "ops" || !got.Released {
			t.Errorf("Silence(b1) = %+v, %v; want %+v", got, ok, want)
		}
		if _, ok := tx.Silence("nope"); ok {
			t.Error("Silence(nope) found")
		}
		list := tx.Silences(nil)
		if len(list) != 2 || list[0].ID != "a2" || list[1].ID != "b1" {
			t.Errorf("Silences = %+v, want a2 then b1 (by start)", list)
		}
		a, _ := tx.Alert("r", "k")
		if a.HeldBy != "b1" || a.HeldCount != 2 || !a.HeldUnsent || a.HeldEvent == nil || a.HeldEvent.Fields["a"] != "b" ||
			!reflect.DeepEqual(a.HeldSinks, []string{"pager"}) || !a.HeldSince.Equal(at) {
			t.Errorf("held alert = %+v", a)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(func(tx *Tx) error { return tx.DeleteSilence("a2") }); err != nil {
		t.Fatal(err)
	}
	if list, err := s.Silences(nil); err != nil || len(list) != 1 {
		t.Errorf("after delete: %v, %v", list, err)
	}
}

// TestSilencesBucketAdded: a file written before the silences bucket
// existed (it was added to schema 1 without a new version) opens, gets the
// bucket, and keeps its schema version.
func TestSilencesBucketAdded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "herald.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketSilences) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if s, err = Open(path, Options{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(func(tx *Tx) error { return tx.PutSilence(silence.Silence{ID: "x"}) }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if v := schemaOf(t, path); v != SchemaVersion {
		t.Errorf("schema version = %d after the silences bucket was added, want %d", v, SchemaVersion)
	}
}
