package state

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/heraldhq/herald/agent/silence"
)

// PutSilence saves s, replacing the silence with the same ID.
func (t *Tx) PutSilence(s silence.Silence) error {
	if s.ID == "" {
		return fmt.Errorf("state: put silence %q: empty id", s.Comment)
	}
	if err := putJSON(t.tx.Bucket(bucketSilences), []byte(s.ID), s); err != nil {
		return fmt.Errorf("state: put silence %s: %w", s.ID, err)
	}
	return nil
}

// Silence returns the silence with id and whether there is one.
func (t *Tx) Silence(id string) (silence.Silence, bool) {
	var s silence.Silence
	ok, err := getJSON(t.tx.Bucket(bucketSilences), []byte(id), &s)
	if err != nil {
		t.fail(fmt.Errorf("state: silence %q: %w", id, err))
		return silence.Silence{}, false
	}
	return s, ok
}

// Silences returns the silences for which keep returns true (all of them
// when keep is nil), by start and then id.
func (t *Tx) Silences(keep func(silence.Silence) bool) []silence.Silence {
	var out []silence.Silence
	_ = t.tx.Bucket(bucketSilences).ForEach(func(k, v []byte) error {
		var s silence.Silence
		if err := json.Unmarshal(v, &s); err != nil {
			t.fail(fmt.Errorf("state: silence %q: %w", k, err))
			return nil
		}
		if keep == nil || keep(s) {
			out = append(out, s)
		}
		return nil
	})
	slices.SortFunc(out, func(a, b silence.Silence) int {
		return cmp.Or(a.StartsAt.Compare(b.StartsAt), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// DeleteSilence forgets the silence with id, if any.
func (t *Tx) DeleteSilence(id string) error {
	if err := t.tx.Bucket(bucketSilences).Delete([]byte(id)); err != nil {
		return fmt.Errorf("state: delete silence %s: %w", id, err)
	}
	return nil
}

// Silences returns the silences in the store (see Tx.Silences).
func (s *Store) Silences(keep func(silence.Silence) bool) ([]silence.Silence, error) {
	var out []silence.Silence
	err := s.View(func(tx *Tx) error {
		out = tx.Silences(keep)
		return nil
	})
	return out, err
}
