package main

import (
	"fmt"
	"io"

	"github.com/heraldhq/herald/agent/state"
)

// openState opens the state file for a command other than run, and says on
// w when opening it converted it from an older release's format: the agent
// logs that, but a command has no log, and the copy it leaves beside the
// file should not come as a surprise.
func openState(path string, opts state.Options, w io.Writer) (*state.Store, error) {
	store, err := state.Open(path, opts)
	if err != nil {
		return nil, err
	}
	if from, copyPath, ok := store.Migrated(); ok {
		fmt.Fprintf(w, "herald: converted the state file %s from schema %d to %d; the file as it was is kept as %s\n",
			path, from, state.SchemaVersion, copyPath)
	}
	return store, nil
}
