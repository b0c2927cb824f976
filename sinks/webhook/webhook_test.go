package webhook

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/plugins/sdk"
	"github.com/heraldhq/herald/sinks/sinktest"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

const secret = "s3cr3t-w3bh00k-t0ken"

func TestSample(t *testing.T) {
	sinktest.CheckSample(t, SampleConfig(), "README.md", Name, func() sdk.Sink { return New() })
}

func TestConformance(t *testing.T) {
	harness := func(extra func(cfg map[string]any)) sinktest.Harness {
		return sinktest.Harness{
			New:    func() sdk.Sink { return New() },
			Secret: secret,
			Config: func(baseURL string, timeout time.Duration) map[string]any {
				cfg := map[string]any{"url": baseURL + "/hook", "timeout": timeout.String()}
				extra(cfg)
				return cfg
			},
			BadConfigs: func(baseURL string) map[string]map[string]any {
				return map[string]map[string]any{
					"secret url with bad method": {"url": baseURL + "/hook/" + secret, "method": "PATCH"},
					"secret url with ftp scheme": {"url": "ftp://" + secret + "@example.com/" + secret},
					"secret in a bad port":       {"url": "https://example.com:" + secret + "/x"},
					"two auths":                  {"url": baseURL, "bearer_token": secret, "basic_auth": map[string]any{"username": "u", "password": secret}},
					"bad header value":           {"url": baseURL, "headers": map[string]any{"X-Key": secret + "\r\nX-Evil: 1"}},
				}
			},
		}
	}
	for name, extra := range map[string]func(map[string]any){
		"secret in url path": func(c map[string]any) { c["url"] = c["url"].(string) + "/" + secret },
		"secret in url query": func(c map[string]any) {
			c["url"] = c["url"].(string) + "?token=" + secret
		},
		"secret in url userinfo": func(c map[string]any) {
			c["url"] = strings.Replace(c["url"].(string), "http://", "http://herald:"+secret+"@", 1)
		},
		"bearer token":   func(c map[string]any) { c["bearer_token"] = secret },
		"basic password": func(c map[string]any) { c["basic_auth"] = map[string]any{"username": "herald", "password": secret} },
		"header value":   func(c map[string]any) { c["headers"] = map[string]any{"X-Api-Key": secret} },
		"signing secret": func(c map[string]any) { c["secret"] = secret },
		"GET butler": func(c map[string]any) {
			c["url"] = c["url"].(string) + "/" + secret
			c["method"] = "GET"
			c["format"] = "butler"
		},
	} {
		t.Run(name, func(t *testing.T) { sinktest.Run(t, harness(extra)) })
	}
}

// recorder is a destination that keeps what it received.
type recorder struct {
	mu     sync.Mutex
	reqs   []*http.Request
	bodies [][]byte
	status int
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, r)
	rec.bodies = append(rec.bodies, body)
	status := rec.status
	rec.mu.Unlock()
	if status == 0 {
		status = http.StatusNoContent
	}
	w.WriteHeader(status)
}

func (rec *recorder) last(t *testing.T) (*http.Request, []byte) {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.reqs) == 0 {
		t.Fatal("no request arrived")
	}
	return rec.reqs[len(rec.reqs)-1], rec.bodies[len(rec.bodies)-1]
}

func (rec *recorder) count() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return len(rec.reqs)
}

func configure(t testing.TB, cfg map[string]any) (*Sink, *sinktest.Logs) {
	t.Helper()
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	logs := sinktest.NewLogs()
	s := New()
	s.now = func() time.Time { return time.Unix(1772366400, 0) }
	if err := s.Configure(context.Background(), sdk.Config{Name: "test", Raw: raw, Logger: logs.Logger()}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return s, logs
}

func qlikEvent() sdk.Event {
	return sdk.Event{
		ID:       "01J8Z6V7Q3ZK5W2N8M4R6T1Y0X",
		Rule:     "qlik-reload-failed",
		Status:   sdk.StatusFiring,
		Key:      "bfa83a7b-f6ef-4af4-a817-a3a68969c72e",
		Severity: "critical",
		Title:    "Reload failed: Reload task of App 0",
		Message:  "Max retries reached",
		Fields: map[string]string{
			"TaskName": "Reload task of App 0", "TaskId": "bfa83a7b-f6ef-4af4-a817-a3a68969c72e",
			"AppName": "App 0", "AppId": "6a29e883-3f7c-4b5e-9a55-0c3a1f1e2d3c",
			"ExecutionId": "2d0beb92-1c5e-4d0b-8f7a-5b6c7d8e9f00", "User": `INTERNAL\sa_scheduler`,
			"Hostname": "sense1.lab.local", "Level": "INFO", "Message": "Max retries reached",
		},
		Time: time.Date(2026, 11, 22, 6, 39, 30, 974e6, time.FixedZone("CET", 3600)),
		Host: "sense1",
	}
}

func send1(t *testing.T, s *Sink, ev sdk.Event) sdk.Result {
	t.Helper()
	res := s.Send(context.Background(), []sdk.Event{ev})
	if len(res) != 1 {
		t.Fatalf("%d results", len(res))
	}
	return res[0]
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs:\ngot:  %s\nwant: %s", path, got, want)
	}
}

func TestHeraldFormatSigned(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	key := []byte("0123456789abcdef0123456789abcdef")
	s, _ := configure(t, map[string]any{
		"url":     srv.URL + "/hook",
		"secret":  "whsec_" + base64.StdEncoding.EncodeToString(key),
		"headers": map[string]any{"X-Environment": "production"},
	})
	if res := send1(t, s, qlikEvent()); res.Outcome != sdk.Accepted {
		t.Fatalf("result = %+v", res)
	}
	r, body := rec.last(t)
	if r.Method != http.MethodPost || r.URL.Path != "/hook" || r.Header.Get("Content-Type") != "application/json" ||
		r.Header.Get("X-Environment") != "production" || r.Header.Get("User-Agent") != "Herald" {
		t.Errorf("request: %s %s %v", r.Method, r.URL, r.Header)
	}
	golden(t, "herald.json", body)

	// The receiver's check, by the Standard Webhooks recipe.
	id, ts := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp")
	if id != qlikEvent().ID || ts != "1772366400" {
		t.Errorf("webhook-id = %q, webhook-timestamp = %q", id, ts)
	}
	if got, want := r.Header.Get("webhook-signature"), Sign(key, id, ts, body); got != want {
		t.Errorf("webhook-signature = %q, want %q", got, want)
	}
}

func TestSignPlainSecret(t *testing.T) {
	// A secret without the whsec_ prefix is the key itself. Known answer,
	// computed independently with: printf 'id1.1700000000.{}' | openssl dgst -sha256 -hmac k3y -binary | base64
	if got, want := Sign([]byte("k3y"), "id1", "1700000000", []byte("{}")), "v1,"+hmacB64("k3y", "id1.1700000000.{}"); got != want {
		t.Errorf("Sign = %q, want %q", got, want)
	}
}

func TestGETQuery(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	s, _ := configure(t, map[string]any{"url": srv.URL + "/hook?token=abc", "method": "get", "secret": "k3y-for-get"})
	if res := send1(t, s, qlikEvent()); res.Outcome != sdk.Accepted {
		t.Fatalf("result = %+v", res)
	}
	r, body := rec.last(t)
	q := r.URL.Query()
	if r.Method != http.MethodGet || len(body) != 0 || r.Header.Get("Content-Type") != "" {
		t.Errorf("GET request: method %s, body %q, content type %q", r.Method, body, r.Header.Get("Content-Type"))
	}
	for k, want := range map[string]string{
		"token": "abc", "id": qlikEvent().ID, "status": "firing", "key": qlikEvent().Key,
		"title": "Reload failed: Reload task of App 0", "time": "2026-11-22T06:39:30.974+01:00",
		"fields.TaskName": "Reload task of App 0", "host": "sense1",
	} {
		if got := q.Get(k); got != want {
			t.Errorf("query %s = %q, want %q", k, got, want)
		}
	}
	ts := r.Header.Get("webhook-timestamp")
	if got, want := r.Header.Get("webhook-signature"), Sign([]byte("k3y-for-get"), qlikEvent().ID, ts, nil); got != want {
		t.Errorf("GET signature = %q, want %q (over an empty body)", got, want)
	}
}

func TestButlerFormat(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()

	t.Run("failed", func(t *testing.T) {
		s, _ := configure(t, map[string]any{"url": srv.URL, "format": "butler"})
		if res := send1(t, s, qlikEvent()); res.Outcome != sdk.Accepted {
			t.Fatalf("result = %+v", res)
		}
		_, body := rec.last(t)
		golden(t, "butler.json", body)
	})
	t.Run("aborted over GET", func(t *testing.T) {
		s, _ := configure(t, map[string]any{"url": srv.URL, "format": "butler", "method": "GET"})
		ev := qlikEvent()
		ev.Rule = "qlik-reload-aborted"
		delete(ev.Fields, "User")
		ev.Fields["UserDirectory"], ev.Fields["UserId"] = "LAB", "admin"
		if res := send1(t, s, ev); res.Outcome != sdk.Accepted {
			t.Fatalf("result = %+v", res)
		}
		r, _ := rec.last(t)
		q := r.URL.Query()
		if len(q) != 15 || q.Get("event") != "Qlik Sense reload aborted" || q.Get("user") != `LAB\admin` ||
			q.Get("logTimeStamp") != "2026-11-22 06:39:30.974" || q.Get("appOwnerEmail") != "" {
			t.Errorf("query = %v", q)
		}
	})
	t.Run("no task: the title names it", func(t *testing.T) {
		s, _ := configure(t, map[string]any{"url": srv.URL, "format": "butler"})
		ev := qlikEvent()
		delete(ev.Fields, "TaskName")
		if res := send1(t, s, ev); res.Outcome != sdk.Accepted {
			t.Fatalf("result = %+v", res)
		}
		_, body := rec.last(t)
		var got struct{ TaskName string }
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		if got.TaskName != ev.Title {
			t.Errorf("taskName = %q, want the title %q", got.TaskName, ev.Title)
		}
	})
	t.Run("resolved is not sent", func(t *testing.T) {
		s, logs := configure(t, map[string]any{"url": srv.URL, "format": "butler"})
		before := rec.count()
		ev := qlikEvent()
		ev.Status = sdk.StatusResolved
		if res := send1(t, s, ev); res.Outcome != sdk.Accepted {
			t.Fatalf("result = %+v", res)
		}
		if rec.count() != before {
			t.Error("a resolved event was sent in butler format")
		}
		if !strings.Contains(logs.String(), "not sent") {
			t.Errorf("no debug line for the skipped event:\n%s", logs)
		}
	})
}

func TestTemplate(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	s, _ := configure(t, map[string]any{
		"url":          srv.URL,
		"method":       "PUT",
		"template":     `{"text": {{json (printf "%s on %s" .Title .Host)}}, "task": {{json (index .Fields "TaskName")}}, "resolved": {{if eq .Status "resolved"}}true{{else}}false{{end}}}`,
		"content_type": "application/vnd.example+json",
	})
	ev := qlikEvent()
	ev.Title = `Reload "quoted"` + "\nfailed"
	if res := send1(t, s, ev); res.Outcome != sdk.Accepted {
		t.Fatalf("result = %+v", res)
	}
	r, body := rec.last(t)
	if r.Method != http.MethodPut || r.Header.Get("Content-Type") != "application/vnd.example+json" {
		t.Errorf("request %s with Content-Type %q", r.Method, r.Header.Get("Content-Type"))
	}
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("templated body is not JSON: %v\n%s", err, body)
	}
	if got["text"] != "Reload \"quoted\"\nfailed on sense1" || got["task"] != "Reload task of App 0" || got["resolved"] != false {
		t.Errorf("body = %s", body)
	}

	// An execution error rejects that event only.
	s, _ = configure(t, map[string]any{"url": srv.URL, "template": `{{if eq .Key "boom"}}{{index .Fields.TaskName 99}}{{end}}`})
	res := s.Send(context.Background(), []sdk.Event{qlikEvent(), {ID: "b", Key: "boom", Fields: map[string]string{"TaskName": "x"}}})
	if res[0].Outcome != sdk.Accepted || res[1].Outcome != sdk.Rejected || !strings.Contains(res[1].Reason, "template") {
		t.Errorf("results = %+v", res)
	}
}

func TestTLS(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewUnstartedServer(rec)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are part of the test
	srv.StartTLS()
	defer srv.Close()

	s, _ := configure(t, map[string]any{"url": srv.URL})
	if res := send1(t, s, qlikEvent()); res.Outcome != sdk.Retryable || !strings.Contains(res.Reason, "certificate") {
		t.Errorf("untrusted certificate: result = %+v", res)
	}

	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	s, _ = configure(t, map[string]any{"url": srv.URL, "ca_file": ca})
	if res := send1(t, s, qlikEvent()); res.Outcome != sdk.Accepted {
		t.Errorf("ca_file: result = %+v", res)
	}

	s, logs := configure(t, map[string]any{"url": srv.URL, "insecure_skip_verify": true})
	if res := send1(t, s, qlikEvent()); res.Outcome != sdk.Accepted {
		t.Errorf("insecure_skip_verify: result = %+v", res)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "insecure_skip_verify") {
		t.Errorf("no warning for insecure_skip_verify:\n%s", logs)
	}
}

func TestAuth(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	s, _ := configure(t, map[string]any{"url": srv.URL, "basic_auth": map[string]any{"username": "herald", "password": "pw"}})
	send1(t, s, qlikEvent())
	r, _ := rec.last(t)
	if u, p, ok := r.BasicAuth(); !ok || u != "herald" || p != "pw" {
		t.Errorf("basic auth = %q %q %v", u, p, ok)
	}
	s, _ = configure(t, map[string]any{"url": srv.URL, "bearer_token": "tok"})
	send1(t, s, qlikEvent())
	if r, _ = rec.last(t); r.Header.Get("Authorization") != "Bearer tok" {
		t.Errorf("Authorization = %q", r.Header.Get("Authorization"))
	}
	// Credentials in the URL are sent as Basic authentication.
	s, _ = configure(t, map[string]any{"url": strings.Replace(srv.URL, "http://", "http://alice:s%3Acret@", 1)})
	send1(t, s, qlikEvent())
	r, _ = rec.last(t)
	if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != "s:cret" {
		t.Errorf("basic auth from the url = %q %q %v", u, p, ok)
	}
}

func TestTimeoutAppliesToPUT(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	s, _ := configure(t, map[string]any{"url": srv.URL, "method": "PUT", "timeout": "50ms"})
	if res := send1(t, s, qlikEvent()); res.Outcome != sdk.Retryable || !strings.Contains(res.Reason, "50ms") {
		t.Errorf("result = %+v", res)
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for name, tt := range map[string]struct {
		cfg  string
		want string
	}{
		"no url":             {`{}`, "url: required"},
		"bad scheme":         {`{"url":"ftp://example.com/x"}`, "url: must start with https:// or http://"},
		"no host":            {`{"url":"https:///x"}`, "url: has no host"},
		"bad method":         {`{"url":"https://example.com","method":"DELETE"}`, "method:"},
		"bad format":         {`{"url":"https://example.com","format":"slack"}`, "format:"},
		"bad timeout":        {`{"url":"https://example.com","timeout":"soon"}`, "timeout:"},
		"zero timeout":       {`{"url":"https://example.com","timeout":"0s"}`, "timeout: must be positive"},
		"template syntax":    {`{"url":"https://example.com","template":"{{.Title"}`, "template:"},
		"template field":     {`{"url":"https://example.com","template":"{{.Tittle}}"}`, "Tittle"},
		"template with GET":  {`{"url":"https://example.com","method":"GET","template":"x"}`, "template: needs method POST or PUT"},
		"template + format":  {`{"url":"https://example.com","format":"butler","template":"x"}`, "template and format"},
		"content_type alone": {`{"url":"https://example.com","content_type":"text/plain"}`, "content_type: only applies with template"},
		"bad whsec":          {`{"url":"https://example.com","secret":"whsec_!!!"}`, "secret: after the whsec_ prefix"},
		"reserved header":    {`{"url":"https://example.com","headers":{"content-type":"x"}}`, `headers: "content-type" cannot be set here`},
		"bad header name":    {`{"url":"https://example.com","headers":{"X Bad":"x"}}`, `headers: "X Bad" is not a valid header name`},
		"auth header clash":  {`{"url":"https://example.com","bearer_token":"t","headers":{"Authorization":"x"}}`, `headers: "Authorization" conflicts`},
		"url credentials":    {`{"url":"https://u:p@example.com","bearer_token":"t"}`, "set at most one"},
		"basic no user":      {`{"url":"https://example.com","basic_auth":{"password":"p"}}`, "basic_auth.username: required"},
		"missing ca_file":    {`{"url":"https://example.com","ca_file":"` + filepath.ToSlash(filepath.Join(dir, "none.pem")) + `"}`, "ca_file:"},
		"unknown key":        {`{"url":"https://example.com","retries":3}`, `"retries"`},
		"wrong type":         {`{"url":"https://example.com","insecure_skip_verify":"yes"}`, "insecure_skip_verify"},
		"concurrency 0":      {`{"url":"https://example.com","concurrency":0}`, "concurrency: must be from 1 to 64, got 0"},
		"concurrency 65":     {`{"url":"https://example.com","concurrency":65}`, "concurrency: must be from 1 to 64, got 65"},
		"concurrency 1.5":    {`{"url":"https://example.com","concurrency":1.5}`, "concurrency"},
	} {
		t.Run(name, func(t *testing.T) {
			err := New().Configure(context.Background(), sdk.Config{Name: "t", Raw: json.RawMessage(tt.cfg)})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestConcurrency sends batches with up to 4 requests in flight: the
// destination holds the first requests until 4 have arrived, sees no more
// than 4 at once, and the connections are kept alive for the next batches.
func TestConcurrency(t *testing.T) {
	const conc = 4
	var (
		mu             sync.Mutex
		inFlight, most int
		conns          int
	)
	full := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		if inFlight == conc && most == conc && !closed(full) {
			close(full)
		}
		mu.Unlock()
		<-full
		mu.Lock()
		inFlight--
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			mu.Lock()
			conns++
			mu.Unlock()
		}
	}
	srv.Start()
	defer srv.Close()

	s, _ := configure(t, map[string]any{"url": srv.URL, "concurrency": conc})
	evs := make([]sdk.Event, 3*conc)
	for i := range evs {
		evs[i] = qlikEvent()
		evs[i].ID = fmt.Sprintf("event-%d", i)
	}
	const batches = 10
	for range batches {
		for i, r := range s.Send(context.Background(), evs) {
			if r.Outcome != sdk.Accepted {
				t.Fatalf("event %d: %+v", i, r)
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if most != conc {
		t.Errorf("at most %d requests in flight, want %d", most, conc)
	}
	// net/http may dial a spare connection when a request finds none idle
	// for a moment; closing idle ones beyond 2 (its default) would cost
	// new connections in every batch.
	if conns > 2*conc {
		t.Errorf("%d connections for %d requests with %d in flight: they are not kept alive", conns, batches*len(evs), conc)
	}
}

func closed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// TestConcurrencyOne sends one request after another, in the batch's order.
func TestConcurrencyOne(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	s, _ := configure(t, map[string]any{"url": srv.URL, "concurrency": 1})
	evs := make([]sdk.Event, 6)
	for i := range evs {
		evs[i] = qlikEvent()
		evs[i].ID = fmt.Sprintf("event-%d", i)
	}
	s.Send(context.Background(), evs)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.reqs) != len(evs) {
		t.Fatalf("%d requests for %d events", len(rec.reqs), len(evs))
	}
	for i, r := range rec.reqs {
		if got := r.Header.Get("Webhook-Id"); got != evs[i].ID {
			t.Errorf("request %d is for %s, want %s", i, got, evs[i].ID)
		}
	}
}
