package main

import "context"

// reloadSignal returns nil on Windows, which has no SIGHUP: a change to the
// config or rule files reloads the agent instead.
func reloadSignal(context.Context) <-chan struct{} { return nil }
