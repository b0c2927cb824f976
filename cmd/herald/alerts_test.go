package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/agent"
	"github.com/heraldhq/herald/agent/state"
	"github.com/heraldhq/herald/plugins/sdk"
)

// alertsConfig writes a config whose data dir is dir/state and returns its path.
func alertsConfig(t *testing.T, dir, listen string) string {
	t.Helper()
	server := ""
	if listen != "" {
		server = "[server]\nlisten = \"" + listen + "\"\n"
	}
	return writeConfig(t, dir, `
[agent]
data_dir = "state"

[[input]]
name = "scheduler"
paths = ["*.txt"]

[[sink]]
name = "console"
plugin = "console"

[rules]
packs = ["qliksense"]
`+server)
}

var alertsT0 = time.Date(2026, 11, 22, 9, 12, 0, 0, time.UTC)

// seedAlerts opens the config's state file, stores an open and a resolved
// alert, and returns the open store (which holds the file locked).
func seedAlerts(t *testing.T, dir string) *state.Store {
	t.Helper()
	s, err := state.Open(agent.StatePath(filepath.Join(dir, "state")), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Update(func(tx *state.Tx) error {
		for _, a := range []state.Alert{
			{Rule: "qlik-reload-failed", Key: "task-1", Status: sdk.StatusAcknowledged, Title: "Qlik Sense reload failed: Sales",
				FirstSeen: alertsT0, LastSeen: alertsT0.Add(time.Minute), Count: 2, AckedBy: "rene",
				Refs: map[string]string{"pager": "2518_abc", "chat": "root-1"}},
			{Rule: "qlik-reload-aborted", Key: "task-2", Status: sdk.StatusResolved, Title: "Qlik Sense reload aborted: HR",
				FirstSeen: alertsT0, LastSeen: alertsT0, Count: 1, ResolvedBy: "alice", ResolvedAt: alertsT0},
		} {
			if err := tx.PutAlert(a); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return s
}

func runAlerts(t *testing.T, f *alertsFlags) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := listAlerts(context.Background(), &out, &errOut, f)
	return out.String(), errOut.String(), err
}

func TestAlertsFromDataDir(t *testing.T) {
	dir := t.TempDir()
	cfg := alertsConfig(t, dir, "")

	out, _, err := runAlerts(t, &alertsFlags{config: cfg})
	if err != nil || !strings.Contains(out, "not there yet: the agent has not run") || !strings.Contains(out, "no open alerts") {
		t.Fatalf("before the first run: %v\n%s", err, out)
	}

	seedAlerts(t, dir).Close()
	out, _, err = runAlerts(t, &alertsFlags{config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || lines[0] != "source: state file "+agent.StatePath(filepath.Join(dir, "state")) {
		t.Fatalf("want the source, a blank line, the header and one open alert:\n%s", out)
	}
	for _, want := range []string{"RULE", "ACKED BY", "REFS"} {
		if !strings.Contains(lines[2], want) {
			t.Errorf("header %q lacks %s", lines[2], want)
		}
	}
	row := strings.Fields(lines[3])
	if row[0] != "qlik-reload-failed" || row[1] != "task-1" || row[2] != "acknowledged" ||
		strings.Join(row[3:6], " ") != stamp(alertsT0) || strings.Join(row[6:9], " ") != stamp(alertsT0.Add(time.Minute)) ||
		row[9] != "2" || row[10] != "rene" || row[11] != "-" || row[12] != "chat=root-1" || row[13] != "pager=2518_abc" {
		t.Errorf("row = %q", lines[3])
	}

	out, errOut, err := runAlerts(t, &alertsFlags{config: cfg, all: true, json: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []state.Alert
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var a state.Alert
		if err := dec.Decode(&a); err != nil {
			t.Fatalf("--json: %v\n%s", err, out)
		}
		got = append(got, a)
	}
	if len(got) != 2 || got[0].Rule != "qlik-reload-aborted" || got[0].ResolvedBy != "alice" || got[1].Refs["chat"] != "root-1" {
		t.Errorf("--all --json = %+v", got)
	}
	if !strings.HasPrefix(errOut, "source: state file ") {
		t.Errorf("--json puts the source on stderr, got %q", errOut)
	}
}

func TestAlertsFromRunningAgent(t *testing.T) {
	dir := t.TempDir()
	store := seedAlerts(t, dir) // held open: locked, as by the running agent
	var all []state.Alert
	if err := store.View(func(tx *state.Tx) error { all = tx.Alerts(nil); return nil }); err != nil {
		t.Fatal(err)
	}
	agentSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/alerts" {
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(all)
	}))
	t.Cleanup(agentSrv.Close)
	addr := strings.TrimPrefix(agentSrv.URL, "http://")

	out, _, err := runAlerts(t, &alertsFlags{config: alertsConfig(t, dir, addr)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "source: running agent at "+agentSrv.URL+"/alerts\n") || !strings.Contains(out, "task-1") ||
		strings.Contains(out, "task-2") {
		t.Errorf("output:\n%s", out)
	}

	for _, tt := range []struct{ listen, addr, want string }{
		{"", "", "[server] listen is not set"},
		{"127.0.0.1:0", "", "picks a free port at start-up"},
		{"127.0.0.1:0", addr, ""},
	} {
		_, _, err := runAlerts(t, &alertsFlags{config: alertsConfig(t, dir, tt.listen), addr: tt.addr})
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("listen %q, --addr %q: %v", tt.listen, tt.addr, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("listen %q: err = %v, want %q", tt.listen, err, tt.want)
		}
	}
}

func TestAlertsURL(t *testing.T) {
	for listen, want := range map[string]string{
		"127.0.0.1:9308":  "http://127.0.0.1:9308/alerts",
		":9308":           "http://127.0.0.1:9308/alerts",
		"0.0.0.0:9308":    "http://127.0.0.1:9308/alerts",
		"[::]:9308":       "http://[::1]:9308/alerts",
		"herald.lan:9308": "http://herald.lan:9308/alerts",
	} {
		if got, err := alertsURL(listen); err != nil || got != want {
			t.Errorf("alertsURL(%q) = %q, %v; want %q", listen, got, err, want)
		}
	}
}

// TestAlertsTimesHaveZone runs the real binary in a zone an hour east of UTC:
// the table prints the alert's times in that zone, with its offset.
func TestAlertsTimesHaveZone(t *testing.T) {
	dir := t.TempDir()
	cfg := alertsConfig(t, dir, "")
	seedAlerts(t, dir).Close()
	cmd := exec.Command(heraldBin, "alerts", "--config", cfg)
	want := alertsT0.Local().Format(stampLayout)
	if runtime.GOOS != "windows" { // Windows takes its zone from the system, not TZ
		cmd.Env = append(os.Environ(), "TZ=Europe/Berlin")
		want = "2026-11-22 10:12:00 +01:00"
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("herald alerts: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), want) {
		t.Errorf("herald alerts does not show %s:\n%s", want, out)
	}
}

// TestStampZone: stamp prints the local time with the local offset, also
// for a time stored in UTC.
func TestStampZone(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("SKIP: no tz database for Europe/Berlin: %v", err)
	}
	defer func(l *time.Location) { time.Local = l }(time.Local)
	time.Local = berlin
	for in, want := range map[time.Time]string{
		time.Date(2026, 12, 5, 5, 10, 20, 0, time.UTC):                     "2026-12-05 06:10:20 +01:00",
		time.Date(2026, 7, 1, 4, 0, 0, 0, time.UTC):                        "2026-07-01 06:00:00 +02:00",
		time.Date(2026, 12, 5, 6, 10, 20, 0, time.FixedZone("qlik", 3600)): "2026-12-05 06:10:20 +01:00",
		{}: "-",
	} {
		if got := stamp(in); got != want {
			t.Errorf("stamp(%v) = %q, want %q", in, got, want)
		}
	}
}
