package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/testcert"
)

func TestServerTLSAndToken(t *testing.T) {
	dir := t.TempDir()
	good := testcert.Write(t, dir, 1, time.Time{})
	other := t.TempDir()
	otherPair := testcert.Write(t, other, 2, time.Time{})
	const base = `
[[input]]
name = "a"
paths = ["x"]

[[sink]]
name = "s"
plugin = "console"

[server]
listen = "127.0.0.1:9308"
alerts_token = "${ALERTS_TOKEN}"
tls_cert_file = %q
tls_key_file = %q
`
	env := envOf(map[string]string{"ALERTS_TOKEN": "alerts-s3cret"})
	c, err := Parse(filepath.Join(dir, "herald.toml"), fmt.Appendf(nil, base, "cert.pem", "key.pem"), env)
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.TLSCertFile != good.CertFile || c.Server.TLSKeyFile != good.KeyFile || c.Server.AlertsToken != "alerts-s3cret" {
		t.Errorf("server = %+v; want the files relative to the config and the token", c.Server)
	}

	_, mismatch := Parse(filepath.Join(dir, "herald.toml"), fmt.Appendf(nil, base, "cert.pem", otherPair.KeyFile), env)
	if mismatch == nil || !strings.Contains(mismatch.Error(),
		"herald.toml:13:1: server.tls_cert_file: cannot use the certificate with server.tls_key_file: tls: private key does not match public key") {
		t.Fatalf("a key of another certificate: %v", mismatch)
	}
	key, err := os.ReadFile(otherPair.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(mismatch.Error(), strings.Split(string(key), "\n")[1]) || strings.Contains(mismatch.Error(), "alerts-s3cret") {
		t.Error("the error shows the key or the token")
	}
}
