package httpx

import (
	"context"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/plugins/sdk"
)

func TestClassify(t *testing.T) {
	for code, want := range map[int]sdk.Outcome{
		100: sdk.Rejected, 200: sdk.Accepted, 201: sdk.Accepted, 204: sdk.Accepted, 299: sdk.Accepted,
		301: sdk.Rejected, 307: sdk.Rejected, 400: sdk.Rejected, 401: sdk.Rejected, 403: sdk.Rejected,
		404: sdk.Rejected, 408: sdk.Retryable, 410: sdk.Rejected, 422: sdk.Rejected, 429: sdk.Retryable,
		500: sdk.Retryable, 502: sdk.Retryable, 503: sdk.Retryable, 504: sdk.Retryable, 599: sdk.Retryable,
	} {
		if got := Classify(code); got != want {
			t.Errorf("Classify(%d) = %v, want %v", code, got, want)
		}
	}
}

func TestRetryAt(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		status int
		header map[string]string
		want   time.Time
	}{
		{"retry-after seconds", 429, map[string]string{"Retry-After": "120"}, now.Add(120 * time.Second)},
		{"retry-after on 503", 503, map[string]string{"Retry-After": "7"}, now.Add(7 * time.Second)},
		{"retry-after http date", 429, map[string]string{"Retry-After": "Sun, 01 Mar 2026 12:05:00 GMT"}, now.Add(5 * time.Minute)},
		{"retry-after wins over reset", 429, map[string]string{"Retry-After": "3", "X-RateLimit-Reset": "1772366700"}, now.Add(3 * time.Second)},
		{"reset unix seconds", 429, map[string]string{"X-RateLimit-Reset": "1772366700"}, time.Unix(1772366700, 0)},
		{"reset unix milliseconds", 429, map[string]string{"X-RateLimit-Reset": "1772366700500"}, time.UnixMilli(1772366700500)},
		{"reset delta seconds", 429, map[string]string{"X-RateLimit-Reset": "15"}, now.Add(15 * time.Second)},
		{"reset ignored unless 429", 503, map[string]string{"X-RateLimit-Reset": "1772366700"}, time.Time{}},
		{"past is zero", 429, map[string]string{"Retry-After": "Sun, 01 Mar 2026 11:00:00 GMT"}, time.Time{}},
		{"zero seconds is zero", 429, map[string]string{"Retry-After": "0"}, time.Time{}},
		{"capped", 429, map[string]string{"Retry-After": "99999999999"}, now.Add(MaxRetryDelay)},
		{"capped reset", 429, map[string]string{"X-RateLimit-Reset": "9999999999"}, now.Add(MaxRetryDelay)},
		{"garbage", 429, map[string]string{"Retry-After": "soon", "X-RateLimit-Reset": "-5"}, time.Time{}},
		{"none", 429, nil, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.header {
				h.Set(k, v)
			}
			if got := RetryAt(tt.status, h, now); !got.Equal(tt.want) {
				t.Errorf("RetryAt = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://connect.signl4.com/webhook/s3cr3t":      "https://connect.signl4.com/…",
		"https://user:pw@example.com":                    "https://example.com/…",
		"http://example.com:8080/?token=abc":             "http://example.com:8080/…",
		"https://example.com":                            "https://example.com",
		"https://example.com/":                           "https://example.com",
		"https://chat.example.com/hooks/id/tok?x=1#frag": "https://chat.example.com/…",
		"https://[::1]:9443/a%2Fb":                       "https://[::1]:9443/…",
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := RedactURL(u); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRedactor(t *testing.T) {
	u, _ := url.Parse("https://bob:hunter2hunter2@example.com/hooks/team%2Fs3cr3t?token=tok3n&v=1")
	r := NewRedactor([]*url.URL{u}, "extra-secret")
	for _, leak := range []string{
		u.String(), "hunter2hunter2", "Ym9iOmh1bnRlcjJodW50ZXIy", // base64("bob:hunter2hunter2")
		"team/s3cr3t", "team%2Fs3cr3t", "tok3n", "extra-secret",
	} {
		got := r.Redact("before " + leak + " after")
		if strings.Contains(got, leak) {
			t.Errorf("Redact left %q in %q", leak, got)
		}
	}
	// Host and short pieces stay, so a reason still says where.
	if got := r.Redact("dial tcp example.com:443: v=1"); got != "dial tcp example.com:443: v=1" {
		t.Errorf("Redact over-redacted: %q", got)
	}
	var nilR *Redactor
	if nilR.Redact("x") != "x" {
		t.Error("nil Redactor must pass text through")
	}
}

func TestParseURLErrors(t *testing.T) {
	const secret = "t3amS3cr3t"
	tests := []struct{ raw, want string }{
		{"", "url: required"},
		{"ftp://connect.signl4.com/webhook/" + secret, "url: must start with https:// or http://"},
		{"https:///webhook/" + secret, "url: has no host"},
		// What the URL parser quotes is redacted, its own words are not.
		{"https://connect.signl4.com:port/webhook/" + secret, `url: not a valid URL: invalid port ":…" after host`},
		{"https://connect.signl4.com:" + secret + "/webhook/x", `url: not a valid URL: invalid port ":…" after host`},
		{"https://connect.signl4.com/webhook/" + secret + "%zz", `url: not a valid URL: invalid URL escape "%zz"`},
		{"https://connect signl4 com/webhook/" + secret, `url: not a valid URL: invalid character " " in host name`},
	}
	for _, tt := range tests {
		_, err := ParseURL("url", tt.raw)
		if err == nil || err.Error() != tt.want {
			t.Errorf("ParseURL(%q) = %v, want %q", tt.raw, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("ParseURL(%q) error shows the secret: %v", tt.raw, err)
		}
	}
}

func TestTruncateAndBodyText(t *testing.T) {
	if got := Truncate("héllo wörld", 7); got != "hé…" && len(got) > 7 {
		t.Errorf("Truncate = %q (%d bytes)", got, len(got))
	}
	if got := Truncate("short", 10); got != "short" {
		t.Errorf("Truncate = %q", got)
	}
	if got := BodyText([]byte("  <h1>Bad\r\n\tGateway</h1>\x00 ")); got != "<h1>Bad Gateway</h1>" {
		t.Errorf("BodyText = %q", got)
	}
	if got := BodyText([]byte{0xff, 0xfe, 0x00}); got != "" {
		t.Errorf("BodyText(binary) = %q", got)
	}
}

func TestNewClientConfigErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, tt := range map[string]struct {
		cfg  ClientConfig
		want string
	}{
		"missing ca":    {ClientConfig{CAFile: filepath.Join(dir, "nope.pem")}, "ca_file:"},
		"not pem":       {ClientConfig{CAFile: notPEM}, "ca_file: no PEM certificate"},
		"both":          {ClientConfig{CAFile: notPEM, InsecureSkipVerify: true}, "insecure_skip_verify"},
		"negative time": {ClientConfig{Timeout: -time.Second}, "timeout:"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := NewClient(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func get(t *testing.T, c *Client, u string) (*Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c.Do(req)
}

func TestClientTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below is expected
	srv.StartTLS()
	defer srv.Close()

	// Without the CA the certificate is refused, and that is a transport error.
	plain, err := NewClient(ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := get(t, plain, srv.URL); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("err = %v, want a certificate error", err)
	}

	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]ClientConfig{"ca_file": {CAFile: ca}, "insecure": {InsecureSkipVerify: true}} {
		t.Run(name, func(t *testing.T) {
			c, err := NewClient(cfg)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := get(t, c, srv.URL)
			if err != nil || resp.StatusCode != http.StatusNoContent {
				t.Fatalf("resp = %+v, err = %v", resp, err)
			}
		})
	}
}

func TestClientRedirectNotFollowed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere/s3cr3t-token", http.StatusFound)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL + "/hook/s3cr3t-token")
	c, err := NewClient(ClientConfig{Redactor: NewRedactor([]*url.URL{u})})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := get(t, c, u.String())
	if err != nil {
		t.Fatal(err)
	}
	res := c.Refused(resp, BodyText(resp.Body))
	if res.Outcome != sdk.Rejected || !strings.Contains(res.Reason, "302") || strings.Contains(res.Reason, "s3cr3t") {
		t.Fatalf("result = %+v", res)
	}
}

func TestClientTransportErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	u, _ := url.Parse("http://" + addr + "/hook/s3cr3t-token?key=an0ther")
	c, err := NewClient(ClientConfig{Redactor: NewRedactor([]*url.URL{u})})
	if err != nil {
		t.Fatal(err)
	}
	_, err = get(t, c, u.String())
	var te *TransportError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want a TransportError", err)
	}
	res := c.Failed(err)
	if res.Outcome != sdk.Retryable || strings.Contains(res.Reason, "s3cr3t") || strings.Contains(res.Reason, "an0ther") ||
		!strings.Contains(res.Reason, "GET http://"+addr+"/…") {
		t.Fatalf("result = %+v", res)
	}

	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	c, err = NewClient(ClientConfig{Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err = get(t, c, srv.URL); err == nil || !strings.Contains(err.Error(), "no answer within the timeout of 50ms") {
		t.Fatalf("err = %v, want a timeout", err)
	}
}
