package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldhq/herald/plugins/sdk"
)

// healthz fetches /healthz: its status code and body.
func healthz(t *testing.T, addr string) (int, healthReport) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h healthReport
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, h
}

// waitHealth polls /healthz until ok holds for what it answers, or fails
// after 30 s naming what it waited for.
func waitHealth(t *testing.T, addr, what string, ok func(code int, h healthReport) bool) (int, healthReport) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, h := healthz(t, addr)
		if ok(code, h) {
			return code, h
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited 30s for /healthz to show %s; last %d %+v", what, code, h)
		}
		time.Sleep(20 * time.Millisecond) // a poll interval, not a synchronisation
	}
}

type healthReport struct {
	Status     string   `json:"status"`
	Down       []string `json:"down"`
	Conditions []struct {
		Condition, Subject, Summary, Fix string
	} `json:"conditions"`
}

// metricsText fetches /metrics.
func metricsText(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// selfEvent finds the first event of a self-alert rule with key and status.
func selfEvent(evs []sdk.Event, rule, key string, status sdk.Status) (sdk.Event, bool) {
	i := slices.IndexFunc(evs, func(ev sdk.Event) bool { return ev.Rule == rule && ev.Key == key && ev.Status == status })
	if i < 0 {
		return sdk.Event{}, false
	}
	return evs[i], true
}

// TestSelfWatchBlindInput: an input whose folder does not exist shows on
// /healthz at once (503, naming the condition, the pattern and the deepest
// folder that exists), in herald_inputs_up and herald_condition_active, and
// is raised as an alert through the sink; when the file appears the alert is
// resolved and /healthz is 200 again.
func TestSelfWatchBlindInput(t *testing.T) {
	dir := t.TempDir()
	rec := newRecorder(t)
	cfg := writeConfig(t, dir, fmt.Sprintf(`
[agent]
data_dir = "state"
host = "node-under-test"

[[input]]
name = "scheduler"
paths = ["Trace/*_System_Scheduler.txt"]
poll_interval = "100ms"

[[sink]]
name = "hook"
plugin = "webhook"
[sink.config]
url = "%s/alerts"

[rules]
packs = ["qliksense"]

[server]
listen = "127.0.0.1:0"

[self_watch]
input_blind_after = "0s"
check_interval = "1s"
`, rec.URL))
	agent := startTwoWayAgent(t, cfg)

	// The tailer's first scan runs as the input starts, just after the
	// server: the condition shows as soon as that scan is done.
	_, h := waitHealth(t, agent.addr, "503 naming input_blind scheduler", func(code int, h healthReport) bool {
		return code == http.StatusServiceUnavailable && slices.Contains(h.Down, "input_blind scheduler")
	})
	if len(h.Conditions) != 1 || !strings.Contains(h.Conditions[0].Summary, filepath.Join(dir, "Trace", "*_System_Scheduler.txt")) ||
		!strings.Contains(h.Conditions[0].Summary, dir) || h.Conditions[0].Fix == "" {
		t.Errorf("/healthz conditions = %+v, want one naming the pattern and the deepest folder, with a fix", h.Conditions)
	}
	m := metricsText(t, agent.addr)
	for _, want := range []string{`herald_inputs_up{input="scheduler"} 0`, `herald_condition_active{condition="input_blind",subject="scheduler"} 1`} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	evs := rec.waitFor(t, 30*time.Second, "the input_blind self-alert", func(evs []sdk.Event) bool {
		_, ok := selfEvent(evs, "herald.input_blind", "scheduler", sdk.StatusFiring)
		return ok
	})
	ev, _ := selfEvent(evs, "herald.input_blind", "scheduler", sdk.StatusFiring)
	if ev.Severity != "critical" || ev.Fields["condition"] != "input_blind" || !strings.Contains(ev.Message, "Fix: ") {
		t.Errorf("self-alert = %+v, want critical, with its condition and a fix", ev)
	}

	// The folder and file appear: the input sees, the alert resolves.
	if err := os.Mkdir(filepath.Join(dir, "Trace"), 0o755); err != nil {
		t.Fatal(err)
	}
	newQlikLog(t, filepath.Join(dir, "Trace", "QS-NODE1_System_Scheduler.txt"))
	rec.waitFor(t, 30*time.Second, "the input_blind resolution", func(evs []sdk.Event) bool {
		_, ok := selfEvent(evs, "herald.input_blind", "scheduler", sdk.StatusResolved)
		return ok
	})
	waitHealth(t, agent.addr, "200 once the file appeared", func(code int, _ healthReport) bool { return code == http.StatusOK })
	if n := len(rec.got()); n != 2 {
		t.Errorf("the sink got %d events, want 2 (the self-alert and its resolution): %+v", n, rec.got())
	}
	agent.stop(t)

	// The alert is in the state, resolved, for `herald alerts`.
	out, stderr, code := runHerald(t, "alerts", "--config", cfg, "--all")
	if code != 0 || !strings.Contains(out, "herald.input_blind") {
		t.Errorf("herald alerts --all = %d\n%s\n%s", code, out, stderr)
	}
}

// TestSelfWatchSinkPending: a sink whose destination answers 503 raises a
// sink_pending self-alert, which goes to the other sink and never to the
// broken one; when the destination recovers, the alert resolves.
func TestSelfWatchSinkPending(t *testing.T) {
	dir := t.TempDir()
	good := newRecorder(t)
	broken := newRecorder(t)
	var down atomic.Bool
	down.Store(true)
	broken.status = func(int, sdk.Event) int {
		if down.Load() {
			return http.StatusServiceUnavailable
		}
		return 0
	}
	log := newQlikLog(t, filepath.Join(dir, "QS-NODE1_System_Scheduler.txt"))
	cfg := writeConfig(t, dir, tailPreamble(`host = "node-under-test"`)+fmt.Sprintf(`
[[sink]]
name = "good"
plugin = "webhook"
[sink.config]
url = "%s/alerts"

[[sink]]
name = "broken"
plugin = "webhook"
[sink.config]
url = "%s/alerts"

[rules]
packs = ["qliksense"]

[server]
listen = "127.0.0.1:0"

[self_watch]
sink_pending_after = "1s"
check_interval = "1s"
`, good.URL, broken.URL))
	agent := startTwoWayAgent(t, cfg)
	fail(log, 1, "exec-1")

	evs := good.waitFor(t, 60*time.Second, "the sink_pending self-alert about broken", func(evs []sdk.Event) bool {
		_, ok := selfEvent(evs, "herald.sink_pending", "broken", sdk.StatusFiring)
		return ok
	})
	ev, _ := selfEvent(evs, "herald.sink_pending", "broken", sdk.StatusFiring)
	if !strings.Contains(ev.Message, "503") {
		t.Errorf("self-alert message %q does not carry the sink's last answer", ev.Message)
	}
	waitHealth(t, agent.addr, "503 naming sink_pending broken", func(code int, h healthReport) bool {
		return code == http.StatusServiceUnavailable && slices.Contains(h.Down, "sink_pending broken")
	})

	down.Store(false)
	good.waitFor(t, 60*time.Second, "the sink_pending resolution", func(evs []sdk.Event) bool {
		_, ok := selfEvent(evs, "herald.sink_pending", "broken", sdk.StatusResolved)
		return ok
	})
	broken.waitFor(t, 30*time.Second, "the reload alert at the recovered sink", func(evs []sdk.Event) bool {
		return slices.ContainsFunc(evs, func(ev sdk.Event) bool { return ev.Key == taskID(1) })
	})
	agent.stop(t)
	for _, ev := range broken.got() {
		if strings.HasPrefix(ev.Rule, "herald.") {
			t.Errorf("the broken sink got a self-alert about itself: %+v", ev)
		}
	}
}
