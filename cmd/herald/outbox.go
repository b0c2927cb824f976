package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/heraldhq/herald/agent"
	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/agent/state"
	"github.com/heraldhq/herald/plugins/sdk"
	"github.com/spf13/cobra"
)

// outboxFlags are the flags every `herald outbox` subcommand shares.
type outboxFlags struct {
	config string
	sink   string
	dead   bool
	all    bool
	json   bool
}

func newOutboxCmd() *cobra.Command {
	// Each subcommand has its own flag values (a default written by one
	// BoolVar must not leak into another); config and sink are shared.
	f, lf, rf, df := &outboxFlags{}, &outboxFlags{}, &outboxFlags{}, &outboxFlags{}
	shared := func(sub *outboxFlags) *outboxFlags { sub.config, sub.sink = f.config, f.sink; return sub }
	cmd := &cobra.Command{
		Use:   "outbox",
		Short: "List, retry or drop the events waiting for a sink and its dead letters",
		Long: `Every sink has an outbox: the events not yet delivered, oldest first. Events a
sink refused for good (a bad request, bad credentials) are moved to the sink's
dead letters with the reason. Both live in the state file in [agent] data_dir.

  herald outbox [list]    shows pending events and dead letters, per sink
  herald outbox retry     moves dead letters back into the outbox
  herald outbox drop      deletes pending events (or, with --dead, dead letters)

The agent holds the state file locked while it runs, so stop it (or the Windows
service) first; herald outbox says so when it finds the file locked. Retried
events are sent when the agent next starts, after everything already waiting.`,
		Example: `  herald outbox --config herald.toml
  herald outbox list --config herald.toml --sink pager --dead
  herald outbox retry --config herald.toml --sink pager --all
  herald outbox drop --config herald.toml --sink pager 17 18
  herald outbox drop --config herald.toml --sink pager --dead --all`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return outboxList(cmd.OutOrStdout(), f) },
	}
	cmd.PersistentFlags().StringVarP(&f.config, "config", "c", "herald.toml", "config file (its [agent] data_dir holds the state)")
	cmd.PersistentFlags().StringVar(&f.sink, "sink", "", "only this sink (required for retry and drop)")
	cmd.Flags().BoolVar(&f.dead, "dead", false, "only dead letters")
	cmd.Flags().BoolVar(&f.json, "json", false, "print one JSON object per event, with the whole event")

	list := &cobra.Command{
		Use:   "list",
		Short: "List pending events and dead letters per sink (the default)",
		Long: `List prints, per sink, how many events are pending and dead, then one row per
event: its sequence number (what retry and drop take), how long ago it was
queued, how many sends the sink answered as retryable, the rule, status, key and
title of the event, and the last error (pending) or the reason the sink gave
(dead).`,
		Example: `  herald outbox list --config herald.toml
  herald outbox list --config herald.toml --sink pager --dead --json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return outboxList(cmd.OutOrStdout(), shared(lf)) },
	}
	list.Flags().BoolVar(&lf.dead, "dead", false, "only dead letters")
	list.Flags().BoolVar(&lf.json, "json", false, "print one JSON object per event, with the whole event")

	retry := &cobra.Command{
		Use:   "retry --sink NAME (--all | SEQ...)",
		Short: "Move dead letters back into the sink's outbox",
		Long: `Retry moves the selected dead letters of one sink back into its outbox, with new
sequence numbers and no attempts. They go to the end of the outbox, after every
event already waiting, so their order relative to newer events of the same
alert is not kept. The agent sends them when it next runs.`,
		Example: `  herald outbox retry --config herald.toml --sink pager 17 18
  herald outbox retry --config herald.toml --sink pager --all`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return outboxChange(cmd.OutOrStdout(), shared(rf), args, true)
		},
	}
	retry.Flags().BoolVar(&rf.all, "all", false, "every dead letter of the sink")
	retry.Flags().BoolVar(&rf.dead, "dead", true, "dead letters (always: the agent retries pending events itself)")

	drop := &cobra.Command{
		Use:   "drop --sink NAME [--dead] (--all | SEQ...)",
		Short: "Delete pending events, or dead letters with --dead, without delivering them",
		Long: `Drop deletes the selected pending events of one sink (or its dead letters, with
--dead). They are never delivered. An alert whose firing you drop stays open in
the agent's state: its resolution is still sent when the task next succeeds.`,
		Example: `  herald outbox drop --config herald.toml --sink pager 17 18
  herald outbox drop --config herald.toml --sink pager --dead --all`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return outboxChange(cmd.OutOrStdout(), shared(df), args, false)
		},
	}
	drop.Flags().BoolVar(&df.all, "all", false, "every selected event of the sink")
	drop.Flags().BoolVar(&df.dead, "dead", false, "drop dead letters instead of pending events")

	cmd.AddCommand(list, retry, drop)
	return cmd
}

// usageArgs makes an argument check's error a usage error (exit status 2).
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageError(err)
		}
		return nil
	}
}

// outboxState is the opened state file and the sinks worth showing.
type outboxState struct {
	store *state.Store
	// sinks are the configured sinks in config order, then sinks that only
	// the state file knows (removed from the config since).
	sinks      []string
	configured map[string]bool
}

// openOutbox loads the config and opens its state file. It returns a nil
// state and a nil error when there is no state file yet.
func openOutbox(f *outboxFlags) (st *outboxState, path string, err error) {
	cfg, _, err := loadConfig(f.config, stateOnly, nil)
	if err != nil {
		return nil, "", usageError(err)
	}
	path = agent.StatePath(cfg.Agent.DataDir)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		// Opening would create an empty file (and data_dir) just to list nothing.
		if f.sink != "" && !slices.ContainsFunc(cfg.Sinks, func(s config.Sink) bool { return s.Name == f.sink }) {
			return nil, path, usageError(fmt.Errorf("no sink %q in %s", f.sink, f.config))
		}
		return nil, path, nil
	}
	store, err := openState(path, state.Options{}, os.Stderr)
	if err != nil {
		if errors.Is(err, state.ErrInUse) {
			return nil, path, fmt.Errorf("the agent is running (state file %s is locked): "+
				"stop it (or the Windows service) and run herald outbox again", path)
		}
		return nil, path, err
	}
	st = &outboxState{store: store, configured: map[string]bool{}}
	for _, s := range cfg.Sinks {
		st.sinks = append(st.sinks, s.Name)
		st.configured[s.Name] = true
	}
	stored, err := store.Sinks()
	if err != nil {
		store.Close()
		return nil, path, err
	}
	for _, s := range stored {
		if !st.configured[s] {
			st.sinks = append(st.sinks, s)
		}
	}
	if f.sink != "" {
		if !slices.Contains(st.sinks, f.sink) {
			store.Close()
			return nil, path, usageError(fmt.Errorf("no sink %q in %s or in the state file (sinks: %s)",
				f.sink, f.config, strings.Join(st.sinks, ", ")))
		}
		st.sinks = []string{f.sink}
	}
	return st, path, nil
}

// outboxRow is one listed event; its JSON form is what --json prints.
type outboxRow struct {
	Sink      string    `json:"sink"`
	State     string    `json:"state"` // pending or dead
	Seq       uint64    `json:"seq"`
	Enqueued  time.Time `json:"enqueued"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	Died      time.Time `json:"died,omitzero"`
	Event     sdk.Event `json:"event"`
}

func outboxList(out io.Writer, f *outboxFlags) error {
	st, path, err := openOutbox(f)
	if err != nil {
		return err
	}
	if st == nil {
		fmt.Fprintf(out, "nothing queued: no state file at %s yet (the agent has not run)\n", path)
		return nil
	}
	defer st.store.Close()

	var rows []outboxRow
	type count struct{ pending, dead int }
	counts := map[string]count{}
	for _, sink := range st.sinks {
		var c count
		if !f.dead {
			pending, err := st.store.Pending(sink, 0)
			if err != nil {
				return err
			}
			c.pending = len(pending)
			for _, e := range pending {
				rows = append(rows, outboxRow{Sink: sink, State: "pending", Seq: e.Seq, Enqueued: e.Enqueued,
					Attempts: e.Attempts, LastError: e.LastError, Event: e.Event})
			}
		}
		dead, err := st.store.Dead(sink)
		if err != nil {
			return err
		}
		c.dead = len(dead)
		for _, e := range dead {
			rows = append(rows, outboxRow{Sink: sink, State: "dead", Seq: e.Seq, Enqueued: e.Enqueued,
				Attempts: e.Attempts, LastError: e.LastError, Reason: e.Reason, Died: e.Died, Event: e.Event})
		}
		counts[sink] = c
	}

	if f.json {
		enc := json.NewEncoder(out)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}

	for _, sink := range st.sinks {
		c := counts[sink]
		var parts []string
		if !f.dead {
			parts = append(parts, fmt.Sprintf("%d pending", c.pending))
		}
		parts = append(parts, fmt.Sprintf("%d dead", c.dead))
		note := ""
		if !st.configured[sink] {
			note = " (not in the config: only drop or retry apply)"
		}
		fmt.Fprintf(out, "%s: %s%s\n", sink, strings.Join(parts, ", "), note)
	}
	if len(rows) == 0 {
		return nil
	}
	fmt.Fprintln(out)
	now := time.Now()
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SINK\tSEQ\tSTATE\tAGE\tATTEMPTS\tRULE\tSTATUS\tKEY\tTITLE\tERROR")
	for _, r := range rows {
		why := r.LastError
		if r.State == "dead" {
			why = r.Reason
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", r.Sink, r.Seq, r.State, age(now.Sub(r.Enqueued)),
			r.Attempts, r.Event.Rule, r.Event.Status, r.Event.Key, cell(r.Event.Title, 60), cell(why, 100))
	}
	return tw.Flush()
}

// outboxChange retries (dead letters) or drops (pending or dead) the
// selected events of one sink.
func outboxChange(out io.Writer, f *outboxFlags, args []string, retry bool) error {
	verb := "drop"
	if retry {
		verb = "retry"
	}
	seqs, err := parseSeqs(args)
	switch {
	case err != nil:
		return usageError(err)
	case f.sink == "":
		return usageError(fmt.Errorf("outbox %s: --sink NAME is required", verb))
	case f.all && len(seqs) > 0:
		return usageError(fmt.Errorf("outbox %s: give --all or sequence numbers, not both", verb))
	case !f.all && len(seqs) == 0:
		return usageError(fmt.Errorf("outbox %s: say which events: --all, or their sequence numbers (see herald outbox list)", verb))
	case retry && !f.dead:
		return usageError(errors.New("outbox retry: only dead letters can be retried; the agent retries pending events itself"))
	}
	dead := f.dead || retry
	what := "pending events"
	if dead {
		what = "dead letters"
	}

	st, path, err := openOutbox(f)
	if err != nil {
		return err
	}
	if st == nil {
		if f.all {
			fmt.Fprintf(out, "%s: no %s (no state file at %s yet)\n", f.sink, what, path)
			return nil
		}
		return usageError(fmt.Errorf("%s: no %s %s (no state file at %s yet)", f.sink, what, joinSeqs(seqs), path))
	}
	defer st.store.Close()

	sel := state.All
	if !f.all {
		// Check first, so a typo is a usage error naming what is missing, and
		// nothing is changed.
		have := map[uint64]bool{}
		if dead {
			entries, err := st.store.Dead(f.sink)
			if err != nil {
				return err
			}
			for _, e := range entries {
				have[e.Seq] = true
			}
		} else {
			entries, err := st.store.Pending(f.sink, 0)
			if err != nil {
				return err
			}
			for _, e := range entries {
				have[e.Seq] = true
			}
		}
		var missing []uint64
		for _, s := range seqs {
			if !have[s] {
				missing = append(missing, s)
			}
		}
		if len(missing) > 0 {
			return usageError(fmt.Errorf("%s: no %s %s (see herald outbox list --sink %s)", f.sink, what, joinSeqs(missing), f.sink))
		}
		sel = state.Seqs(seqs...)
	}

	var n int
	switch {
	case retry:
		n, err = st.store.RetryDead(f.sink, sel)
	case dead:
		n, err = st.store.DropDead(f.sink, sel)
	default:
		n, err = st.store.DropPending(f.sink, sel)
	}
	if err != nil {
		return err
	}
	if retry {
		fmt.Fprintf(out, "%s: moved %d dead letters back to the outbox; the agent sends them when it next runs\n", f.sink, n)
	} else {
		fmt.Fprintf(out, "%s: dropped %d %s\n", f.sink, n, what)
	}
	return nil
}

func parseSeqs(args []string) ([]uint64, error) {
	var seqs []uint64
	for _, a := range args {
		n, err := strconv.ParseUint(a, 10, 64)
		if err != nil || n == 0 {
			return nil, fmt.Errorf("%q is not a sequence number (see herald outbox list)", a)
		}
		seqs = append(seqs, n)
	}
	return seqs, nil
}

func joinSeqs(seqs []uint64) string {
	s := make([]string, len(seqs))
	for i, n := range seqs {
		s[i] = strconv.FormatUint(n, 10)
	}
	return strings.Join(s, ", ")
}

// age formats how long ago something happened, to the precision a person
// scanning a list needs.
func age(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Hour:
		return d.Truncate(time.Second).String()
	case d < 48*time.Hour:
		return strings.TrimSuffix(d.Truncate(time.Minute).String(), "0s")
	default:
		days := d / (24 * time.Hour)
		return fmt.Sprintf("%dd%dh", days, (d-days*24*time.Hour)/time.Hour)
	}
}

// cell makes s fit one table cell: one line, at most n runes.
func cell(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "-"
	}
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
