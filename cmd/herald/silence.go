package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/heraldhq/herald/agent"
	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/agent/silence"
	"github.com/heraldhq/herald/agent/state"
	"github.com/spf13/cobra"
)

type silenceFlags struct {
	config string
	addr   string
	json   bool
	// add
	matchers   []string
	duration   time.Duration
	start, end string
	comment    string
	by         string
	// list
	all bool
}

func newSilenceCmd() *cobra.Command {
	f := &silenceFlags{}
	cmd := &cobra.Command{
		Use:   "silence",
		Short: "Add, list or expire silences (maintenance windows) that hold alerts back without losing them",
		Long: `A silence holds back the firing alerts its matchers match, from its start until
its end: they are not sent, but counted and remembered. When it ends (at its
end, or expired by hand) every alert it held that is still firing is sent once,
with "(held by maintenance window '<comment>' since 02:00; 4 repeats)". An
alert that resolved meanwhile, and was never sent, sends nothing.

Matchers are Alertmanager style, all must match: rule="qlik-reload-failed",
task_name=~"Nightly.*" (anchored regular expression), severity!="info", key,
host, status, title or any field of the event.

The running agent holds its state file locked: herald silence then talks to it
over HTTP at /api/silences on [server] listen (with [server] alerts_token), and
says so; when the agent is stopped it changes the state file in [agent]
data_dir, and the agent applies it when it starts.`,
		Example: `  herald silence add --matcher 'rule="qlik-reload-failed"' --matcher 'task_name=~"Nightly.*"' --duration 2h --comment "DB upgrade"
  herald silence add --matcher 'host="node2"' --start 2026-05-01T22:00:00+02:00 --end 2026-05-02T02:00:00+02:00 --comment "node2 patching"
  herald silence list --all
  herald silence expire 3f9c2a1b7d4e5f60`,
		Args: usageArgs(cobra.NoArgs),
	}
	cmd.PersistentFlags().StringVarP(&f.config, "config", "c", "herald.toml", "config file (its [agent] data_dir holds the state)")
	cmd.PersistentFlags().StringVar(&f.addr, "addr", "", "host:port of the running agent, when [server] listen does not say (port 0)")
	cmd.PersistentFlags().BoolVar(&f.json, "json", false, "print JSON")

	add := &cobra.Command{
		Use:   "add --matcher M... (--duration D | --end TIME) --comment TEXT",
		Short: "Add a silence",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return silenceAdd(cmd.Context(), cmd.OutOrStdout(), f)
		},
	}
	add.Flags().StringArrayVarP(&f.matchers, "matcher", "m", nil, `matcher, such as 'rule="qlik-reload-failed"' (repeat: all must match)`)
	add.Flags().DurationVarP(&f.duration, "duration", "d", 0, "how long from the start, such as 2h")
	add.Flags().StringVar(&f.start, "start", "", "start, RFC 3339 (default now)")
	add.Flags().StringVar(&f.end, "end", "", "end, RFC 3339 (instead of --duration)")
	add.Flags().StringVar(&f.comment, "comment", "", "why (required; shown on the held alerts when they are sent)")
	add.Flags().StringVar(&f.by, "by", "", "who (default: the user running herald)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the silences not over yet (--all: also those that ended in the last week)",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return silenceList(cmd.Context(), cmd.OutOrStdout(), f)
		},
	}
	list.Flags().BoolVar(&f.all, "all", false, "also list silences that ended")

	expire := &cobra.Command{
		Use:   "expire ID",
		Short: "End a silence now: the alerts it held that are still firing are sent",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return silenceExpire(cmd.Context(), cmd.OutOrStdout(), f, args[0])
		},
	}
	expire.Flags().StringVar(&f.by, "by", "", "who (default: the user running herald)")
	cmd.AddCommand(add, list, expire)
	return cmd
}

// silenceTarget is where herald silence acts: the state file (store) or the
// running agent's /api/silences (url, client, token).
type silenceTarget struct {
	store  *state.Store
	url    string
	client *http.Client
	token  string
	source string
}

func (t *silenceTarget) close() {
	if t.store != nil {
		t.store.Close()
	}
}

// openSilences opens the state file or, when the running agent holds it,
// finds the agent's API, as herald alerts does.
func openSilences(path string, cfg *config.Config, addr string) (*silenceTarget, error) {
	store, api, err := openStateOrAgent(path, cfg, addr, "herald silence")
	switch {
	case err != nil:
		return nil, err
	case store != nil:
		return &silenceTarget{store: store, source: "state file " + path}, nil
	}
	u := api.url(agent.PathSilences)
	return &silenceTarget{url: u, client: api.client, token: api.token, source: "running agent at " + u}, nil
}

// call sends one request to the agent's API and decodes its answer into out.
func (t *silenceTarget) call(ctx context.Context, method, query string, body, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	u := t.url
	if query != "" {
		u += "?" + query
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if t.token != "" {
		req.Header.Set("Authorization", "Bearer "+t.token)
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return fmt.Errorf("the agent is running, and asking it failed: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, t.url, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct{ Error string }
		if json.Unmarshal(raw, &e) == nil && e.Error != "" {
			return fmt.Errorf("the running agent refused: %s", e.Error)
		}
		return fmt.Errorf("%s %s: %s: %s", method, t.url, resp.Status, strings.TrimSpace(string(raw)))
	}
	return json.Unmarshal(raw, out)
}

func loadSilenceConfig(f *silenceFlags) (*config.Config, string, error) {
	cfg, _, err := loadConfig(f.config, stateOnly, nil)
	if err != nil {
		return nil, "", usageError(err)
	}
	return cfg, agent.StatePath(cfg.Agent.DataDir), nil
}

// whoami is who the CLI acts for: --by, or the user running it.
func whoami(by string) string {
	if by != "" {
		return by
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "cli"
}

func silenceAdd(ctx context.Context, out io.Writer, f *silenceFlags) error {
	s := silence.Silence{Comment: f.comment, CreatedBy: whoami(f.by), Source: silence.SourceCLI}
	var errs []error
	for _, m := range f.matchers {
		pm, err := silence.ParseMatcher(m)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.Matchers = append(s.Matchers, pm)
	}
	now := time.Now()
	if f.start != "" {
		t, err := time.Parse(time.RFC3339, f.start)
		if err != nil {
			errs = append(errs, fmt.Errorf("--start %q: want RFC 3339, such as 2026-05-01T22:00:00+02:00", f.start))
		}
		s.StartsAt = t
	}
	switch {
	case f.end != "" && f.duration != 0:
		errs = append(errs, errors.New("give --duration or --end, not both"))
	case f.end != "":
		t, err := time.Parse(time.RFC3339, f.end)
		if err != nil {
			errs = append(errs, fmt.Errorf("--end %q: want RFC 3339, such as 2026-05-02T02:00:00+02:00", f.end))
		}
		s.EndsAt = t
	case f.duration > 0:
		if s.StartsAt.IsZero() {
			s.StartsAt = now
		}
		s.EndsAt = s.StartsAt.Add(f.duration)
	default:
		errs = append(errs, errors.New("--duration or --end is required"))
	}
	if len(f.matchers) == 0 {
		errs = append(errs, errors.New(`--matcher is required, such as --matcher 'rule="qlik-reload-failed"'`))
	}
	if err := errors.Join(errs...); err != nil {
		return usageError(err)
	}
	cfg, path, err := loadSilenceConfig(f)
	if err != nil {
		return err
	}
	t, err := openSilences(path, cfg, f.addr)
	if err != nil {
		return err
	}
	defer t.close()
	var added silence.Silence
	if t.store != nil {
		if added, err = silence.New(s, now); err != nil {
			return usageError(err)
		}
		if err := t.store.Update(func(tx *state.Tx) error { return tx.PutSilence(added) }); err != nil {
			return err
		}
	} else if err := t.call(ctx, http.MethodPost, "", agent.SilenceRequest{Silence: s}, &added); err != nil {
		return err
	}
	if f.json {
		return json.NewEncoder(out).Encode(added)
	}
	fmt.Fprintln(out, "source:", t.source)
	fmt.Fprintf(out, "silence %s added: %s, %s until %s\n", added.ID, added.Describe(),
		stamp(added.StartsAt), stamp(added.EndsAt))
	return nil
}

func silenceList(ctx context.Context, out io.Writer, f *silenceFlags) error {
	cfg, path, err := loadSilenceConfig(f)
	if err != nil {
		return err
	}
	var list []silence.Silence
	source := "state file " + path + " (not there yet: the agent has not run)"
	if _, err := os.Stat(path); err == nil {
		t, err := openSilences(path, cfg, f.addr)
		if err != nil {
			return err
		}
		defer t.close()
		source = t.source
		if t.store != nil {
			now := time.Now()
			list, err = t.store.Silences(func(s silence.Silence) bool { return f.all || !s.Ended(now) })
		} else {
			q := ""
			if f.all {
				q = "all=1"
			}
			err = t.call(ctx, http.MethodGet, q, nil, &list)
		}
		if err != nil {
			return err
		}
	}
	if f.json {
		fmt.Fprintln(os.Stderr, "source:", source)
		enc := json.NewEncoder(out)
		for _, s := range list {
			if err := enc.Encode(s); err != nil {
				return err
			}
		}
		return nil
	}
	fmt.Fprintln(out, "source:", source)
	if len(list) == 0 {
		fmt.Fprintln(out, "no silences")
		return nil
	}
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tSTARTS\tENDS\tHELD\tSOURCE\tBY\tMATCHERS\tCOMMENT")
	now := time.Now()
	for _, s := range list {
		st := "pending"
		switch {
		case s.ExpiredBy != "" && s.Ended(now):
			st = "expired by " + s.ExpiredBy
		case s.Ended(now):
			st = "ended"
		case s.Active(now):
			st = "active"
		}
		ms := make([]string, len(s.Matchers))
		for i, m := range s.Matchers {
			ms[i] = m.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", s.ID, st, stamp(s.StartsAt), stamp(s.EndsAt), s.Suppressed,
			s.Source, cell(s.CreatedBy, 20), cell(strings.Join(ms, " "), 60), cell(s.Comment, 40))
	}
	return tw.Flush()
}

func silenceExpire(ctx context.Context, out io.Writer, f *silenceFlags, id string) error {
	cfg, path, err := loadSilenceConfig(f)
	if err != nil {
		return err
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("no silence %q: the state file %s is not there", id, path)
	}
	t, err := openSilences(path, cfg, f.addr)
	if err != nil {
		return err
	}
	defer t.close()
	by := whoami(f.by)
	var s silence.Silence
	if t.store != nil {
		err = t.store.Update(func(tx *state.Tx) error {
			var ok bool
			if s, ok = tx.Silence(id); !ok {
				return fmt.Errorf("no silence %q (herald silence list --all shows them)", id)
			}
			if err := s.Expire(by, time.Now()); err != nil {
				return err
			}
			return tx.PutSilence(s)
		})
	} else {
		err = t.call(ctx, http.MethodDelete, url.Values{"id": {id}, "by": {by}}.Encode(), nil, &s)
	}
	if err != nil {
		return err
	}
	if f.json {
		return json.NewEncoder(out).Encode(s)
	}
	fmt.Fprintln(out, "source:", t.source)
	fmt.Fprintf(out, "silence %s expired by %s (%d events held)\n", id, by, s.Suppressed)
	if t.store != nil {
		fmt.Fprintln(out, "the agent sends the alerts it held that are still firing when it next starts")
	}
	return nil
}
