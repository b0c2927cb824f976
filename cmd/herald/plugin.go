package main

import (
	"fmt"
	"strings"

	"github.com/heraldhq/herald/plugins/sdk"
	sinksall "github.com/heraldhq/herald/sinks/all"
	"github.com/spf13/cobra"
)

func newPluginCmd() *cobra.Command {
	plugin := &cobra.Command{
		Use:   "plugin",
		Short: "Plugin commands (used by the agent itself)",
	}
	plugin.AddCommand(&cobra.Command{
		Use:   "serve NAME",
		Short: "Serve a built-in sink as a plugin process",
		Long: `Serve runs a built-in sink (` + strings.Join(sinksall.Names(), ", ") + `) as a go-plugin
process. The agent starts it this way itself; you never need to run it by hand.`,
		Example: `  herald plugin serve webhook   # what the agent runs for [[sink]] plugin = "webhook"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			newSink, ok := sinksall.Lookup(args[0])
			if !ok {
				return usageError(fmt.Errorf("no built-in sink %q (have: %s)", args[0], strings.Join(sinksall.Names(), ", ")))
			}
			sdk.Serve(newSink())
			return nil
		},
	})
	return plugin
}
