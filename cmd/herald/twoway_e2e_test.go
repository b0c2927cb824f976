package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldhq/herald/agent/state"
	"github.com/heraldhq/herald/sinks/sinktest/fakerocketchat"
	"github.com/heraldhq/herald/sinks/sinktest/fakesignl4"
)

// Secrets of the two-way test; herald gets them through ${VAR} only.
const (
	twSIGNL4Secret = "s4-team-secret-two-way"
	twSIGNL4Hook   = "s4-hook-token-two-way"
	twChatPAT      = "rc-bot-pat-two-way"
	twChatOutgoing = "rc-outgoing-token-two-way"
	twWait         = 30 * time.Second
)

// twWatched serves h and signals after each request it answered, so a test
// waits for a fake's state to change without polling it.
type twWatched struct {
	h       http.Handler
	changed chan struct{}
}

func newTWWatched(h http.Handler) *twWatched {
	return &twWatched{h: h, changed: make(chan struct{}, 1)}
}

func (w *twWatched) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	w.h.ServeHTTP(rw, r)
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

// await returns once cond holds, checking it after each request the watched
// server answers; it fails the test after twWait.
func (w *twWatched) await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(twWait)
	defer deadline.Stop()
	for !cond() {
		select {
		case <-w.changed:
		case <-deadline.C:
			t.Fatalf("timed out after %s waiting for %s", twWait, what)
		}
	}
}

// twRelay forwards to the agent, whose address is known only once it runs
// (it listens on port 0): the fakes are configured with the relay's URL.
type twRelay struct{ target atomic.Pointer[url.URL] }

func (r *twRelay) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	u := r.target.Load()
	if u == nil {
		http.Error(w, "agent not up yet", http.StatusServiceUnavailable)
		return
	}
	httputil.NewSingleHostReverseProxy(u).ServeHTTP(w, req)
}

// twAgent is a running `herald run` whose stderr is watched for a line.
type twAgent struct {
	*agentProc
	addr string // host:port of its HTTP server
}

var twListening = regexp.MustCompile(`msg="serving metrics and health" addr=(\S+)`)

// startTwoWayAgent starts herald and waits until it logs its server address.
func startTwoWayAgent(t *testing.T, cfgPath string) *twAgent {
	t.Helper()
	return startServingAgent(t, heraldBin, cfgPath)
}

// startServingAgent runs bin as herald and waits until it logs its server
// address.
func startServingAgent(t testing.TB, bin, cfgPath string) *twAgent {
	t.Helper()
	cmd := exec.Command(bin, "run", "--config", cfgPath)
	p := &agentProc{cmd: cmd, stderr: &syncBuffer{}, done: make(chan error, 1)}
	pr, pw := io.Pipe()
	cmd.Stderr = io.MultiWriter(p.stderr, pw)
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := cmd.Wait()
		pw.Close()
		p.done <- err
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("agent stderr:\n%s", p.stderr.String())
		}
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		found := false
		for sc.Scan() {
			if m := twListening.FindStringSubmatch(sc.Text()); m != nil && !found {
				found = true
				addr <- m[1]
			}
		}
		close(addr)
	}()
	select {
	case a, ok := <-addr:
		if !ok {
			t.Fatalf("the agent exited before serving:\n%s", p.stderr.String())
		}
		return &twAgent{agentProc: p, addr: a}
	case <-time.After(twWait):
		t.Fatalf("the agent did not log its address within %s", twWait)
	}
	return nil
}

// post sends body to the agent's path and returns the status, content type and body.
func (a *twAgent) post(t *testing.T, path, body string) (int, string, string) {
	t.Helper()
	resp, err := http.Post("http://"+a.addr+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// threadHas reports whether a message of the thread contains s, and how many do.
func threadHas(fake *fakerocketchat.Server, root, s string) int {
	n := 0
	for _, m := range fake.Thread(root) {
		if strings.Contains(m.Msg, s) {
			n++
		}
	}
	return n
}

// TestEndToEndTwoWay runs the real binary with the real signl4 and rocketchat
// plugins against both fakes. A failed reload raises the SIGNL4 alert and the
// Rocket.Chat thread; acknowledging it in SIGNL4 shows who in the thread; a
// duplicated SIGNL4 notification is processed once; a reply "resolve" in the
// thread closes the SIGNL4 alert; a chat message with the trigger word raises
// a SIGNL4 alert. The hooks refuse wrong tokens, large and malformed bodies.
func TestEndToEndTwoWay(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses SIGTERM")
	}
	relay := &twRelay{}
	relaySrv := httptest.NewServer(relay)
	t.Cleanup(relaySrv.Close)

	s4 := fakesignl4.New(fakesignl4.Options{Secrets: []string{twSIGNL4Secret},
		CallbackURL: relaySrv.URL + "/hooks/signl4?token=" + twSIGNL4Hook})
	s4w := newTWWatched(s4)
	s4Srv := httptest.NewServer(s4w)
	t.Cleanup(s4Srv.Close)

	rc := fakerocketchat.New(fakerocketchat.Options{
		Rooms: []fakerocketchat.Room{{ID: "ALERTS", Name: "alerts"}},
		Users: []fakerocketchat.User{
			{ID: "botUser", Username: "herald", Token: twChatPAT, Impersonate: true, BypassRateLimit: true, EditAny: false},
			{ID: "aliceUser", Username: "alice"},
		},
		SiteURL: "https://chat.example.com",
		Outgoing: &fakerocketchat.Outgoing{ID: "out1", URL: relaySrv.URL + "/hooks/rocketchat", Token: twChatOutgoing,
			TriggerWords: []string{"!alert", "ack", "resolve"}, Channel: "#alerts"},
	})
	rcw := newTWWatched(rc)
	rcSrv := httptest.NewServer(rcw)
	t.Cleanup(rcSrv.Close)

	t.Setenv("HERALD_E2E_S4_SECRET", twSIGNL4Secret)
	t.Setenv("HERALD_E2E_S4_HOOK", twSIGNL4Hook)
	t.Setenv("HERALD_E2E_RC_PAT", twChatPAT)
	t.Setenv("HERALD_E2E_RC_OUTGOING", twChatOutgoing)
	dir := t.TempDir()
	log := newQlikLog(t, filepath.Join(dir, "QS-NODE1_System_Scheduler.txt"))
	cfg := writeConfig(t, dir, fmt.Sprintf(`
[agent]
data_dir = "state"
host = "node-under-test"
log_level = "debug"

[[input]]
name = "scheduler"
paths = ["*_System_Scheduler.txt"]
start_at = "beginning"
poll_interval = "100ms"

[[input]]
name = "signl4"
type = "http"
path = "/hooks/signl4"
format = "signl4"
token = "${HERALD_E2E_S4_HOOK}"

[[input]]
name = "chat"
type = "http"
path = "/hooks/rocketchat"
format = "rocketchat"
token = "${HERALD_E2E_RC_OUTGOING}"

[[sink]]
name = "pager"
plugin = "signl4"
[sink.config]
url = "%s/webhook/${HERALD_E2E_S4_SECRET}"

[[sink]]
name = "chat"
plugin = "rocketchat"
[sink.config]
server = "%s"
user_id = "botUser"
token = "${HERALD_E2E_RC_PAT}"
room_id = "ALERTS"

[rules]
packs = ["qliksense", "signl4-to-rocketchat", "rocketchat-to-signl4"]

[server]
listen = "127.0.0.1:0"
`, s4Srv.URL, rcSrv.URL))
	agent := startTwoWayAgent(t, cfg)
	relay.target.Store(&url.URL{Scheme: "http", Host: agent.addr})
	ctx := context.Background()
	task := taskID(1)

	// A failed reload: a SIGNL4 alert and a Rocket.Chat root message.
	log.row("INFO", taskSession, "Max retries reached", 1, "exec-1")
	log.row("INFO", taskSession, "Execution State Change to FinishedFail", 1, "exec-1")
	s4w.await(t, "the SIGNL4 alert", func() bool { _, ok := s4.Alert(task); return ok })
	var root fakerocketchat.Message
	rcw.await(t, "the Rocket.Chat root message", func() bool {
		for _, m := range rc.Messages("ALERTS") {
			if m.TMID == "" && strings.Contains(m.Msg, "*FIRING* Qlik Sense reload failed: Reload task 1") {
				root = m
				return true
			}
		}
		return false
	})

	// Acknowledged in SIGNL4: the thread shows who. SIGNL4 sends user names
	// in lower case. Ack returns once the agent answered, which it does after
	// committing the callback.
	if err := s4.Ack(ctx, task, "Rene"); err != nil {
		t.Fatal(err)
	}
	rcw.await(t, "the acknowledgement in the thread", func() bool { return threadHas(rc, root.ID, "Alert acknowledged by rene") == 1 })

	// herald alerts asks the running agent, which holds the state file.
	out := runTWHerald(t, "alerts", "--config", cfg, "--addr", agent.addr)
	if !strings.Contains(out, "source: running agent at http://"+agent.addr+"/alerts") ||
		!regexp.MustCompile(`qlik-reload-failed\s+`+task+`\s+acknowledged\s.*\srene\s+-\s+chat=`+root.ID+` pager=\S+`).MatchString(out) {
		t.Errorf("herald alerts while the agent runs:\n%s", out)
	}

	// A note SIGNL4 delivers twice is posted once; the hook answered 200 both times.
	s4.DuplicateNext(1)
	if err := s4.Annotate(ctx, task, "Rene", "OK, I'll take care about it."); err != nil {
		t.Fatal(err)
	}
	cbs := s4.Callbacks()
	if n := len(cbs); n != 3 || cbs[1].Status != http.StatusOK || cbs[2].Status != http.StatusOK || !bytes.Equal(cbs[1].Body, cbs[2].Body) {
		t.Fatalf("callbacks %+v; want the ack and the note twice, each answered 200", cbs)
	}
	rcw.await(t, "the note in the thread", func() bool { return threadHas(rc, root.ID, "rene: OK, I'll take care about it.") > 0 })

	// What the hooks refuse is not recorded: a wrong token, too large, malformed.
	pwned := `{"eventType":203,"user":{"username":"eve"},"alert":{"externalEventId":"` + task + `"},"annotation":{"message":"pwned"},"id":"x1"}`
	for _, c := range []struct {
		path, body string
		want       int
	}{
		{"/hooks/signl4?token=guess", pwned, http.StatusUnauthorized},
		{"/hooks/signl4", pwned, http.StatusUnauthorized},
		{"/hooks/rocketchat", `{"token":"guess","user_name":"eve","text":"resolve","tmid":"` + root.ID + `","message_id":"x2"}`, http.StatusUnauthorized},
		{"/hooks/signl4?token=" + twSIGNL4Hook, `{"eventType":203,"pad":"` + strings.Repeat("x", 1<<20) + `"}`, http.StatusRequestEntityTooLarge},
		{"/hooks/signl4?token=" + twSIGNL4Hook, `{"eventType":203,`, http.StatusBadRequest},
	} {
		if code, _, body := agent.post(t, c.path, c.body); code != c.want {
			t.Errorf("POST %s: %d %s, want %d", strings.Split(c.path, "?")[0], code, body, c.want)
		}
	}
	// SIGNL4's test notification is only logged.
	if code, _, _ := agent.post(t, "/hooks/signl4?token="+twSIGNL4Hook, `{"eventType":1,"id":"test-1"}`); code != http.StatusOK {
		t.Errorf("test notification answered %d", code)
	}
	// Rocket.Chat gets 200 {} as JSON: an empty answer would count as a failure.
	code, ctype, body := agent.post(t, "/hooks/rocketchat",
		`{"token":"`+twChatOutgoing+`","bot":false,"trigger_word":"ack","channel_name":"alerts","message_id":"m-plain","user_name":"alice","text":"ack"}`)
	if code != http.StatusOK || body != "{}" || ctype != "application/json" {
		t.Errorf("Rocket.Chat answer: %d %q %q, want 200 {} application/json", code, body, ctype)
	}

	// A reply "resolve" in the alert's thread closes the SIGNL4 alert.
	if _, err := rc.Post("#alerts", "alice", "resolve", root.ID); err != nil {
		t.Fatal(err)
	}
	d := rc.Deliveries()
	if last := d[len(d)-1]; !last.OK || last.Status != http.StatusOK || last.Payload.TMID != root.ID {
		t.Errorf("outgoing webhook delivery %+v, want answered 200 with a body", last)
	}
	s4w.await(t, "the SIGNL4 alert closed", func() bool {
		a, _ := s4.Alert(task)
		return a.StatusCode == fakesignl4.StatusClosed
	})
	rcw.await(t, "the resolution in the thread and on the root", func() bool {
		m, _ := rc.Message(root.ID)
		return threadHas(rc, root.ID, "Alert resolved by alice in Rocket.Chat") == 1 && strings.Contains(m.Msg, "*RESOLVED*")
	})
	a, _ := s4.Alert(task)
	if h := a.History; len(h) != 4 || h[1].StatusCode != fakesignl4.StatusAcknowledged || h[1].By != "Rene" ||
		h[2].Annotation == "" || h[3].StatusCode != fakesignl4.StatusClosed || h[3].By != "webhook" {
		t.Errorf("SIGNL4 alert history %+v, want raised, acknowledged by Rene, annotated, closed by Herald's webhook", h)
	}

	// A message with the trigger word raises a SIGNL4 alert (and a thread).
	msg, err := rc.Post("#alerts", "alice", "!alert the Sales app shows no data", "")
	if err != nil {
		t.Fatal(err)
	}
	s4w.await(t, "the alert from chat", func() bool { _, ok := s4.Alert(msg.ID); return ok })
	raised, _ := s4.Alert(msg.ID)
	if raised.Title != "Alert from Rocket.Chat" || !strings.Contains(raised.Text, "the Sales app shows no data") ||
		raised.Params["User"] != "alice" || raised.Params["Channel"] != "alerts" {
		t.Errorf("SIGNL4 alert from chat: %+v", raised)
	}

	// Nothing refused was recorded, and the duplicate was posted once. The
	// sink delivers in order, so the chat alert's root being there means
	// everything queued before it was delivered.
	rcw.await(t, "the chat alert's root", func() bool {
		for _, m := range rc.Messages("ALERTS") {
			if m.TMID == "" && strings.Contains(m.Msg, "*FIRING* Alert from Rocket.Chat") {
				return true
			}
		}
		return false
	})
	if n := threadHas(rc, root.ID, "OK, I'll take care about it."); n != 1 {
		t.Errorf("the note SIGNL4 delivered twice is in the thread %d times", n)
	}
	for _, m := range rc.Messages("ALERTS") {
		if strings.Contains(m.Msg, "pwned") {
			t.Errorf("a refused callback was posted: %+v", m)
		}
	}
	agent.stop(t)
	logged := agent.stderr.String()
	if !strings.Contains(logged, "SIGNL4 test notification received") {
		t.Error("the SIGNL4 test notification was not logged")
	}
	for _, secret := range []string{twSIGNL4Secret, twSIGNL4Hook, twChatPAT, twChatOutgoing} {
		if strings.Contains(logged, secret) {
			t.Errorf("the agent log shows a secret (%.6s…)", secret)
		}
	}

	// Stopped, herald alerts reads the data dir: the alert is resolved, by alice.
	out = runTWHerald(t, "alerts", "--config", cfg, "--all", "--json")
	var got []state.Alert
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var a state.Alert
		if err := dec.Decode(&a); err != nil {
			t.Fatalf("herald alerts --json: %v\n%s", err, out)
		}
		got = append(got, a)
	}
	var failed *state.Alert
	for i := range got {
		if got[i].Rule == "qlik-reload-failed" {
			failed = &got[i]
		}
	}
	if failed == nil || failed.Status != "resolved" || failed.AckedBy != "rene" || failed.ResolvedBy != "alice" || failed.Refs["chat"] != root.ID {
		t.Errorf("herald alerts --all --json from the data dir: %s", out)
	}
}

// runTWHerald runs a herald command, fails the test unless it succeeds, and
// returns its stdout.
func runTWHerald(t *testing.T, args ...string) string {
	t.Helper()
	stdout, stderr, code := runHerald(t, args...)
	if code != 0 {
		t.Fatalf("herald %s: exit status %d\n%s%s", strings.Join(args, " "), code, stdout, stderr)
	}
	return stdout
}

// TestTwoWayExampleChecks: the two-way example config passes herald check
// with its secrets set, and so does the demo config against the fakes.
func TestTwoWayExampleChecks(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "two-way", "herald.toml"))
	if err != nil {
		t.Fatal(err)
	}
	// Its paths are a Qlik node's: point them at a log in the temp dir, as
	// herald check requires a readable file for every pattern.
	qlik := `'C:\ProgramData\Qlik\Sense\Log\Scheduler\Trace\*_System_Scheduler.txt'`
	if !strings.Contains(string(b), qlik) {
		t.Fatalf("the two-way example no longer has the paths %s", qlik)
	}
	writeLog(t, dir)
	cfg := writeConfig(t, dir, strings.Replace(string(b), qlik, `"*_System_Scheduler.txt"`, 1))
	for _, v := range []string{"HERALD_SIGNL4_HOOK_TOKEN", "ROCKETCHAT_OUTGOING_TOKEN", "SIGNL4_TEAM_SECRET", "ROCKETCHAT_USER_ID", "ROCKETCHAT_TOKEN"} {
		t.Setenv(v, "example-"+strings.ToLower(v))
	}
	demo := runTWHerald(t, "check", "--config", filepath.Join("..", "..", "examples", "two-way", "demo.toml"))
	if !strings.Contains(demo, ": OK") {
		t.Errorf("herald check demo.toml:\n%s", demo)
	}
	out := runTWHerald(t, "check", "--config", cfg)
	for _, want := range []string{"inputs: scheduler, signl4-callbacks, chat-messages", "signl4-acknowledged", "rocketchat-resolve"} {
		if !strings.Contains(out, want) {
			t.Errorf("herald check output lacks %q:\n%s", want, out)
		}
	}
}
