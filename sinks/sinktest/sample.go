package sinktest

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/plugins/sdk"
)

// CheckSample holds a sink's documentation to its code. It checks that:
//   - the first ```toml block of the README at readmePath is sample, byte for
//     byte, so the documented example is the embedded one;
//   - sample loads as part of a herald.toml through the agent's own config
//     loader (every ${VAR} set to "sample-VAR");
//   - every [[sink]] in it whose plugin is plugin passes Configure of a sink
//     from newSink.
func CheckSample(t *testing.T, sample []byte, readmePath, plugin string, newSink func() sdk.Sink) {
	t.Helper()
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	block, ok := firstTOMLBlock(string(readme))
	if !ok {
		t.Fatalf("%s has no ```toml block", readmePath)
	}
	if block != string(sample) {
		t.Errorf("the first ```toml block of %s differs from sample.toml; paste sample.toml into it.\nREADME:\n%s\nsample.toml:\n%s", readmePath, block, sample)
	}

	// The agent refuses a config without inputs; a minimal one stands in.
	doc := append([]byte("[[input]]\nname = \"sample\"\ntype = \"file\"\npaths = [\"sample.txt\"]\nparser = \"line\"\n\n"), sample...)
	env := func(name string) (string, bool) { return "sample-" + name, true }
	cfg, err := config.Parse("sample.toml", doc, env)
	if err != nil {
		t.Fatalf("sample.toml does not load (line numbers are 6 too high): %v", err)
	}
	n := 0
	for _, s := range cfg.Sinks {
		if s.Plugin != plugin {
			continue
		}
		n++
		raw, err := json.Marshal(s.Config)
		if err != nil {
			t.Fatalf("sink %q: %v", s.Name, err)
		}
		logs := NewLogs()
		if err := newSink().Configure(context.Background(), sdk.Config{Name: s.Name, Raw: raw, Logger: logs.Logger()}); err != nil {
			t.Errorf("sink %q from sample.toml: Configure: %v", s.Name, err)
		}
	}
	if n == 0 {
		t.Errorf("sample.toml has no [[sink]] with plugin = %q", plugin)
	}
}

// firstTOMLBlock returns the content of the first ```toml fenced block.
func firstTOMLBlock(md string) (string, bool) {
	const open = "```toml\n"
	i := strings.Index(md, open)
	if i < 0 {
		return "", false
	}
	rest := md[i+len(open):]
	j := strings.Index(rest, "\n```")
	if j < 0 {
		return "", false
	}
	return rest[:j+1], true
}
