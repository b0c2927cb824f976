package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldhq/herald/sinks/sinktest/fakerocketchat"
	"github.com/heraldhq/herald/sinks/sinktest/fakesignl4"
)

// The end-to-end sink tests run the real binary, which starts the real sink
// plugin processes, against the faithful fakes of SIGNL4 and Rocket.Chat (or
// a recording receiver) on loopback. The fakes change state in the test
// process, so the tests poll it with waitFor; nothing sleeps to synchronise.

// Secrets of the sink tests, handed to herald only through ${VAR}; assertNoSecret
// checks that none shows in the agent's log or check's output.
const (
	signl4Secret = "s4TeamS3cretForE2ETests"
	chatToken    = "rcPersonalAccessT0kenE2E"
	// whsecKey is the webhook signing key; the secret is "whsec_" + its base64.
	whsecKey = "herald-e2e-signing-key-32-bytes!"
)

// sinkTestConfig is a herald.toml with the scheduler input, the qliksense
// rule pack, debug logging (so a secret leaking into any log line would show)
// and the given [[sink]] tables.
func sinkTestConfig(t *testing.T, dir, sinks string) string {
	t.Helper()
	return writeConfig(t, dir, tailPreamble("host = \"node-under-test\"\nlog_level = \"debug\"")+sinks+`
[rules]
packs = ["qliksense"]
`)
}

// waitFor polls get until it reports ok, and fails the test after 60 s
// naming what it waited for and the last value get returned. It is for state
// a fake server or the agent's log holds, which offer nothing to wait on.
func waitFor[T any](t *testing.T, what string, get func() (T, bool)) T {
	t.Helper()
	const timeout = 60 * time.Second
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		v, ok := get()
		if ok {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; last saw %+v", timeout, what, v)
		}
		<-tick.C
	}
}

// failTask writes the rows of a failed run of task n (retries exhausted).
func failTask(log *qlikLog, n int, exec string) {
	log.row("INFO", taskSession, "Execution State Change to Started", n, exec)
	log.row("ERROR", reloadTask, "Message from ReloadProvider: Reload failed in Engine. Check engine or script logs.", n, exec)
	log.row("INFO", taskSession, "Max retries reached", n, exec)
	log.row("INFO", taskSession, "Execution State Change to FinishedFail", n, exec)
}

// succeedTask writes the row of a successful run of task n.
func succeedTask(log *qlikLog, n int, exec string) {
	log.row("INFO", taskSession, "Execution State Change to FinishedSuccess", n, exec)
}

// startSIGNL4Agent serves fake on loopback and starts `herald run` with one
// sink, "pager": the signl4 plugin pointed at the fake, the team secret given
// as ${HERALD_E2E_SIGNL4_SECRET} = signl4Secret. extra holds more
// [sink.config] keys. It returns the agent and the scheduler log it tails.
func startSIGNL4Agent(t *testing.T, fake *fakesignl4.Server, extra string) (*agentProc, *qlikLog) {
	t.Helper()
	t.Setenv("HERALD_E2E_SIGNL4_SECRET", signl4Secret)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	log := newQlikLog(t, filepath.Join(dir, "QS-NODE1_System_Scheduler.txt"))
	cfg := sinkTestConfig(t, dir, fmt.Sprintf(`
[[sink]]
name = "pager"
plugin = "signl4"
[sink.config]
url = "%s/webhook/${HERALD_E2E_SIGNL4_SECRET}"
`, srv.URL)+extra)
	return startAgent(t, cfg), log
}

// TestEndToEndSIGNL4 raises a SIGNL4 alert for a failed reload and closes it
// when the task next succeeds, through the real signl4 plugin and the fake
// SIGNL4, with the team secret supplied as ${HERALD_E2E_SIGNL4_SECRET}.
func TestEndToEndSIGNL4(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses SIGTERM")
	}
	fake := fakesignl4.New(fakesignl4.Options{Secrets: []string{signl4Secret}})
	agent, log := startSIGNL4Agent(t, fake, `service = "Qlik Sense"
alerting_scenario = "multi_ack"
[sink.config.parameters]
Environment = "e2e"
[sink.config.severities]
critical = "1"
`)

	failTask(log, 7, "exec-7a")
	alert := waitFor(t, "the SIGNL4 alert of task 7", func() (fakesignl4.Alert, bool) {
		return fake.Alert(taskID(7))
	})
	if alert.StatusCode != fakesignl4.StatusNew {
		t.Errorf("new alert has status %d, want %d (new)", alert.StatusCode, fakesignl4.StatusNew)
	}
	if want := "Qlik Sense reload failed: Reload task 7"; alert.Title != want {
		t.Errorf("title %q, want %q", alert.Title, want)
	}
	if want := `Reload task "Reload task 7" failed for app "App 7" (app id app-7), reported by the scheduler on QS-NODE1. Execution exec-7a.`; !strings.HasPrefix(alert.Text, want) {
		t.Errorf("message %q, want it to start with %q", alert.Text, want)
	}
	if alert.Service != "Qlik Sense" || alert.AlertingScenario != "multi_ack" || alert.SourceSystem != "Herald" {
		t.Errorf("service %q, scenario %q, source %q; want Qlik Sense, multi_ack, Herald",
			alert.Service, alert.AlertingScenario, alert.SourceSystem)
	}
	for k, want := range map[string]string{
		"Severity": "1", "Environment": "e2e", "TaskName": "Reload task 7", "TaskId": taskID(7),
		"AppName": "App 7", "AppId": "app-7", "ExecutionId": "exec-7a", "Hostname": "QS-NODE1",
	} {
		if got := alert.Params[k]; got != want {
			t.Errorf("parameter %s = %v, want %q", k, got, want)
		}
	}

	succeedTask(log, 7, "exec-7b")
	closed := waitFor(t, "the SIGNL4 alert of task 7 to close", func() (fakesignl4.Alert, bool) {
		a, ok := fake.Alert(taskID(7))
		return a, ok && a.StatusCode == fakesignl4.StatusClosed
	})
	if closed.ID != alert.ID {
		t.Errorf("a second alert was closed (%s), not the one raised (%s)", closed.ID, alert.ID)
	}
	if len(closed.History) != 2 || closed.History[1].By != "webhook" {
		t.Errorf("history %+v, want raised then closed by the webhook", closed.History)
	}
	agent.stop(t)

	// Exactly two requests, both accepted: the raise and the close.
	reqs := fake.Requests()
	if len(reqs) != 2 {
		t.Fatalf("fake got %d requests, want 2: %+v", len(reqs), reqs)
	}
	for i, want := range []string{"created", "resolved 1"} {
		if reqs[i].Status != http.StatusCreated || reqs[i].Effect != want {
			t.Errorf("request %d: status %d effect %q, want 201 %q", i, reqs[i].Status, reqs[i].Effect, want)
		}
	}
	var resolve map[string]any
	if err := json.Unmarshal(reqs[1].Body, &resolve); err != nil {
		t.Fatal(err)
	}
	if resolve["X-S4-ExternalID"] != taskID(7) || resolve["X-S4-Status"] != "resolved" {
		t.Errorf("resolving body %s, want X-S4-ExternalID %s and X-S4-Status resolved", reqs[1].Body, taskID(7))
	}
	if len(fake.Alerts()) != 1 {
		t.Errorf("fake holds %d alerts, want 1", len(fake.Alerts()))
	}
	assertNoSecret(t, "agent log", agent.stderr.String())
}

// TestEndToEndSIGNL4WrongSecret: SIGNL4 quotes an unknown secret in its 404;
// the event is dead-lettered with SIGNL4's reason, and the secret shows in no
// log line.
func TestEndToEndSIGNL4WrongSecret(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses SIGTERM")
	}
	fake := fakesignl4.New(fakesignl4.Options{Secrets: []string{"the-right-secret"}})
	agent, log := startSIGNL4Agent(t, fake, "")

	failTask(log, 8, "exec-8")
	logged := waitFor(t, "the dead-letter warning", func() (string, bool) {
		s := agent.stderr.String()
		return s, strings.Contains(s, "sink rejected an event; moved to dead letters")
	})
	agent.stop(t)
	if !strings.Contains(logged, "check the team or integration secret in url") {
		t.Errorf("the agent log lacks SIGNL4's reason and the hint:\n%s", logged)
	}
	if reqs := fake.Requests(); len(reqs) != 1 || reqs[0].Status != http.StatusNotFound {
		t.Errorf("fake got %+v, want one request answered 404", reqs)
	} else if !bytes.Contains([]byte(reqs[0].Effect), []byte("unknown secret")) {
		t.Errorf("fake effect %q, want unknown secret", reqs[0].Effect)
	}
	assertNoSecret(t, "agent log", agent.stderr.String())
}

// TestEndToEndSIGNL4RateLimited: SIGNL4 answers 429 once a window's budget is
// spent and says when it resets; the agent sends the alert again after the
// reset, not before, and it is delivered.
//
// The fake's budget is one request per 2 s window. Its clock stands still at
// the time of the first request for the first two requests, so the second is
// refused whatever the machine's speed; from then on it is the real clock.
func TestEndToEndSIGNL4RateLimited(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses SIGTERM")
	}
	const window = 2 * time.Second
	var (
		calls  atomic.Int64
		pinned atomic.Pointer[time.Time]
	)
	now := func() time.Time {
		if calls.Add(1) > 2 {
			return time.Now()
		}
		if p := pinned.Load(); p != nil {
			return *p
		}
		t0 := time.Now()
		pinned.Store(&t0)
		return t0
	}
	fake := fakesignl4.New(fakesignl4.Options{Secrets: []string{signl4Secret}, RateLimit: 1, RateWindow: window, Now: now})
	agent, log := startSIGNL4Agent(t, fake, "")

	failTask(log, 1, "exec-1")
	failTask(log, 2, "exec-2")
	waitFor(t, "both alerts", func() ([]fakesignl4.Alert, bool) {
		a := fake.Alerts()
		return a, len(a) == 2
	})
	agent.stop(t)

	reqs := fake.Requests()
	var statuses []int
	for _, r := range reqs {
		statuses = append(statuses, r.Status)
	}
	if len(reqs) != 3 || statuses[0] != http.StatusCreated || statuses[1] != http.StatusTooManyRequests || statuses[2] != http.StatusCreated {
		t.Fatalf("fake answered %v, want [201 429 201]: one raise, one refused, the same sent again after the reset", statuses)
	}
	if !bytes.Equal(reqs[1].Body, reqs[2].Body) {
		t.Errorf("the retried request differs from the refused one:\n%s\n%s", reqs[1].Body, reqs[2].Body)
	}
	// The 429 said: not before the end of the blocked window, in whole Unix
	// seconds (X-RateLimit-Reset).
	reset := time.Unix(reqs[1].Time.Add(window).Add(time.Second-1).Unix(), 0)
	if reqs[2].Time.Before(reset) {
		t.Errorf("sent again at %s, before the reset at %s", reqs[2].Time.Format(time.RFC3339Nano), reset.Format(time.RFC3339))
	}
	if s := agent.stderr.String(); !strings.Contains(s, "sink could not take events now; retrying") || !strings.Contains(s, "429") {
		t.Errorf("the agent log does not show the rate-limited retry:\n%s", s)
	}
}

// newFakeRocketChat serves a fake Rocket.Chat with room ALERTS (#alerts), a
// REST bot user whose token is chatToken, and an incoming webhook h1.
func newFakeRocketChat(t *testing.T) (*fakerocketchat.Server, *httptest.Server) {
	t.Helper()
	fake := fakerocketchat.New(fakerocketchat.Options{
		Rooms: []fakerocketchat.Room{{ID: "ALERTS", Name: "alerts"}},
		Users: []fakerocketchat.User{
			{ID: "hookUser", Username: "herald.hook", Impersonate: true},
			{ID: "botUser", Username: "herald", Token: chatToken, Impersonate: true},
		},
		Hooks: []fakerocketchat.Hook{{ID: "h1", Token: chatToken, UserID: "hookUser", Channel: "#alerts"}},
	})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return fake, srv
}

// TestEndToEndRocketChatREST: in REST mode a failed reload posts a root
// message in the room; the task's next success replies in that message's
// thread and edits the root to say the alert is resolved.
func TestEndToEndRocketChatREST(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses SIGTERM")
	}
	t.Setenv("HERALD_E2E_RC_TOKEN", chatToken)
	fake, srv := newFakeRocketChat(t)
	dir := t.TempDir()
	log := newQlikLog(t, filepath.Join(dir, "QS-NODE1_System_Scheduler.txt"))
	cfg := sinkTestConfig(t, dir, fmt.Sprintf(`
[[sink]]
name = "chat"
plugin = "rocketchat"
[sink.config]
server = "%s"
user_id = "botUser"
token = "${HERALD_E2E_RC_TOKEN}"
room_id = "ALERTS"
alias = "Herald"
`, srv.URL))
	agent := startAgent(t, cfg)

	failTask(log, 3, "exec-3a")
	root := waitFor(t, "the alert's message in #alerts", func() (fakerocketchat.Message, bool) {
		m := fake.Messages("ALERTS")
		if len(m) == 0 {
			return fakerocketchat.Message{}, false
		}
		return m[0], true
	})
	if want := ":red_circle: *FIRING* Qlik Sense reload failed: Reload task 3"; root.Msg != want {
		t.Errorf("root text %q, want %q", root.Msg, want)
	}
	if root.TMID != "" || root.U.ID != "botUser" || root.Alias != "Herald" {
		t.Errorf("root tmid %q, user %q, alias %q; want a top-level message by botUser as Herald", root.TMID, root.U.ID, root.Alias)
	}
	if len(root.Attachments) != 1 {
		t.Fatalf("root has %d attachments, want 1", len(root.Attachments))
	}
	att := root.Attachments[0]
	if att.Color != "#d00000" || !strings.HasPrefix(att.Text, `Reload task "Reload task 3" failed`) {
		t.Errorf("attachment colour %q text %q; want red and the alert's message", att.Color, att.Text)
	}
	fields := map[string]any{}
	for _, f := range att.Fields {
		fields[f.Title] = f.Value
	}
	for k, want := range map[string]string{"Severity": "critical", "Task": "Reload task 3", "App": "App 3", "Execution": "exec-3a", "Rule": "qlik-reload-failed"} {
		if fields[k] != want {
			t.Errorf("attachment field %s = %v, want %q", k, fields[k], want)
		}
	}

	succeedTask(log, 3, "exec-3b")
	reply := waitFor(t, "the resolution in the alert's thread", func() (fakerocketchat.Message, bool) {
		th := fake.Thread(root.ID)
		if len(th) == 0 {
			return fakerocketchat.Message{}, false
		}
		return th[0], true
	})
	if want := ":white_check_mark: *RESOLVED* Qlik Sense reload succeeded: Reload task 3"; reply.Msg != want || reply.RID != "ALERTS" {
		t.Errorf("reply %q in room %q, want %q in ALERTS", reply.Msg, reply.RID, want)
	}
	edited := waitFor(t, "the root edited as resolved", func() (fakerocketchat.Message, bool) {
		m, ok := fake.Message(root.ID)
		return m, ok && m.EditedAt != nil
	})
	if !strings.HasPrefix(edited.Msg, ":white_check_mark: *RESOLVED* ") {
		t.Errorf("edited root text %q, want it marked resolved", edited.Msg)
	}
	agent.stop(t)

	if msgs := fake.Messages("ALERTS"); len(msgs) != 2 {
		t.Errorf("room holds %d messages, want 2 (the root and one reply)", len(msgs))
	}
	assertNoSecret(t, "agent log", agent.stderr.String())
}

// hookRequest is one request a recordingServer received.
type hookRequest struct {
	header http.Header
	body   []byte
}

// recordingServer answers 200 to every request and keeps it.
type recordingServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []hookRequest
}

func newRecordingServer(t *testing.T) *recordingServer {
	t.Helper()
	r := &recordingServer{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.reqs = append(r.reqs, hookRequest{header: req.Header.Clone(), body: body})
		r.mu.Unlock()
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *recordingServer) requests() []hookRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hookRequest(nil), r.reqs...)
}

// TestEndToEndButlerWebhookAndRocketChatHook fans one failed reload and its
// resolution out to two sinks: a Rocket.Chat incoming webhook and a webhook
// in Butler's format, signed the Standard Webhooks way. The receiver gets
// Butler's 15 keys and a signature it can verify; Butler's format has no
// resolution, so it gets nothing more, while the chat room shows both, the
// resolution in the alert's thread.
func TestEndToEndButlerWebhookAndRocketChatHook(t *testing.T) {
	t.Setenv("HERALD_E2E_RC_HOOK", "h1/"+chatToken)
	t.Setenv("HERALD_E2E_WEBHOOK_SECRET", "whsec_"+base64.StdEncoding.EncodeToString([]byte(whsecKey)))
	fake, chat := newFakeRocketChat(t)
	butler := newRecordingServer(t)

	dir := t.TempDir()
	log := newQlikLog(t, filepath.Join(dir, "QS-NODE1_System_Scheduler.txt"))
	failTask(log, 5, "exec-5a")
	succeedTask(log, 5, "exec-5b")
	cfg := sinkTestConfig(t, dir, fmt.Sprintf(`
[[sink]]
name = "chat"
plugin = "rocketchat"
[sink.config]
url = "%s/hooks/${HERALD_E2E_RC_HOOK}"

[[sink]]
name = "butler"
plugin = "webhook"
[sink.config]
url = "%s/qlik/reload-failed"
method = "PUT"
format = "butler"
secret = "${HERALD_E2E_WEBHOOK_SECRET}"
`, chat.URL, butler.URL))
	// --once reads the log, drains every sink's outbox and exits: whatever
	// the sinks were going to send has been sent when it returns.
	started := time.Now()
	_, logged, code := runHerald(t, "run", "--once", "--config", cfg)
	if code != 0 {
		t.Fatalf("herald run --once exited %d:\n%s", code, logged)
	}

	// Rocket.Chat: the alert, and its resolution in the alert's thread (the
	// sink asks for separateResponse, so the server returns the posted
	// message's id, as Rocket.Chat does since 2025).
	msgs := fake.Messages("ALERTS")
	if len(msgs) == 2 && msgs[1].TMID != msgs[0].ID {
		t.Errorf("the resolution's tmid is %q, want the alert's message %q", msgs[1].TMID, msgs[0].ID)
	}
	var texts []string
	for _, m := range msgs {
		texts = append(texts, m.Msg)
		if m.U.ID != "hookUser" {
			t.Errorf("message %q posted by %q, want the integration's user", m.Msg, m.U.ID)
		}
	}
	wantTexts := []string{
		":red_circle: *FIRING* Qlik Sense reload failed: Reload task 5",
		":white_check_mark: *RESOLVED* Qlik Sense reload succeeded: Reload task 5",
	}
	if strings.Join(texts, "\n") != strings.Join(wantTexts, "\n") {
		t.Errorf("room shows\n%s\nwant\n%s", strings.Join(texts, "\n"), strings.Join(wantTexts, "\n"))
	}

	// Butler: one request, the failure.
	reqs := butler.requests()
	if len(reqs) != 1 {
		t.Fatalf("butler receiver got %d requests, want 1 (the failure only)", len(reqs))
	}
	req := reqs[0]
	var body map[string]string
	if err := json.Unmarshal(req.body, &body); err != nil {
		t.Fatalf("butler body %s: %v", req.body, err)
	}
	want := map[string]string{
		// The test log, like some Qlik versions, has UserDirectory and UserId
		// columns but no User column: the qliksense pack joins them.
		"event": "Qlik Sense reload failed", "hostName": "QS-NODE1", "user": `INTERNAL\sa_scheduler`,
		"taskName": "Reload task 5", "taskId": taskID(5), "appName": "App 5", "appId": "app-5",
		"appOwnerName": "", "appOwnerUserDirectory": "", "appOwnerUserId": "", "appOwnerEmail": "",
		"logTimeStamp": "", "logLevel": "", "executionId": "exec-5a", "logMessage": "",
	}
	if len(body) != len(want) {
		t.Errorf("butler body has %d keys, want %d: %s", len(body), len(want), req.body)
	}
	for k, v := range want {
		got, ok := body[k]
		switch {
		case !ok:
			t.Errorf("butler body lacks %q", k)
		case k == "logTimeStamp":
			// The "Max retries reached" row: 2026-11-22 06:00:SS.000 in the log's +01:00.
			if !strings.HasPrefix(got, "2026-11-22 06:00:") || len(got) != len("2006-01-02 15:04:05.000") {
				t.Errorf("logTimeStamp %q, want the row's time as 2006-01-02 15:04:05.000", got)
			}
		case k == "logMessage":
			if !strings.HasPrefix(got, `Reload task "Reload task 5" failed`) {
				t.Errorf("logMessage %q, want the alert's message", got)
			}
		case got != v:
			t.Errorf("butler %s = %q, want %q", k, got, v)
		}
	}

	// Standard Webhooks: v1,base64(HMAC-SHA256(key, id.timestamp.body)),
	// computed here as a receiver would.
	id, ts, sig := req.header.Get("webhook-id"), req.header.Get("webhook-timestamp"), req.header.Get("webhook-signature")
	if id == "" {
		t.Error("no webhook-id")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Unix(sec, 0).Before(started.Add(-time.Second)) || time.Unix(sec, 0).After(time.Now().Add(time.Second)) {
		t.Errorf("webhook-timestamp %q is not the time of sending", ts)
	}
	mac := hmac.New(sha256.New, []byte(whsecKey))
	mac.Write([]byte(id + "." + ts + "." + string(req.body)))
	if wantSig := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)); sig != wantSig {
		t.Errorf("webhook-signature %q, want %q", sig, wantSig)
	}

	if strings.Contains(logged, chatToken) || strings.Contains(logged, whsecKey) ||
		strings.Contains(logged, base64.StdEncoding.EncodeToString([]byte(whsecKey))) {
		t.Errorf("the agent log shows a secret:\n%s", logged)
	}
}
