package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// Timings of the Alertmanager cluster under test. They bound every wait
// below; a real estate uses Alertmanager's defaults (30s, 5m, 15s).
const (
	amGroupWait     = 500 * time.Millisecond
	amGroupInterval = 2 * time.Second
	// amPeerTimeout is how long the second instance of the cluster waits
	// before it notifies: by then the first one's notification log has been
	// gossiped (every 50ms), and it sends nothing. It is well below
	// amGroupInterval: an instance compares what it flushed before its wait
	// with the log after it, so a wait that spans the other instance's next
	// flush would send a stale notification once the alert resolves there
	// (Alertmanager's own HA race; its defaults, 15s against 5m, keep it
	// as rare). Herald posts to both at once, so their group timers tick
	// together and the wait never spans the other's next flush.
	amPeerTimeout = 500 * time.Millisecond
	// amQuiet is how long "no further notification" is watched for. A
	// duplicate from the second instance would come amPeerTimeout after the
	// first one's (its position in the cluster times the peer timeout); a
	// repeat of the same group could only come at its next group_interval
	// flush (and only if the group changed; repeat_interval is an hour).
	// Both fall well within amPeerTimeout + amGroupInterval + 1s.
	amQuiet = amPeerTimeout + amGroupInterval + time.Second
)

// amNotification is the part of Alertmanager's webhook body the test reads.
type amNotification struct {
	Status   string `json:"status"`
	GroupKey string `json:"groupKey"`
	Alerts   []struct {
		Status string            `json:"status"`
		Labels map[string]string `json:"labels"`
	} `json:"alerts"`
}

func (n amNotification) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:", n.Status)
	for _, a := range n.Alerts {
		fmt.Fprintf(&b, " %s %s/%s", a.Status, a.Labels["alertname"], a.Labels["task_name"])
	}
	return b.String()
}

// alertmanagerBinary finds Alertmanager: upstream names it alertmanager,
// Debian's package prometheus-alertmanager.
func alertmanagerBinary(t *testing.T) (am, amtool string) {
	t.Helper()
	for _, name := range []string{"alertmanager", "prometheus-alertmanager"} {
		if p, err := exec.LookPath(name); err == nil {
			am = p
			break
		}
	}
	amtool, err := exec.LookPath("amtool")
	if am == "" || err != nil {
		t.Skip("SKIPPED: Prometheus Alertmanager is not installed: neither alertmanager nor prometheus-alertmanager, or no amtool, " +
			"on PATH. Install it (`apt-get install -y prometheus-alertmanager`, as .ci/run does) to run this test.")
	}
	return am, amtool
}

// freePort returns a loopback port free for TCP and UDP (the cluster uses both).
func freePort(t *testing.T) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no free port for TCP and UDP")
	return 0
}

// startAlertmanagers starts two Alertmanagers clustered over loopback, both
// notifying hookURL, and returns their base URLs once both are ready.
func startAlertmanagers(t *testing.T, bin, hookURL string) []string {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	yml := fmt.Sprintf(`route:
  receiver: capture
  group_by: ['alertname', 'task_id']
  group_wait: %s
  group_interval: %s
  repeat_interval: 1h
receivers:
- name: capture
  webhook_configs:
  - url: %q
    send_resolved: true
`, amGroupWait, amGroupInterval, hookURL)
	if err := os.WriteFile(cfg, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	web := []int{freePort(t), freePort(t)}
	cluster := []int{freePort(t), freePort(t)}
	var urls []string
	for i := range 2 {
		logs := &syncBuffer{}
		cmd := exec.Command(bin,
			"--config.file="+cfg,
			"--storage.path="+filepath.Join(dir, fmt.Sprint("data", i)),
			fmt.Sprintf("--web.listen-address=127.0.0.1:%d", web[i]),
			fmt.Sprintf("--cluster.listen-address=127.0.0.1:%d", cluster[i]),
			fmt.Sprintf("--cluster.peer=127.0.0.1:%d", cluster[1-i]),
			"--cluster.peer-timeout="+amPeerTimeout.String(),
			"--cluster.gossip-interval=50ms",
			"--cluster.pushpull-interval=1s",
			"--cluster.settle-timeout=3s",
			"--log.level=debug",
		)
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			<-done
			if t.Failed() {
				t.Logf("alertmanager %d log:\n%s", i, logs.String())
			}
		})
		urls = append(urls, fmt.Sprintf("http://127.0.0.1:%d", web[i]))
	}
	// Ready means the cluster has settled and notifications can go out.
	for _, u := range urls {
		waitReady(t, u+"/-/ready")
	}
	return urls
}

// waitReady polls an Alertmanager's readiness endpoint: a process outside the
// test has no event to wait on.
func waitReady(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for range tick.C {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready within 30s", url)
		}
	}
}

func amtoolRun(t *testing.T, amtool string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, amtool, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir()) // no user's amtool config
	if err := cmd.Run(); err != nil {
		t.Fatalf("amtool %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// TestEndToEndAlertmanager runs the real herald against two real
// Alertmanagers in a cluster: a failed reload is notified exactly once, it is
// in Alertmanager with its labels, the next success resolves it, and an
// Alertmanager silence holds back a later failure.
func TestEndToEndAlertmanager(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses SIGTERM")
	}
	amBin, amtool := alertmanagerBinary(t)

	notes := make(chan amNotification, 100)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n amNotification
		if err := json.NewDecoder(r.Body).Decode(&n); err != nil {
			t.Errorf("capture: bad body: %v", err)
		}
		notes <- n
	}))
	t.Cleanup(hook.Close)
	next := func(what string) amNotification {
		t.Helper()
		select {
		case n := <-notes:
			return n
		case <-time.After(30 * time.Second):
			t.Fatalf("no notification (%s) within 30s", what)
			return amNotification{}
		}
	}
	quiet := func(what string) {
		t.Helper()
		select {
		case n := <-notes:
			t.Fatalf("%s: unexpected notification %s", what, n)
		case <-time.After(amQuiet):
		}
	}

	ams := startAlertmanagers(t, amBin, hook.URL+"/am")

	dir := t.TempDir()
	log := newQlikLog(t, filepath.Join(dir, "QS-NODE1_System_Scheduler.txt"))
	cfg := writeConfig(t, dir, fmt.Sprintf(tailPreamble(`host = "qs-node1"`)+`
[[sink]]
name = "am"
plugin = "alertmanager"
resend_interval = "1s"
[sink.config]
urls = [%q, %q]
generator_url = "http://qs-node1:9308/alerts"
`+packs, ams[0], ams[1]))
	agent := startAgent(t, cfg)

	// A failed reload reaches the receiver once, from one of the two.
	fail(log, 1, "exec-1")
	n := next("task 1 failed")
	if n.Status != "firing" || len(n.Alerts) != 1 || n.Alerts[0].Labels["task_id"] != taskID(1) {
		t.Fatalf("first notification %s %+v, want task 1 firing", n, n.Alerts)
	}
	want := map[string]string{
		"alertname": "qlik-reload-failed", "severity": "critical", "host": "qs-node1",
		"task_id": taskID(1), "task_name": "Reload task 1", "app_id": "app-1", "app_name": "App 1",
	}
	if got := n.Alerts[0].Labels; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("labels = %v, want %v", got, want)
	}
	quiet("after the first notification (the cluster deduplicates; herald re-sends every second)")

	// amtool sees it, with its labels, on either instance.
	var listed []struct {
		Labels       map[string]string `json:"labels"`
		Annotations  map[string]string `json:"annotations"`
		GeneratorURL string            `json:"generatorURL"`
	}
	out := amtoolRun(t, amtool, "alert", "query", "--alertmanager.url="+ams[1], "-o", "json", "alertname=qlik-reload-failed")
	if err := json.Unmarshal([]byte(out), &listed); err != nil || len(listed) != 1 {
		t.Fatalf("amtool alert query: %v\n%s", err, out)
	}
	if fmt.Sprint(listed[0].Labels) != fmt.Sprint(want) || !strings.Contains(listed[0].Annotations["summary"], "Reload task 1") ||
		listed[0].GeneratorURL != "http://qs-node1:9308/alerts" {
		t.Errorf("amtool shows %+v", listed[0])
	}

	// The next success resolves it.
	succeed(log, 1, "exec-2")
	n = next("task 1 resolved")
	if n.Status != "resolved" || len(n.Alerts) != 1 || n.Alerts[0].Labels["task_id"] != taskID(1) {
		t.Fatalf("notification %s, want task 1 resolved", n)
	}

	// A silence on task 2, made on one instance, holds its failure back on
	// both; task 3's failure, logged after it, still comes through.
	amtoolRun(t, amtool, "silence", "add", "--alertmanager.url="+ams[0], "--comment=maintenance", "--author=test",
		"--duration=1h", `task_name="Reload task 2"`)
	waitSilence(t, amtool, ams[1])
	fail(log, 2, "exec-3")
	fail(log, 3, "exec-4")
	n = next("task 3 failed")
	if n.Status != "firing" || len(n.Alerts) != 1 || n.Alerts[0].Labels["task_name"] != "Reload task 3" {
		t.Fatalf("notification %s, want only task 3 firing (task 2 is silenced)", n)
	}
	quiet("task 2 is silenced")
	out = amtoolRun(t, amtool, "alert", "query", "--alertmanager.url="+ams[0], "--silenced", "-o", "json", "alertname=qlik-reload-failed")
	if !strings.Contains(out, "Reload task 2") || strings.Contains(out, "Reload task 3") {
		t.Errorf("amtool alert query --silenced: want task 2 only:\n%s", out)
	}

	agent.stop(t)
	if s := agent.stderr.String(); strings.Contains(s, "level=WARN") && strings.Contains(s, "alertmanager:") {
		t.Errorf("the agent warned about Alertmanager:\n%s", s)
	}
}

// waitSilence waits until the silence gossiped to the Alertmanager at url.
func waitSilence(t *testing.T, amtool, url string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for range tick.C {
		out := amtoolRun(t, amtool, "silence", "query", "--alertmanager.url="+url, "-q")
		if ids := strings.Fields(out); slices.ContainsFunc(ids, func(s string) bool { return s != "" }) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the silence did not reach %s within 20s", url)
		}
	}
}
