package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestLoadPartial: a config with problems still comes back as far as it
// decoded, with its problems, and flagged tells the keys that have one from
// those that do not.
func TestLoadPartial(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "herald.toml")
	body := `
[agent]
data_dir = "state"
log_levle = "info"

[[input]]
name = "scheduler"
paths = ["*.txt"]
parser = "qlik"

[[sink]]
name = "pager"
plugin = "consle"
batch_sise = 5

[rules]
files = ["rules/*.toml"]
`
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, flagged, err := LoadPartial(path, Options{})
	if cfg == nil || err == nil {
		t.Fatalf("LoadPartial = %v, %v; want a config and its problems", cfg, err)
	}
	var ce *Error
	if !errors.As(err, &ce) || ce.Key != "agent.log_levle" {
		t.Errorf("first problem: %v", err)
	}
	if cfg.Sinks[0].Plugin != "consle" || cfg.Rules.Files[0] != filepath.Join(dir, "rules/*.toml") {
		t.Errorf("config not decoded as far as it goes, or paths not resolved: %+v", cfg)
	}
	for key, want := range map[string]bool{
		"agent.log_levle":    true,
		"agent":              true, // around a problem
		"agent.log_level":    true, // what the typo most likely meant
		"sink[0].batch_sise": true,
		"sink[0].batch_size": true,
		"sink[0].plugin":     false, // a plugin name is not the config's to check
		"input[0].paths[0]":  false,
		"rules.files[0]":     false,
	} {
		if got := flagged(key); got != want {
			t.Errorf("flagged(%q) = %v, want %v", key, got, want)
		}
	}

	// Not TOML: nothing to go on.
	if err := os.WriteFile(path, []byte("[agent\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if cfg, _, err := LoadPartial(path, Options{}); cfg != nil || err == nil {
		t.Errorf("not TOML: LoadPartial = %v, %v; want nil and the syntax error", cfg, err)
	}
}
