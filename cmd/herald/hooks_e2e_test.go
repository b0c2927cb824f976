package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/bench/procstat"
	"github.com/heraldhq/herald/internal/testcert"
)

// Secrets of the hook security tests; herald gets them through ${VAR} only.
const (
	hsHookToken   = "hs-hook-token-e2e"
	hsAlertsToken = "hs-alerts-token-e2e"
)

// hookConfig is a herald.toml with a SIGNL4 and a Rocket.Chat hook, the
// qliksense pack and a console sink; server
// holds further [server] lines.
func hookConfig(server string) string {
	return `
[agent]
data_dir = "state"
host = "node-under-test"

[[input]]
name = "scheduler"
paths = ["*_System_Scheduler.txt"]

[[input]]
name = "signl4"
type = "http"
path = "/hooks/signl4"
format = "signl4"
token = "${HERALD_E2E_HS_HOOK}"

[[input]]
name = "chat"
type = "http"
path = "/hooks/rocketchat"
format = "rocketchat"
token = "${HERALD_E2E_HS_HOOK}"

[[sink]]
name = "console"
plugin = "console"

[rules]
packs = ["qliksense"]

[server]
listen = "127.0.0.1:0"
` + server
}

// TestEndToEndHookSecurity runs the real binary with [server] TLS and an
// alerts token: a hook answers over HTTPS, refusals are counted, /alerts
// needs the token while /metrics and /healthz stay open, `herald alerts`
// reaches the agent with both, and a new certificate is served once its
// files change.
func TestEndToEndHookSecurity(t *testing.T) {
	t.Setenv("HERALD_E2E_HS_HOOK", hsHookToken)
	t.Setenv("HERALD_E2E_HS_ALERTS", hsAlertsToken)
	dir := t.TempDir()
	// The scheduler input follows a file, so /healthz is 200 (an input
	// that follows none is the input_blind condition).
	newQlikLog(t, filepath.Join(dir, "QS-NODE1_System_Scheduler.txt"))
	first := testcert.Write(t, dir, 1, time.Now().Add(-time.Hour))
	cfg := writeConfig(t, dir, hookConfig(`tls_cert_file = "cert.pem"
tls_key_file = "key.pem"
alerts_token = "${HERALD_E2E_HS_ALERTS}"
`))
	agent := startServingAgent(t, heraldBin, cfg)
	base := "https://" + agent.addr
	// client trusts the given certificates; it connects anew for each request.
	client := func(pairs ...testcert.Pair) *http.Client {
		pool := pairs[0].Pool()
		for _, p := range pairs[1:] {
			pool.AddCert(p.Cert)
		}
		return &http.Client{Timeout: twWait, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true}}
	}
	do := func(c *http.Client, method, path, auth, body string) (int, string, *tls.ConnectionState) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.TLS
	}
	c := client(first)
	ack := `{"eventType":203,"alert":{"statusCode":0,"externalEventId":"k1"},"annotation":{"message":"on it"},"id":"n1"}`
	steps := []struct {
		name, method, path, auth, body string
		want                           int
	}{
		{"hook over TLS", "POST", "/hooks/signl4?token=" + hsHookToken, "", ack, 200},
		{"hook with a bearer token in lower case", "POST", "/hooks/signl4", "bearer " + hsHookToken, ack, 200},
		{"hook without a token", "POST", "/hooks/signl4", "", ack, 401},
		{"hook with a wrong token", "POST", "/hooks/signl4?token=guess", "", ack, 401},
		{"rocketchat body token", "POST", "/hooks/rocketchat", "", `{"token":"` + hsHookToken + `","message_id":"m1","text":"hi"}`, 200},
		{"alerts without a token", "GET", "/alerts", "", "", 401},
		{"alerts with a wrong token", "GET", "/alerts?token=guess", "", "", 401},
		{"alerts with the token", "GET", "/alerts", "Bearer " + hsAlertsToken, "", 200},
		{"alerts with the token in the URL", "GET", "/alerts?token=" + hsAlertsToken, "", "", 200},
		{"healthz is open", "GET", "/healthz", "", "", 200},
	}
	for _, s := range steps {
		code, body, cs := do(c, s.method, s.path, s.auth, s.body)
		if code != s.want || cs == nil {
			t.Errorf("%s: %d %s (TLS %v), want %d", s.name, code, body, cs != nil, s.want)
		}
	}
	code, metrics, _ := do(c, "GET", "/metrics", "", "")
	for _, want := range []string{
		`herald_hook_requests_total{code="200",input="signl4"} 2`,
		`herald_hook_requests_total{code="401",input="signl4"} 2`,
		`herald_hook_requests_total{code="200",input="chat"} 1`,
	} {
		if code != 200 || !strings.Contains(metrics, want) {
			t.Errorf("/metrics (%d) lacks %s", code, want)
		}
	}

	// Plain HTTP gets no hook.
	if resp, err := http.Post("http://"+agent.addr+"/hooks/signl4?token="+hsHookToken, "application/json", strings.NewReader(ack)); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP reached the hook of a TLS server")
		}
	}

	// herald alerts asks the running agent over HTTPS with the token.
	stdout, stderr, exit := runHerald(t, "alerts", "--config", cfg, "--addr", agent.addr)
	if exit != 0 || !strings.Contains(stderr+stdout, "running agent at https://") {
		t.Errorf("herald alerts: exit %d\n%s%s", exit, stdout, stderr)
	}

	// A renewed certificate is served once the files change; the agent looks
	// at them at most every 5 seconds, on a handshake.
	second := testcert.Write(t, dir, 2, time.Now())
	both := client(first, second)
	deadline := time.Now().Add(twWait)
	for {
		_, _, cs := do(both, "GET", "/healthz", "", "")
		if cs.PeerCertificates[0].SerialNumber.Int64() == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the renewed certificate was not served within %s", twWait)
		}
		time.Sleep(200 * time.Millisecond) // polls the condition; the interval is the agent's
	}

	logs := agent.stderr.String()
	for _, secret := range []string{hsHookToken, hsAlertsToken} {
		if strings.Contains(logs, secret) || strings.Contains(stdout+stderr, secret) {
			t.Errorf("a token shows in the output:\n%s", logs)
		}
	}
	for _, want := range []string{"TLS certificate reloaded", "refused callbacks with a missing or wrong token"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "serving plain HTTP") {
		t.Errorf("a TLS agent on loopback warns about plain HTTP:\n%s", logs)
	}
}

// heraldPlainBin is herald built without -race, for measuring its memory,
// next to heraldBin (TestMain removes the directory).
var heraldPlainBin = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(filepath.Dir(heraldBin), "herald-norace")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building herald: %v\n%s", err, out)
	}
	return bin, nil
})

// BenchmarkHookRefusal measures what unauthenticated callbacks cost the
// agent: each op sends 1,000 callbacks of 1 MiB, 50 at a time, over loopback,
// to a herald built without -race, and none carries a valid token. It
// reports the growth of the agent's peak RSS over its resident memory before
// the op (rss-growth-MiB), the agent's CPU time per request (agent-cpu-µs/req)
// and the 50th and 99th percentiles of the time from sending a request to its
// 401 (p50-401-ms, p99-401-ms), the worst op of the run.
//
// The sub-benchmark net-http-floor sends the same load to a bare net/http
// handler, in the benchmark's process, that answers 401 at once: the time
// the client, the kernel and net/http take on this machine, which no hook can
// go below.
//
//	go test ./cmd/herald -run '^$' -bench BenchmarkHookRefusal -benchtime 3x
func BenchmarkHookRefusal(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("reads /proc")
	}
	bin, err := heraldPlainBin()
	if err != nil {
		b.Fatal(err)
	}
	b.Setenv("HERALD_E2E_HS_HOOK", hsHookToken)
	cases := []struct {
		name, path, prefix string
	}{
		// No token in the URL or header: refused before the body is read.
		{"signl4-no-token", "/hooks/signl4", `{"eventType":201,"pad":"`},
		// A Rocket.Chat hook reads up to 4 KiB to find the body's token.
		{"rocketchat-wrong-body-token", "/hooks/rocketchat", `{"token":"guess","text":"`},
		{"net-http-floor", "", `{"eventType":201,"pad":"`},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			var url string
			pid := 0
			if bc.path == "" {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					w.WriteHeader(http.StatusUnauthorized)
				}))
				b.Cleanup(srv.Close)
				url = srv.URL
			} else {
				agent := startServingAgent(b, bin, writeConfigTB(b, b.TempDir(), hookConfig("")))
				pid, url = agent.cmd.Process.Pid, "http://"+agent.addr+bc.path
			}
			body := []byte(bc.prefix + strings.Repeat("x", 1<<20-len(bc.prefix)-2) + `"}`)
			client := &http.Client{Timeout: twWait, Transport: &http.Transport{MaxIdleConnsPerHost: 50}}

			const n = 1000
			var growth, cpu, p50, p99 float64
			for b.Loop() {
				var before procstat.Proc
				if pid != 0 {
					// Peak RSS counts from here: VmHWM is reset to VmRSS.
					if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
						b.Fatal(err)
					}
					if before, err = procstat.Read(pid); err != nil {
						b.Fatal(err)
					}
				}
				lat, err := refuseMany(client, url, body, n, 50)
				if err != nil {
					b.Fatal(err)
				}
				if pid != 0 {
					after, err := procstat.Read(pid)
					if err != nil {
						b.Fatal(err)
					}
					growth = max(growth, float64(after.PeakRSS-before.RSS)/(1<<20))
					cpu = max(cpu, float64(after.CPU-before.CPU)/float64(time.Microsecond)/n)
				}
				slices.Sort(lat)
				ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
				p50, p99 = max(p50, ms(lat[n/2])), max(p99, ms(lat[n*99/100]))
			}
			if pid != 0 {
				b.ReportMetric(growth, "rss-growth-MiB")
				b.ReportMetric(cpu, "agent-cpu-µs/req")
			}
			b.ReportMetric(p50, "p50-401-ms")
			b.ReportMetric(p99, "p99-401-ms")
		})
	}
}

// refuseMany posts body to url n times, conc at a time, and returns how long
// each took until its answer's headers; every answer must be 401.
func refuseMany(client *http.Client, url string, body []byte, n, conc int) ([]time.Duration, error) {
	lat := make([]time.Duration, n)
	errs := make(chan error, n)
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for i := range next {
				req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				if err != nil {
					errs <- err
					return
				}
				req.Header.Set("Content-Type", "application/json")
				start := time.Now()
				resp, err := client.Do(req)
				lat[i] = time.Since(start)
				if err != nil {
					errs <- err
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized {
					errs <- fmt.Errorf("answered %s, want 401", resp.Status)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	if len(all) > 0 {
		return nil, fmt.Errorf("%d of %d requests failed, first: %w", len(all), n, all[0])
	}
	return lat, nil
}

// writeConfigTB is writeConfig for a benchmark.
func writeConfigTB(tb testing.TB, dir, body string) string {
	tb.Helper()
	path := filepath.Join(dir, "herald.toml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}
