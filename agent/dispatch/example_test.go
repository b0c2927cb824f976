package dispatch_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/heraldhq/herald/agent/dispatch"
	"github.com/heraldhq/herald/agent/state"
	"github.com/heraldhq/herald/plugins/sdk"
)

// printSender stands in for a sink plugin: it prints and accepts every event.
type printSender struct{ stop context.CancelFunc }

func (p printSender) Send(_ context.Context, events []sdk.Event) ([]sdk.Result, error) {
	results := make([]sdk.Result, len(events))
	for i, ev := range events {
		fmt.Println("sent", ev.ID, ev.Status, ev.Key)
		results[i] = sdk.Accept("")
	}
	p.stop() // end the example after one batch
	return results, nil
}

func Example() {
	dir, _ := os.MkdirTemp("", "herald")
	defer os.RemoveAll(dir)
	store, err := state.Open(filepath.Join(dir, "herald.db"), state.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	ctx, cancel := context.WithCancel(context.Background())
	d := dispatch.New(dispatch.Config{
		Sink:    "pager",
		Store:   store,
		Connect: func(context.Context) (dispatch.Sender, error) { return printSender{cancel}, nil },
	})

	// The pipeline enqueues in its transaction, then notifies.
	err = store.Update(func(tx *state.Tx) error {
		_, err := tx.Enqueue("pager", sdk.Event{ID: "ev-1", Rule: "reload-failed", Key: "task-42", Status: sdk.StatusFiring})
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
	d.Notify()

	if err := d.Run(ctx); err != nil {
		log.Fatal(err)
	}
	n, _ := store.Depth("pager")
	fmt.Println("still pending:", n)
	// Output:
	// sent ev-1 firing task-42
	// still pending: 0
}
