package server

import (
	"bytes"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/testcert"
)

// servedSerial connects anew over TLS, trusting pool, and returns the serial
// number of the certificate the server presents and the status of /healthz.
func servedSerial(t *testing.T, s *Server, pair testcert.Pair) (int64, int) {
	t.Helper()
	// Trust any of the test's certificates: the test checks which one is served.
	client := &http.Client{Timeout: deadline, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pair.Pool()},
		DisableKeepAlives: true,
	}}
	resp, err := client.Get("https://" + s.Addr() + PathHealth)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.TLS.PeerCertificates[0].SerialNumber.Int64(), resp.StatusCode
}

func TestTLSServedAndReloaded(t *testing.T) {
	dir := t.TempDir()
	mod := time.Now().Add(-time.Hour)
	first := testcert.Write(t, dir, 1, mod)
	var logs bytes.Buffer
	s := New(Config{Listen: "127.0.0.1:0", TLSCertFile: first.CertFile, TLSKeyFile: first.KeyFile,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	now := time.Now()
	s.certs.now = func() time.Time { return now }
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(t.Context()) })

	if serial, code := servedSerial(t, s, first); serial != 1 || code != http.StatusOK {
		t.Fatalf("served serial %d, /healthz %d; want 1 and 200", serial, code)
	}
	// Plain HTTP to a TLS port gets no answer from the agent's handlers.
	resp, err := (&http.Client{Timeout: deadline}).Get("http://" + s.Addr() + PathHealth)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP was served by a TLS server")
		}
	}

	second := testcert.Write(t, dir, 2, mod.Add(time.Minute))
	// Within the check interval the files are not looked at.
	now = now.Add(certCheckInterval / 2)
	if serial, _ := servedSerial(t, s, first); serial != 1 {
		t.Errorf("served serial %d before the check interval passed, want 1", serial)
	}
	now = now.Add(certCheckInterval)
	if serial, _ := servedSerial(t, s, second); serial != 2 {
		t.Errorf("served serial %d after the files changed, want 2", serial)
	}
	if !strings.Contains(logs.String(), "TLS certificate reloaded") {
		t.Errorf("no reload logged:\n%s", &logs)
	}

	// A broken key keeps the last good certificate in service.
	if err := os.WriteFile(second.KeyFile, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	now = now.Add(certCheckInterval)
	if serial, _ := servedSerial(t, s, second); serial != 2 {
		t.Errorf("served serial %d after the key broke, want still 2", serial)
	}
	if !strings.Contains(logs.String(), "cannot reload the TLS certificate") {
		t.Errorf("the failed reload is not logged:\n%s", &logs)
	}
	if strings.Contains(logs.String(), "serving plain HTTP") {
		t.Errorf("a TLS server warns about plain HTTP:\n%s", &logs)
	}
}

func TestTLSStartErrors(t *testing.T) {
	dir := t.TempDir()
	pair := testcert.Write(t, dir, 1, time.Time{})
	tests := []struct {
		name, cert, key, want string
	}{
		{"missing cert", dir + "/nope.pem", pair.KeyFile, "nope.pem"},
		{"key only", "", pair.KeyFile, "both a certificate and a key"},
		{"key and cert swapped", pair.KeyFile, pair.CertFile, "TLS certificate"},
	}
	for _, tt := range tests {
		s := New(Config{Listen: "127.0.0.1:0", TLSCertFile: tt.cert, TLSKeyFile: tt.key})
		err := s.Start()
		if err == nil {
			s.Shutdown(t.Context())
			t.Errorf("%s: started", tt.name)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want it to say %q", tt.name, err, tt.want)
		}
	}
}

func TestPlainHTTPWarning(t *testing.T) {
	tests := []struct {
		ip   string
		want bool
	}{
		{"127.0.0.1", true}, {"127.0.0.2", true}, {"::1", true},
		{"0.0.0.0", false}, {"::", false}, {"192.0.2.10", false}, {"2001:db8::1", false},
	}
	for _, tt := range tests {
		if got := loopback(&net.TCPAddr{IP: net.ParseIP(tt.ip), Port: 9308}); got != tt.want {
			t.Errorf("loopback(%s) = %v, want %v", tt.ip, got, tt.want)
		}
	}

	for listen, warn := range map[string]bool{"127.0.0.1:0": false, "0.0.0.0:0": true} {
		var logs bytes.Buffer
		s := New(Config{Listen: listen, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		s.Shutdown(t.Context())
		if got := strings.Contains(logs.String(), "level=WARN msg=\"serving plain HTTP"); got != warn {
			t.Errorf("listen %s: warned %v, want %v:\n%s", listen, got, warn, &logs)
		}
	}
}

func TestAlertsToken(t *testing.T) {
	const tok = "alerts-s3cret"
	var logs bytes.Buffer
	s := New(Config{Listen: "127.0.0.1:0", AlertsToken: tok, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Alerts: func() (any, error) { return []string{"task Sales failed"}, nil }})
	tests := []struct {
		name, target, auth string
		want               int
	}{
		{"no token", PathAlerts, "", 401},
		{"wrong token", PathAlerts + "?token=guess", "", 401},
		{"wrong bearer", PathAlerts, "Bearer guess", 401},
		{"bearer", PathAlerts, "Bearer " + tok, 200},
		{"bearer in lower case", PathAlerts, "bearer " + tok, 200},
		{"query", PathAlerts + "?token=" + tok, "", 200},
		{"empty query does not beat the header", PathAlerts + "?token=", "Bearer " + tok, 200},
		{"metrics stay open", PathMetrics, "", 404}, // no registry in this test: 404, not 401
		{"healthz stays open", PathHealth, "", 200},
	}
	for _, tt := range tests {
		r, _ := http.NewRequest(http.MethodGet, tt.target, nil)
		if tt.auth != "" {
			r.Header.Set("Authorization", tt.auth)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, w.Code, tt.want)
		}
		if tt.want == 401 && (w.Header().Get("WWW-Authenticate") == "" || strings.Contains(w.Body.String(), "Sales")) {
			t.Errorf("%s: refused without WWW-Authenticate, or showing alerts: %s", tt.name, w.Body)
		}
	}
	if strings.Contains(logs.String(), tok) {
		t.Errorf("the log shows the token:\n%s", &logs)
	}
}
