package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/heraldhq/herald/agent"
	"github.com/heraldhq/herald/plugins/host"
	"github.com/heraldhq/herald/plugins/sdk"
)

// Test events are marked by their rule id, their key prefix and a field, so
// that a receiving system can filter them out.
const (
	testRule      = "herald-test"
	testKeyPrefix = "herald-test-"
)

func newSendTestCmd() *cobra.Command {
	var cfgPath, sink string
	var resolve bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "send-test --sink NAME",
		Short: "Send one test alert through a sink and show what it answered",
		Long: `Send-test starts the plugin of one sink from the config, sends it a single test
event and prints the sink's answer:

  accepted   the destination took it (with its reference, if it gave one)
  retryable  a passing failure (rate limit, server error, network); the agent
             would retry, not before the time shown if the sink gave one
  rejected   refused for good (bad URL, credentials or payload), with the reason

The event is clearly marked: title "Herald test alert", rule "herald-test",
key "herald-test-<unix time>", status firing, severity info and the field
Test=true. It bypasses the agent's queue and state, so it can be run beside a
running agent. With --resolve, a resolution of the test alert follows once it
was accepted, so that paging tools like SIGNL4 close it again.

Exit status: 0 when the sink accepted the event, 1 when it did not (or its
plugin failed), 2 for an unknown sink or a config problem.`,
		Example: `  herald send-test --config 'C:\ProgramData\Herald\herald.toml' --sink pager
  herald send-test --config herald.toml --sink pager --resolve`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if sink == "" {
				return usageError(errors.New("--sink is required: name the [[sink]] to test"))
			}
			a, cfg, _, err := loadAgentQuiet(cfgPath, cmd.ErrOrStderr(), true)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			ev := testEvent(cfg.Agent.Host, time.Now())
			ok, err := sendTest(ctx, cmd.OutOrStdout(), a, sink, ev)
			if err != nil || !ok || !resolve {
				return err
			}
			res := ev
			res.ID += "-resolved"
			res.Status = sdk.StatusResolved
			res.Title = "Herald test alert resolved"
			res.Message = "The Herald test alert " + ev.Key + " is resolved. No action is needed."
			res.Time = time.Now()
			_, err = sendTest(ctx, cmd.OutOrStdout(), a, sink, res)
			return err
		},
	}
	cmd.Flags().StringVarP(&cfgPath, "config", "c", "herald.toml", "config file")
	cmd.Flags().StringVar(&sink, "sink", "", "name of the [[sink]] to send through (required)")
	cmd.Flags().BoolVar(&resolve, "resolve", false, "after it is accepted, send the test alert's resolution too")
	cmd.Flags().DurationVar(&timeout, "timeout", time.Minute, "give up after this long (plugin start and send)")
	return cmd
}

// testEvent is the event send-test sends.
func testEvent(hostName string, now time.Time) sdk.Event {
	key := fmt.Sprintf("%s%d", testKeyPrefix, now.Unix())
	return sdk.Event{
		ID:       fmt.Sprintf("%s%d", testKeyPrefix, now.UnixNano()),
		Rule:     testRule,
		Status:   sdk.StatusFiring,
		Key:      key,
		Severity: "info",
		Title:    "Herald test alert",
		Message: fmt.Sprintf("This is a test alert sent by `herald send-test` from host %s at %s. No action is needed.",
			hostName, now.Local().Format(time.RFC3339)),
		// The qliksense pack's fields, so that a receiver keyed on them (Butler's
		// taskName, Alertmanager's task_name label, a chat template's
		// {{.Fields.TaskName}}) shows a test rather than an empty task.
		Fields: map[string]string{"Test": "true", "TaskName": "Herald test alert", "AppName": "Herald test", "TaskId": key},
		Time:   now,
		Host:   hostName,
	}
}

// sendTest sends ev through the sink, prints the outcome and reports whether
// the sink accepted it. A result other than accepted is an error (exit
// status 1); an unknown sink or a rejected sink config is a usage error.
func sendTest(ctx context.Context, out io.Writer, a *agent.Agent, sink string, ev sdk.Event) (bool, error) {
	res, err := a.SendTest(ctx, sink, ev)
	var ce *host.ConfigError
	switch {
	case errors.Is(err, agent.ErrNoSink), errors.As(err, &ce):
		return false, usageError(err)
	case err != nil:
		return false, err
	}
	what := fmt.Sprintf("sink %q: %s event %s", sink, ev.Status, ev.Key)
	switch res.Outcome {
	case sdk.Accepted:
		if res.Ref != "" {
			fmt.Fprintf(out, "%s: accepted (reference %s)\n", what, res.Ref)
		} else {
			fmt.Fprintf(out, "%s: accepted\n", what)
		}
		return true, nil
	case sdk.Retryable:
		retry := ""
		if !res.RetryAt.IsZero() {
			retry = "; retry at " + stamp(res.RetryAt)
		}
		fmt.Fprintf(out, "%s: retryable: %s%s\n", what, orUnknown(res.Reason), retry)
		return false, &exitError{code: 1, err: fmt.Errorf("sink %q did not accept the test event (retryable)", sink)}
	case sdk.Rejected:
		fmt.Fprintf(out, "%s: rejected: %s\n", what, orUnknown(res.Reason))
		return false, &exitError{code: 1, err: fmt.Errorf("sink %q rejected the test event", sink)}
	}
	return false, fmt.Errorf("sink %q: answered with outcome %v", sink, res.Outcome)
}
