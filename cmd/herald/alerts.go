package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/heraldhq/herald/agent"
	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/agent/server"
	"github.com/heraldhq/herald/agent/state"
	"github.com/heraldhq/herald/plugins/sdk"
	"github.com/spf13/cobra"
)

// alertsLockWait is how long herald alerts waits for the state file's lock
// before it asks the running agent instead.
const alertsLockWait = 300 * time.Millisecond

type alertsFlags struct {
	config string
	addr   string
	all    bool
	json   bool
}

func newAlertsCmd() *cobra.Command {
	f := &alertsFlags{}
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "List the open alerts: status, who acknowledged them, their references in each sink",
		Long: `Alerts lists the alerts Herald keeps open: firing or acknowledged, per rule and
key (for Qlik reloads: the TaskId), with when they were first and last seen, how
often they fired, who acknowledged them, and the reference each sink returned
(the SIGNL4 eventId, the Rocket.Chat message that starts the alert's thread).
--all adds the resolved alerts of the last week, with who resolved them.

The running agent holds its state file locked. herald alerts then asks the
agent over HTTP, at /alerts on [server] listen, and says so; when the agent is
stopped it reads the state file in [agent] data_dir.`,
		Example: `  herald alerts --config herald.toml
  herald alerts --config herald.toml --all --json
  herald alerts --config herald.toml --addr 127.0.0.1:41234`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return listAlerts(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f)
		},
	}
	cmd.Flags().StringVarP(&f.config, "config", "c", "herald.toml", "config file (its [agent] data_dir holds the state)")
	cmd.Flags().StringVar(&f.addr, "addr", "", "host:port of the running agent, when [server] listen does not say (port 0)")
	cmd.Flags().BoolVar(&f.all, "all", false, "also list resolved alerts")
	cmd.Flags().BoolVar(&f.json, "json", false, "print one JSON object per alert")
	return cmd
}

func listAlerts(ctx context.Context, out, errOut io.Writer, f *alertsFlags) error {
	cfg, _, err := loadConfig(f.config, stateOnly, nil)
	if err != nil {
		return usageError(err)
	}
	alerts, source, err := readAlerts(ctx, cfg, f.addr)
	if err != nil {
		return err
	}
	if !f.all {
		alerts = slices.DeleteFunc(alerts, func(a state.Alert) bool { return a.Status == sdk.StatusResolved })
	}
	if f.json {
		// stdout stays pure JSON for scripts; the source goes to stderr.
		fmt.Fprintln(errOut, "source:", source)
		enc := json.NewEncoder(out)
		for _, a := range alerts {
			if err := enc.Encode(a); err != nil {
				return err
			}
		}
		return nil
	}
	fmt.Fprintln(out, "source:", source)
	if len(alerts) == 0 {
		what := "open alerts"
		if f.all {
			what = "alerts"
		}
		fmt.Fprintln(out, "no "+what)
		return nil
	}
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tKEY\tSTATUS\tFIRST SEEN\tLAST SEEN\tCOUNT\tACKED BY\tRESOLVED BY\tREFS\tTITLE")
	for _, a := range alerts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", a.Rule, cell(a.Key, 40), a.Status,
			stamp(a.FirstSeen), stamp(a.LastSeen), a.Count, cell(a.AckedBy, 30), cell(a.ResolvedBy, 30),
			refs(a.Refs), cell(a.Title, 60))
	}
	return tw.Flush()
}

// readAlerts reads every alert from the state file or, when the running agent
// holds it locked, from the agent's /alerts. source says which.
func readAlerts(ctx context.Context, cfg *config.Config, addr string) (alerts []state.Alert, source string, err error) {
	path := agent.StatePath(cfg.Agent.DataDir)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		// Opening would create an empty file (and data_dir) just to list nothing.
		return nil, "state file " + path + " (not there yet: the agent has not run)", nil
	}
	store, api, err := openStateOrAgent(path, cfg, addr, "herald alerts")
	if err != nil {
		return nil, "", err
	}
	if store != nil {
		defer store.Close()
		err = store.View(func(tx *state.Tx) error {
			alerts = tx.Alerts(nil)
			return nil
		})
		return alerts, "state file " + path, err
	}
	url := api.url(server.PathAlerts)
	alerts, err = fetchAlerts(ctx, api.client, url, api.token)
	if err != nil {
		return nil, "", fmt.Errorf("the agent is running (state file %s is locked), and asking it failed: %w", path, err)
	}
	return alerts, "running agent at " + url, nil
}

// agentAPI reaches the HTTP server of the running agent, for the commands
// that read or change state the agent holds locked.
type agentAPI struct {
	base   string // scheme://host:port
	client *http.Client
	token  string // [server] alerts_token
}

// url is the address of the agent's path.
func (a *agentAPI) url(path string) string { return a.base + path }

// openStateOrAgent opens the state file at path or, when the running agent
// holds it locked, returns how to reach the agent instead: at addr, or
// [server] listen, over HTTPS pinned to tls_cert_file when the agent serves
// TLS. command names the command for the error that nothing can be reached.
func openStateOrAgent(path string, cfg *config.Config, addr, command string) (*state.Store, *agentAPI, error) {
	store, err := openState(path, state.Options{Timeout: alertsLockWait}, os.Stderr)
	if err == nil {
		return store, nil, nil
	}
	if !errors.Is(err, state.ErrInUse) {
		return nil, nil, err
	}
	if addr == "" {
		addr = cfg.Server.Listen
	}
	if addr == "" {
		return nil, nil, fmt.Errorf("the agent is running (state file %s is locked) and [server] listen is not set, "+
			"so it cannot be asked: set listen, or stop the agent and run %s again", path, command)
	}
	// Only now are [server]'s secrets (the alerts token) needed.
	if err := cfg.Require("server"); err != nil {
		return nil, nil, usageError(fmt.Errorf("the agent is running (state file %s is locked) and asking it needs [server]'s secrets: %w", path, err))
	}
	url, err := alertsURL(addr)
	if err != nil {
		return nil, nil, err
	}
	api := &agentAPI{base: strings.TrimSuffix(url, server.PathAlerts), client: http.DefaultClient, token: cfg.Server.AlertsToken}
	if cfg.Server.TLSCertFile != "" {
		api.base = "https" + strings.TrimPrefix(api.base, "http")
		if api.client, err = pinnedClient(cfg.Server.TLSCertFile); err != nil {
			return nil, nil, err
		}
	}
	return nil, api, nil
}

// alertsURL is the /alerts URL of an agent listening on listen, reached from
// this machine.
func alertsURL(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("[server] listen %q: %w", listen, err)
	}
	if port == "0" {
		return "", fmt.Errorf("[server] listen %q picks a free port at start-up: find the address in the agent's log "+
			"(\"serving metrics and health\") and pass it with --addr", listen)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + server.PathAlerts, nil
}

// pinnedClient returns a client that trusts exactly the certificate in
// certFile, the agent's own [server] tls_cert_file: the agent is reached by an
// IP address its certificate need not name, and the file is what it serves.
func pinnedClient(certFile string) (*http.Client, error) {
	b, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("[server] tls_cert_file: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("[server] tls_cert_file %s: no PEM certificate", certFile)
	}
	want := block.Bytes
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true, // replaced by the exact comparison below
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 || !bytes.Equal(cs.PeerCertificates[0].Raw, want) {
				return fmt.Errorf("the agent's certificate is not the one in %s", certFile)
			}
			return nil
		},
	}}}, nil
}

// fetchAlerts asks a running agent for its alerts, with token if not empty.
func fetchAlerts(ctx context.Context, client *http.Client, url, token string) ([]state.Alert, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	var alerts []state.Alert
	if err := json.Unmarshal(body, &alerts); err != nil {
		return nil, fmt.Errorf("GET %s: not a list of alerts: %w", url, err)
	}
	return alerts, nil
}

// stampLayout is how the commands print a time: in the machine's zone, with
// its offset, so that a time read on another machine or beside a log in
// another zone still says when it was.
const stampLayout = "2006-01-02 15:04:05 -07:00"

// stamp formats a time for the commands' output.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(stampLayout)
}

// refs lists an alert's remote references as sink=ref, by sink name.
func refs(m map[string]string) string {
	if len(m) == 0 {
		return "-"
	}
	sinks := make([]string, 0, len(m))
	for s := range m {
		sinks = append(sinks, s)
	}
	slices.Sort(sinks)
	parts := make([]string, len(sinks))
	for i, s := range sinks {
		parts[i] = s + "=" + m[s]
	}
	return strings.Join(parts, " ")
}
