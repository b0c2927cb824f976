// Command herald is the Herald agent: it tails Qlik Sense logs, matches rules and
// delivers alerts through sink plugins. See README.md.

// Since Go 1.25 the runtime re-reads the CPU count, affinity and cgroup quota
// about once a second to adjust GOMAXPROCS. An agent on a Qlik node does not
// move between containers, and that timer is most of what wakes an idle agent.
//
//go:debug updatemaxprocs=0
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// exitError carries a process exit status: 2 for bad config or usage, 1 otherwise.
type exitError struct {
	code int
	err  error
	// reported says the command has already written what went wrong (herald
	// check --format json): main only exits with code.
	reported bool
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageError marks err as the user's input being wrong (exit status 2).
func usageError(err error) error { return &exitError{code: 2, err: err} }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		var ee *exitError
		if !errors.As(err, &ee) || !ee.reported {
			fmt.Fprintln(os.Stderr, "herald:", err)
		}
		if ee != nil {
			os.Exit(ee.code)
		}
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "herald",
		Short: "Alerting agent for Qlik Sense: tails scheduler logs, matches rules, delivers alerts",
		Long: `Herald tails the Qlik Sense scheduler logs on this node, matches each record
against rules, and delivers alert events through sink plugins (SIGNL4, webhook,
Rocket.Chat, console, or your own). A failed or aborted reload raises an alert; the
next successful run of the same task resolves it.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newRunCmd(), newCheckCmd(), newVersionCmd(), newPluginCmd(), newOutboxCmd(), newImportCmd())
	root.AddCommand(newServiceCmd())
	root.AddCommand(newSendTestCmd())
	root.AddCommand(newRulesCmd())
	root.AddCommand(newAlertsCmd())
	root.AddCommand(newSilenceCmd())
	root.PersistentFlags().StringVar(&envFileFlag, "env-file", "",
		"file of NAME=value secrets for the config's ${NAME} (default: herald.env beside the config, when it exists)")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	return root
}
