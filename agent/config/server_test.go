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

func TestServerAdmin(t *testing.T) {
	const base = `
[[input]]
name = "a"
paths = ["x"]

[[sink]]
name = "s"
plugin = "console"

[server]
%s
`
	env := envOf(map[string]string{"ADMIN_TOKEN": "0123456789abcdef0123"})
	c, err := Parse("herald.toml", fmt.Appendf(nil, base, "listen = \"127.0.0.1:0\"\nadmin_token = \"${ADMIN_TOKEN}\"\nadmin_user = \"ops\"\nadmin_password = \"correct horse battery\""), env)
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.AdminToken != "0123456789abcdef0123" || c.Server.AdminUser != "ops" || c.Server.AdminPassword != "correct horse battery" {
		t.Errorf("server = %+v", c.Server)
	}
	for _, tc := range []struct{ keys, want string }{
		{"listen = \"127.0.0.1:0\"\nadmin_user = \"ops\"", "herald.toml:12:1: server.admin_user: requires server.admin_password"},
		{"listen = \"127.0.0.1:0\"\nadmin_password = \"correct horse battery\"", "herald.toml:12:1: server.admin_password: requires server.admin_user"},
		{"listen = \"127.0.0.1:0\"\nadmin_user = \"ops\"\nadmin_password = \"short\"", "herald.toml:13:1: server.admin_password: is too short: use at least 12 characters"},
		{"listen = \"127.0.0.1:0\"\nadmin_token = \"short-s3cret\"", "herald.toml:12:1: server.admin_token: is too short: use at least 16 characters"},
		{"admin_token = \"0123456789abcdef0123\"", "herald.toml:11:1: server.admin_token: has no effect without server.listen"},
	} {
		_, err := Parse("herald.toml", fmt.Appendf(nil, base, tc.keys), env)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n got %v\nwant %s", tc.keys, err, tc.want)
		}
		if err != nil && (strings.Contains(err.Error(), "short-s3cret") || strings.Contains(err.Error(), "\"short\"")) {
			t.Errorf("the error shows the secret: %v", err)
		}
	}
}
