package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestEndToEndHeartbeat runs the real agent with a [heartbeat] pointing at a
// loopback dead-man's switch and waits for the first ping, which is sent at
// start. The ping URL (a secret) must not appear in the agent's log.
func TestEndToEndHeartbeat(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses SIGTERM")
	}
	const secret = "0d338dcc-a054-4ec0-b909-e2e5ecre7"
	pings := make(chan string, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pings <- r.Method + " " + r.URL.Path + "?" + r.URL.RawQuery
	}))
	t.Cleanup(srv.Close)

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "QS-NODE1_System_Scheduler.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HERALD_TEST_HEARTBEAT_TOKEN", secret)
	cfg := writeConfig(t, dir, tailPreamble(`log_level = "debug"`)+fmt.Sprintf(`
[[sink]]
name = "console"
plugin = "console"

[rules]
packs = ["qliksense"]

[heartbeat]
url = "%s/api/push/${HERALD_TEST_HEARTBEAT_TOKEN}?status=up&msg=OK&ping="
interval = "1h"
`, srv.URL))
	agent := startAgent(t, cfg)

	select {
	case got := <-pings:
		if want := "GET /api/push/" + secret + "?"; !strings.HasPrefix(got, want) || !strings.Contains(got, "status=up") {
			t.Errorf("first ping %q, want %s...status=up", got, want)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("no heartbeat ping within 60s of start")
	}
	// Stop only once start-up is over: SIGTERM while a plugin is starting
	// fails the run, which is not what this test is about.
	waitFor(t, `"herald running" in the agent's log`, func() (string, bool) {
		s := agent.stderr.String()
		return "", strings.Contains(s, "herald running")
	})
	agent.stop(t)
	logs := agent.stderr.String()
	if strings.Contains(logs, secret) {
		t.Errorf("the agent's log shows the heartbeat URL's secret:\n%s", logs)
	}
	if !strings.Contains(logs, "heartbeat started") {
		t.Errorf("the agent's log does not say the heartbeat started:\n%s", logs)
	}
}
