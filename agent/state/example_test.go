package state_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/heraldhq/herald/agent/state"
	"github.com/heraldhq/herald/plugins/sdk"
)

// The pipeline records everything one batch of log lines produced in one
// transaction: the file position, the alert, the dedup id and the outbox entry.
func ExampleStore_Update() {
	dir, _ := os.MkdirTemp("", "herald")
	defer os.RemoveAll(dir)
	s, err := state.Open(filepath.Join(dir, "herald.db"), state.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	now := time.Now()
	ev := sdk.Event{ID: "ev-1", Rule: "reload-failed", Key: "task-42", Status: sdk.StatusFiring, Title: "Reload failed"}
	err = s.Update(func(tx *state.Tx) error {
		if tx.Seen(ev.ID) {
			return nil
		}
		if err := tx.MarkSeen(ev.ID, now); err != nil {
			return err
		}
		if err := tx.PutAlert(state.Alert{Rule: ev.Rule, Key: ev.Key, Status: ev.Status, FirstSeen: now, LastSeen: now, Count: 1}); err != nil {
			return err
		}
		if _, err := tx.Enqueue("pager", ev); err != nil {
			return err
		}
		return tx.SetPosition("scheduler/abc123", state.Position{Offset: 8192, Updated: now})
	})
	if err != nil {
		log.Fatal(err)
	}

	// The dispatcher reads the outbox and records what the sink answered.
	pending, _ := s.Pending("pager", 100)
	fmt.Println("pending:", len(pending), pending[0].Event.ID)
	_ = s.Complete("pager", []state.Done{{Seq: pending[0].Seq, Result: sdk.Accept("signl4-evt-7")}})
	_ = s.View(func(tx *state.Tx) error {
		a, _ := tx.Alert("reload-failed", "task-42")
		n, _ := s.Depth("pager")
		fmt.Println("ref:", a.Refs["pager"], "depth:", n)
		return nil
	})
	// Output:
	// pending: 1 ev-1
	// ref: signl4-evt-7 depth: 0
}
