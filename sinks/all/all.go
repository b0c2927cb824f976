// Package all knows every built-in sink by the name a [[sink]]'s plugin key
// uses. The agent runs a built-in sink by re-executing itself as
// `herald plugin serve NAME`, which looks the sink up here and serves it with
// sdk.Serve.
package all

import (
	"slices"

	"github.com/heraldhq/herald/plugins/sdk"
	"github.com/heraldhq/herald/sinks/alertmanager"
	"github.com/heraldhq/herald/sinks/console"
	"github.com/heraldhq/herald/sinks/rocketchat"
	"github.com/heraldhq/herald/sinks/signl4"
	"github.com/heraldhq/herald/sinks/webhook"
)

// builtins is fixed at compile time, with no registration and no mutable
// package state. One line per sink, sorted by name.
var builtins = map[string]func() sdk.Sink{
	alertmanager.Name: func() sdk.Sink { return alertmanager.New() },
	console.Name:      func() sdk.Sink { return console.New() },
	rocketchat.Name:   func() sdk.Sink { return rocketchat.New() },
	signl4.Name:       func() sdk.Sink { return signl4.New() },
	webhook.Name:      func() sdk.Sink { return webhook.New() },
}

// Lookup returns the constructor of the built-in sink called name.
func Lookup(name string) (func() sdk.Sink, bool) {
	f, ok := builtins[name]
	return f, ok
}

// Names returns the names of the built-in sinks, sorted.
func Names() []string {
	names := make([]string, 0, len(builtins))
	for n := range builtins {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
