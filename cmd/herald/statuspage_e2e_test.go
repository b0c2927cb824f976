package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/heraldhq/herald/sinks/sinktest/fakesignl4"
)

// chromiumPath finds Debian's chromium (.ci/run installs it).
func chromiumPath() string {
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// newBrowser starts a headless chromium with a fresh profile and returns a
// tab's context.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		t.Skip("SKIPPED: no chromium found (apt-get install chromium; .ci/run does): the status page is not tested in a browser")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 768),
		// A zone away from UTC, so the page's conversion shows.
		chromedp.Env("TZ=Europe/Vienna"),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		cancelTime()
		cancelTab()
		cancelAlloc()
	})
	return ctx
}

// into runs a and stores its value in dst, for chromedp.Do.
func into[T any](dst *T, a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		v, err := a(ctx, t)
		*dst = v
		return chromedp.Void{}, err
	}
}

// TestStatusPageInBrowser drives the status page of a real herald in
// chromium: it shows a failed reload, and resolving it with the page's button
// closes the SIGNL4 alert. It writes a screenshot at 1366x768 to
// $HERALD_SCREENSHOT_DIR (default: a temporary directory) and logs its path.
func TestStatusPageInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	dir := t.TempDir()
	fake := fakesignl4.New(fakesignl4.Options{Secrets: []string{"team-secret"}})
	s4 := httptest.NewServer(fake)
	t.Cleanup(s4.Close)
	// A destination that refuses every event, so the page has dead letters.
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "bad request: no such channel", http.StatusBadRequest)
	}))
	t.Cleanup(refuse.Close)
	const token = "status-page-admin-token"
	cfg := writeConfig(t, dir, fmt.Sprintf(tailPreamble("")+`
[[sink]]
name = "pager"
plugin = "signl4"
[sink.config]
url = "%s/webhook/team-secret"

[[sink]]
name = "audit"
plugin = "webhook"
[sink.config]
url = "%s/events"

[server]
listen = "127.0.0.1:0"
admin_token = %q
`, s4.URL, refuse.URL, token)+packs)
	log := newQlikLog(t, filepath.Join(dir, "QS-NODE1_System_Scheduler.txt"))
	fail(log, 7, "exec-7")
	log.row("ERROR", reloadTask, "Reload failed: General Script Error in statement handling", 8, "exec-8")
	fail(log, 8, "exec-8")

	agent := startServingAgent(t, heraldBin, cfg)
	waitAlert(t, fake, taskID(7), fakesignl4.StatusNew)
	waitAlert(t, fake, taskID(8), fakesignl4.StatusNew)
	base := "http://" + agent.addr + "/"

	alert7 := fmt.Sprintf(`article.alert[data-key=%q]`, taskID(7))
	var title, shown string
	if err := chromedp.Do(ctx,
		chromedp.EmulateViewport(1366, 768),
		chromedp.Navigate(base+"?refresh=0"),
		chromedp.WaitVisible(alert7),
		into(&title, chromedp.Text(alert7+" h3")),
		into(&shown, chromedp.Text("#alerts")),
	); err != nil {
		t.Fatal(err)
	}
	if title != "Reload task 7" || !strings.Contains(shown, "App 7") || !strings.Contains(shown, "QS-NODE1") {
		t.Errorf("the page shows the alert as %q:\n%s", title, shown)
	}
	var zone string
	if err := chromedp.Do(ctx, chromedp.WaitVisible(`#inputs td`), into(&zone, chromedp.Text("#zone"))); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(zone, "Europe/Vienna (UTC+0") {
		t.Errorf("the page does not say the browser's zone: %q", zone)
	}

	var png []byte
	if err := chromedp.Do(ctx, into(&png, chromedp.CaptureScreenshot())); err != nil {
		t.Fatal(err)
	}
	shotDir := os.Getenv("HERALD_SCREENSHOT_DIR")
	if shotDir == "" {
		shotDir = t.TempDir()
	}
	shot := filepath.Join(shotDir, "statuspage-1366x768.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of the status page at 1366x768: %s", shot)

	// On a phone the page is one column that needs no sideways scrolling.
	var fits bool
	if err := chromedp.Do(ctx,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		chromedp.Navigate(base+"?refresh=0"),
		chromedp.WaitVisible(alert7),
		into(&fits, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`)),
		into(&png, chromedp.CaptureScreenshot()),
	); err != nil {
		t.Fatal(err)
	}
	phone := filepath.Join(shotDir, "statuspage-phone-390x844.png")
	if err := os.WriteFile(phone, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of the status page on a phone: %s", phone)
	if !fits {
		t.Error("the page is wider than a 390 px phone screen")
	}
	if err := chromedp.Do(ctx,
		chromedp.EmulateViewport(1366, 768),
		chromedp.Navigate(base+"?refresh=0"),
		chromedp.WaitVisible(alert7),
	); err != nil {
		t.Fatal(err)
	}

	// Resolve task 7 by hand, with the admin token typed in the Admin box.
	resolve := alert7 + ` button.resolve`
	var flash string
	if err := chromedp.Do(ctx,
		chromedp.Click(`#admin summary`),
		chromedp.WaitVisible(`#admin input[name=admin_token]`),
		chromedp.SendKeys(`#admin input[name=admin_name]`, "tester"),
		chromedp.SendKeys(`#admin input[name=admin_token]`, token),
	); err != nil {
		t.Fatal(err)
	}
	// The button posts the form; the page answers with a redirect to itself.
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(resolve))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusOK {
		t.Errorf("after the redirect the page answers %d", resp.Status)
	}
	if err := chromedp.Do(ctx,
		// Text waits for the element. (WaitVisible after a navigation
		// that a form's POST started does not see the new document.)
		into(&flash, chromedp.Text(`.flash.ok`)),
	); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(flash, "resolved") {
		t.Errorf("after resolving, the page says %q", flash)
	}
	closed := waitAlert(t, fake, taskID(7), fakesignl4.StatusClosed)
	if a, _ := fake.Alert(taskID(8)); a.StatusCode != fakesignl4.StatusNew {
		t.Errorf("task 8's alert is in status %d after resolving task 7, want it still new", a.StatusCode)
	}
	_ = closed

	// The resolution is in the alert's history, with who did it.
	var history string
	if err := chromedp.Do(ctx,
		chromedp.WaitNotPresent(alert7+`.al-firing`),
		into(&history, chromedp.TextContent(`details.resolved`)),
	); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(history, "resolved by tester (status page)") {
		t.Errorf("the resolved alert's history does not say who resolved it:\n%s", history)
	}

	// A silence made with the page's form holds a failure of task 9: the
	// fake SIGNL4 gets nothing for it, while task 10's failure, logged after
	// it and not silenced, goes out. Once every queued event is answered
	// (outbox depth 0), task 9 has provably been held, not delayed.
	if err := chromedp.Do(ctx,
		chromedp.Click(`details.new-silence summary`),
		chromedp.WaitVisible(`input[name=m0_name]`),
		chromedp.SendKeys(`input[name=m0_name]`, "key"),
		chromedp.SendKeys(`input[name=m0_value]`, taskID(9)),
		chromedp.SendKeys(`input[name=comment]`, "DB upgrade"),
	); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(`details.new-silence button`)); err != nil {
		t.Fatal(err)
	}
	var silenced string
	if err := chromedp.Do(ctx, into(&silenced, chromedp.Text(`.flash.ok`))); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(silenced, "silence is added") {
		t.Fatalf("after adding a silence, the page says %q", silenced)
	}
	fail(log, 9, "exec-9")
	fail(log, 10, "exec-10")
	waitAlert(t, fake, taskID(10), fakesignl4.StatusNew)
	waitMetric(t, agent.agentProc, `herald_outbox_depth{sink="pager"} 0`)
	if a, ok := fake.Alert(taskID(9)); ok {
		t.Fatalf("a silenced failure reached SIGNL4: %+v", a)
	}

	// Expiring it on the page delivers the still-firing alert once, saying
	// it was held.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"?refresh=0"), chromedp.WaitVisible(`ul.silences li.active button`)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(`ul.silences li.active button`)); err != nil {
		t.Fatal(err)
	}
	held := waitAlert(t, fake, taskID(9), fakesignl4.StatusNew)
	if !strings.Contains(held.Text, "held by maintenance window 'DB upgrade'") {
		t.Errorf("the released alert does not say it was held: %q", held.Text)
	}
	waitMetric(t, agent.agentProc, `herald_outbox_depth{sink="pager"} 0`)
	n := 0
	for _, r := range fake.Requests() {
		if strings.Contains(string(r.Body), taskID(9)) || strings.Contains(r.Query.Encode(), taskID(9)) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("SIGNL4 got %d requests about task 9, want 1 (the release)", n)
	}

	// Without the token, or from another site, nothing happens.
	for _, tc := range []struct {
		name   string
		origin string
		token  string
		want   int
	}{
		{"wrong token", "", "wrong-token-wrong-token", http.StatusUnauthorized},
		{"cross-site", "http://evil.example", token, http.StatusForbidden},
	} {
		form := url.Values{"do": {"op=resolve&rule=qlik-reload-failed&key=" + taskID(8)}, "admin_token": {tc.token}}
		req, _ := http.NewRequest(http.MethodPost, base, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if tc.origin != "" {
			req.Header.Set("Origin", tc.origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
	if a, _ := fake.Alert(taskID(8)); a.StatusCode != fakesignl4.StatusNew {
		t.Errorf("task 8's alert is in status %d after refused actions, want it still new", a.StatusCode)
	}
	agent.stop(t)
}
