package statuspage

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

type fakeSource struct {
	snap     Snapshot
	resolved []string
	retried  []string
	sil      *fakeSilences
}

func (f *fakeSource) Snapshot(context.Context) (Snapshot, error) { return f.snap, nil }
func (f *fakeSource) Resolve(_ context.Context, rule, key, by string) error {
	if key == "missing" {
		return errors.New("no open alert with this rule and key")
	}
	f.resolved = append(f.resolved, rule+"/"+key+" by "+by)
	return nil
}
func (f *fakeSource) RetryDead(_ context.Context, sink string, seqs []uint64, by string) (int, error) {
	f.retried = append(f.retried, sink)
	return 1, nil
}
func (f *fakeSource) DropDead(context.Context, string, []uint64, string) (int, error) { return 1, nil }
func (f *fakeSource) Silences() Silences {
	if f.sil == nil {
		return nil
	}
	return f.sil
}

type fakeSilences struct {
	list    []Silence
	expired []string
}

func (f *fakeSilences) List(context.Context) ([]Silence, error) { return f.list, nil }
func (f *fakeSilences) Add(_ context.Context, s NewSilence) (string, error) {
	f.list = append(f.list, Silence{ID: "s1", Matchers: s.Matchers, StartsAt: s.StartsAt, EndsAt: s.EndsAt, Comment: s.Comment, CreatedBy: s.CreatedBy})
	return "s1", nil
}
func (f *fakeSilences) Expire(_ context.Context, id, by string) error {
	f.expired = append(f.expired, id+" by "+by)
	return nil
}

func source() *fakeSource {
	return &fakeSource{snap: Snapshot{
		Now: t0, Host: "QS-NODE1",
		Conditions: []Condition{{Kind: "input_blind", Subject: "scheduler", Since: t0, Summary: "input scheduler follows no file"}},
		Alerts: []Alert{
			{Rule: "qlik-reload-failed", Key: "old", Status: "firing", Title: "old one", FirstSeen: t0.Add(-time.Hour), Fields: map[string]string{"TaskName": "Old task"}},
			{Rule: "qlik-reload-failed", Key: "new", Status: "acknowledged", Title: "<script>alert(1)</script>", FirstSeen: t0, AckedBy: "ann",
				Fields: map[string]string{"TaskName": "New <task>", "AppName": "Sales", "Hostname": "QS-NODE2", "ScriptLogErrors": "Error: Field not found - <x>"},
				Refs:   []Ref{{Sink: "chat", ID: "m1", URL: "https://chat.example.com/channel/alerts?msg=m1"}, {Sink: "pager", ID: "ev-1"}}},
			{Rule: "qlik-reload-failed", Key: "done", Status: "resolved", FirstSeen: t0.Add(-2 * time.Hour), ResolvedAt: t0, ResolvedBy: "bob (status page)"},
		},
		Sinks:  []Sink{{Name: "pager", Up: true, Dead: []DeadLetter{{Seq: 3, Reason: "HTTP 400", Died: t0}}}},
		Rules:  []Rule{{ID: "qlik-reload-failed", Matches: 3, Fired: 2}},
		Events: []Event{{Time: t0.Add(-time.Hour), Rule: "qlik-reload-failed", Key: "old", Status: "firing"}, {Time: t0, Rule: "other", Key: "x", Status: "resolved"}},
	}}
}

func get(t *testing.T, h http.Handler, target string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec.Code, rec.Body.String()
}

func post(h http.Handler, form url.Values, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "http://herald.local/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestPageShowsStateEscaped(t *testing.T) {
	h := New(Config{Source: source()})
	code, body := get(t, h, "/")
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	for _, want := range []string{
		"input scheduler follows no file", "New &lt;task&gt;", "Sales", "QS-NODE2", "acknowledged", "ann",
		`href="https://chat.example.com/channel/alerts?msg=m1"`, "ev-1", "Error: Field not found - &lt;x&gt;",
		"resolved by bob (status page)", "HTTP 400", "Silences are not available",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(body, "<script>alert(1)") {
		t.Error("a title is not escaped")
	}
	if strings.Contains(body, "Resolve by hand") || strings.Contains(body, `id="act"`) {
		t.Error("a read-only page has actions")
	}
	if n, o := strings.Index(body, `data-key="new"`), strings.Index(body, `data-key="old"`); n < 0 || o < 0 || n > o {
		t.Error("open alerts are not newest first")
	}
}

func TestEventsFilter(t *testing.T) {
	h := New(Config{Source: source()})
	_, body := get(t, h, "/?rule=other&status=resolved")
	events := body[strings.Index(body, `id="events"`):]
	if !strings.Contains(events, "<code>x</code>") || strings.Contains(events, "<code>old</code>") {
		t.Errorf("the filter does not keep only rule other:\n%s", events)
	}
	_, body = get(t, h, "/?status=acknowledged")
	if !strings.Contains(body, "No events match the filter") {
		t.Error("an empty filter result is not said")
	}
}

func TestActions(t *testing.T) {
	const token = "0123456789abcdef"
	resolve := actionValue("resolve", "rule", "qlik-reload-failed", "key", "new")
	for _, tc := range []struct {
		name   string
		cfg    Config
		form   url.Values
		header map[string]string
		code   int
		did    string
	}{
		{"read-only", Config{}, url.Values{"do": {resolve}, "admin_token": {token}}, nil, http.StatusForbidden, ""},
		{"no token", Config{AdminToken: token}, url.Values{"do": {resolve}}, nil, http.StatusUnauthorized, ""},
		{"wrong token", Config{AdminToken: token}, url.Values{"do": {resolve}, "admin_token": {"x" + token}}, nil, http.StatusUnauthorized, ""},
		{"token", Config{AdminToken: token}, url.Values{"do": {resolve}, "admin_token": {token}, "admin_name": {"ann"}}, nil, http.StatusSeeOther,
			"qlik-reload-failed/new by ann (status page)"},
		{"token in a header only", Config{AdminToken: token}, url.Values{"do": {resolve}}, map[string]string{"Authorization": "Bearer " + token}, http.StatusUnauthorized, ""},
		{"user", Config{AdminUser: "ops", AdminPassword: "correct horse"}, url.Values{"do": {resolve}, "admin_user": {"ops"}, "admin_password": {"correct horse"}}, nil,
			http.StatusSeeOther, "qlik-reload-failed/new by ops"},
		{"wrong password", Config{AdminUser: "ops", AdminPassword: "correct horse"}, url.Values{"do": {resolve}, "admin_user": {"ops"}, "admin_password": {"wrong"}}, nil,
			http.StatusUnauthorized, ""},
		{"cross-site", Config{AdminToken: token}, url.Values{"do": {resolve}, "admin_token": {token}}, map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden, ""},
		{"other origin", Config{AdminToken: token}, url.Values{"do": {resolve}, "admin_token": {token}}, map[string]string{"Origin": "http://evil.example"}, http.StatusForbidden, ""},
		{"same origin", Config{AdminToken: token}, url.Values{"do": {resolve}, "admin_token": {token}}, map[string]string{"Origin": "http://herald.local"}, http.StatusSeeOther,
			"qlik-reload-failed/new by admin (status page)"},
		{"no such alert", Config{AdminToken: token}, url.Values{"do": {actionValue("resolve", "rule", "r", "key", "missing")}, "admin_token": {token}}, nil,
			http.StatusUnprocessableEntity, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := source()
			tc.cfg.Source = src
			rec := post(New(tc.cfg), tc.form, tc.header)
			if rec.Code != tc.code {
				t.Fatalf("status %d, want %d:\n%.500s", rec.Code, tc.code, rec.Body.String())
			}
			got := strings.Join(src.resolved, ";")
			if got != tc.did {
				t.Errorf("resolved %q, want %q", got, tc.did)
			}
			if tc.code == http.StatusSeeOther && rec.Header().Get("Location") != "/?done=resolved" {
				t.Errorf("redirect to %q", rec.Header().Get("Location"))
			}
		})
	}
}

func TestDeadLettersAndSilences(t *testing.T) {
	const token = "0123456789abcdef"
	src := source()
	src.sil = &fakeSilences{}
	h := New(Config{Source: src, AdminToken: token})
	_, body := get(t, h, "/")
	if !strings.Contains(body, "Retry all") || !strings.Contains(body, "Add silence") || !strings.Contains(body, "Resolve by hand") {
		t.Fatal("an admin page lacks its actions")
	}
	auth := url.Values{"admin_token": {token}, "admin_name": {"ann"}}
	with := func(kv ...string) url.Values {
		f := url.Values{}
		for k, v := range auth {
			f[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}
	if rec := post(h, with("do", actionValue("retry", "sink", "pager", "seq", "3")), nil); rec.Code != http.StatusSeeOther || len(src.retried) != 1 {
		t.Errorf("retry: %d %v", rec.Code, src.retried)
	}
	if rec := post(h, with("do", actionValue("silence"), "m0_name", "rule", "m0_op", "=", "m0_value", "qlik-reload-failed", "duration", "2h", "comment", "maintenance"), nil); rec.Code != http.StatusSeeOther {
		t.Errorf("silence: %d %s", rec.Code, rec.Body.String())
	}
	if len(src.sil.list) != 1 || src.sil.list[0].CreatedBy != "ann (status page)" || src.sil.list[0].Matchers[0] != (Matcher{"rule", "qlik-reload-failed", "="}) {
		t.Errorf("silences: %+v", src.sil.list)
	}
	if rec := post(h, with("do", actionValue("silence"), "m0_name", "rule", "m0_op", "=", "duration", "2h"), nil); rec.Code != http.StatusUnprocessableEntity ||
		!strings.Contains(rec.Body.String(), "needs a comment") {
		t.Errorf("a silence without a comment: %d", rec.Code)
	}
	if rec := post(h, with("do", actionValue("expire", "id", "s1")), nil); rec.Code != http.StatusSeeOther || len(src.sil.expired) != 1 {
		t.Errorf("expire: %d %v", rec.Code, src.sil.expired)
	}
}
