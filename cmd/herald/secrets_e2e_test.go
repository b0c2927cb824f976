package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// secretsE2E is the SIGNL4 team secret of these tests. It reaches herald only
// through herald.env, --env-file or ${file:}, never the environment, and must
// appear in nothing herald prints.
const secretsE2E = "Hq7envF1leT3amS3cret"

// secretsConfig is a valid config whose one secret is ${HERALD_E2E_ENV_SECRET},
// with its input's log file made in dir.
func secretsConfig(t *testing.T, dir, url string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, checkLog), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return writeConfig(t, dir, checkInput+strings.Replace(checkSignl4,
		"https://connect.signl4.com/webhook/${HERALD_CHECK_SECRET}", url, 1)+checkRules)
}

func writeSecretFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // whatever the umask
		t.Fatal(err)
	}
}

func assertNoE2ESecret(t *testing.T, what string, outputs ...string) {
	t.Helper()
	for _, o := range outputs {
		if strings.Contains(o, secretsE2E) {
			t.Errorf("%s shows the secret:\n%s", what, o)
		}
	}
}

// TestCheckReadsSecretSources: herald check finds a secret that is only in
// herald.env beside the config, in the file --env-file names, or in a file
// ${file:} names; a herald.env others can read is a warning naming the fix;
// a missing --env-file and a malformed env file are errors with the file and
// line, never the value.
func TestCheckReadsSecretSources(t *testing.T) {
	const url = "https://connect.signl4.com/webhook/${HERALD_E2E_ENV_SECRET}"
	if _, set := os.LookupEnv("HERALD_E2E_ENV_SECRET"); set {
		t.Fatal("HERALD_E2E_ENV_SECRET is set in the test's environment: the test needs it unset")
	}

	t.Run("herald.env beside the config", func(t *testing.T) {
		dir := t.TempDir()
		cfg := secretsConfig(t, dir, url)
		writeSecretFile(t, filepath.Join(dir, "herald.env"), "# secrets\nHERALD_E2E_ENV_SECRET="+secretsE2E+"\n", 0o600)
		stdout, stderr, code := runHerald(t, "check", "--config", cfg)
		if code != 0 || !strings.Contains(stdout, ": OK") {
			t.Fatalf("check: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
		}
		if strings.Contains(stderr, "warning") {
			t.Errorf("a herald.env of mode 0600 gave a warning:\n%s", stderr)
		}
		assertNoE2ESecret(t, "check", stdout, stderr)
	})

	t.Run("herald.env readable by others", func(t *testing.T) {
		if runtime.GOOS == "windows" {
			t.Skip("SKIP: mode bits are not how Windows protects a file; service install sets ACLs instead")
		}
		dir := t.TempDir()
		cfg := secretsConfig(t, dir, url)
		env := filepath.Join(dir, "herald.env")
		writeSecretFile(t, env, "HERALD_E2E_ENV_SECRET="+secretsE2E+"\n", 0o644)
		stdout, stderr, code := runHerald(t, "check", "--config", cfg)
		if code != 0 {
			t.Fatalf("check: exit %d\nstderr: %s", code, stderr)
		}
		want := "herald: warning: env file " + env + " holds secrets and can be read by its group or others (mode 0644): chmod 600 " + env
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
		assertNoE2ESecret(t, "check", stdout, stderr)
	})

	t.Run("--env-file", func(t *testing.T) {
		dir := t.TempDir()
		cfg := secretsConfig(t, dir, url)
		elsewhere := filepath.Join(t.TempDir(), "secrets", "herald-prod.env")
		writeSecretFile(t, elsewhere, "export HERALD_E2E_ENV_SECRET=\""+secretsE2E+"\"\n", 0o600)
		// A herald.env beside the config is not read when --env-file is given.
		writeSecretFile(t, filepath.Join(dir, "herald.env"), "HERALD_E2E_ENV_SECRET=\n", 0o600)
		stdout, stderr, code := runHerald(t, "check", "--config", cfg, "--env-file", elsewhere)
		if code != 0 {
			t.Fatalf("check --env-file: exit %d\nstderr: %s", code, stderr)
		}
		assertNoE2ESecret(t, "check", stdout, stderr)

		missing := filepath.Join(dir, "nope.env")
		_, stderr, code = runHerald(t, "--env-file", missing, "check", "--config", cfg)
		if want := "--env-file " + missing + " does not exist"; code != 2 || !strings.Contains(stderr, want) {
			t.Errorf("missing --env-file: exit %d, stderr %q; want 2 and %q", code, stderr, want)
		}
	})

	t.Run("env file with a mistake", func(t *testing.T) {
		dir := t.TempDir()
		cfg := secretsConfig(t, dir, url)
		env := filepath.Join(dir, "herald.env")
		writeSecretFile(t, env, "HERALD_E2E_ENV_SECRET=\""+secretsE2E+"\n", 0o600)
		stdout, stderr, code := runHerald(t, "check", "--config", cfg)
		want := "herald: " + env + ":1: HERALD_E2E_ENV_SECRET: no closing \" quote (a value is one line)"
		if code != 2 || !strings.Contains(stderr, want) {
			t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, want)
		}
		assertNoE2ESecret(t, "check", stdout, stderr)
	})

	t.Run("${file:}", func(t *testing.T) {
		dir := t.TempDir()
		cfg := secretsConfig(t, dir, "https://connect.signl4.com/webhook/${file:secrets/signl4}")
		_, stderr, code := runHerald(t, "check", "--config", cfg)
		want := "herald: " + cfg + ":15:1: sink[0].config.url: secret file " + filepath.Join(dir, "secrets", "signl4") + " does not exist"
		if code != 2 || !strings.Contains(stderr, want) {
			t.Errorf("missing secret file: exit %d, stderr %q; want 2 and %q", code, stderr, want)
		}
		writeSecretFile(t, filepath.Join(dir, "secrets", "signl4"), secretsE2E+"\n", 0o600)
		stdout, stderr, code := runHerald(t, "check", "--config", cfg)
		if code != 0 {
			t.Fatalf("check: exit %d\nstderr: %s", code, stderr)
		}
		assertNoE2ESecret(t, "check", stdout, stderr)
	})
}

// TestStateCommandsNeedNoSecret: the commands that only read state work
// while a secret of the config is set nowhere; herald check still refuses.
func TestStateCommandsNeedNoSecret(t *testing.T) {
	dir := t.TempDir()
	cfg := secretsConfig(t, dir, "https://connect.signl4.com/webhook/${HERALD_E2E_UNSET_SECRET}")
	for _, args := range [][]string{
		{"alerts", "--config", cfg},
		{"alerts", "--config", cfg, "--all", "--json"},
		{"outbox", "--config", cfg},
		{"outbox", "list", "--config", cfg, "--sink", "pager"},
		{"silence", "list", "--config", cfg},
		{"rules", "test", "--config", cfg, filepath.Join(dir, checkLog)},
	} {
		stdout, stderr, code := runHerald(t, args...)
		if code != 0 {
			t.Errorf("herald %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, stdout, stderr)
		}
	}
	_, stderr, code := runHerald(t, "check", "--config", cfg)
	if want := "sink[0].config.url: environment variable HERALD_E2E_UNSET_SECRET is not set"; code != 2 || !strings.Contains(stderr, want) {
		t.Errorf("check: exit %d, stderr %q; want 2 and %q", code, stderr, want)
	}
}

// TestServiceInstallRefusesWhatCheckRejects: herald service install runs
// herald check's checks first, sink configs included, and installs nothing
// when they fail: it prints check's problems and exits 2.
func TestServiceInstallRefusesWhatCheckRejects(t *testing.T) {
	dir := t.TempDir()
	// The config itself decodes; only the SIGNL4 plugin, started as check
	// starts it, finds the URL wrong.
	cfg := secretsConfig(t, dir, "ftp://connect.signl4.com/webhook/${HERALD_E2E_ENV_SECRET}")
	writeSecretFile(t, filepath.Join(dir, "herald.env"), "HERALD_E2E_ENV_SECRET="+secretsE2E+"\n", 0o600)
	stdout, stderr, code := runHerald(t, "service", "install", "--config", cfg)
	// Placed at the sink's line, as herald check places it.
	want := "herald: " + cfg + `:15:1: sink "pager": url: must start with https:// or http://`
	if code != 2 || !strings.Contains(stderr, want) {
		t.Errorf("service install: exit %d, stderr %q; want 2 and %q", code, stderr, want)
	}
	if strings.Contains(stdout, "installed") {
		t.Errorf("service install says it installed: %s", stdout)
	}
	assertNoE2ESecret(t, "service install", stdout, stderr)

	// An unset secret is refused the same way.
	cfg = secretsConfig(t, t.TempDir(), "https://connect.signl4.com/webhook/${HERALD_E2E_UNSET_SECRET}")
	_, stderr, code = runHerald(t, "service", "install", "--config", cfg)
	if want := cfg + ":15:1: sink[0].config.url: environment variable HERALD_E2E_UNSET_SECRET is not set"; code != 2 || !strings.Contains(stderr, want) {
		t.Errorf("service install: exit %d, stderr %q; want 2 and %q", code, stderr, want)
	}
}
