package docs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/heraldhq/herald/agent"
	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/plugins/sdk"
	sinksall "github.com/heraldhq/herald/sinks/all"
)

// maxReadme is the front door's budget: what Herald is, the two commands,
// installing on a node, the features and the links. The rest is in docs/.
const maxReadme = 15 * 1024

// pages returns README.md, CHANGELOG.md and docs/*.md, by path from the
// repository root. docs/_incoming (drafts being folded in) is not a page.
func pages(t *testing.T) map[string]string {
	t.Helper()
	paths, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range append(paths, "../README.md", "../CHANGELOG.md") {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[p] = string(b)
	}
	return out
}

func TestReadmeSize(t *testing.T) {
	fi, err := os.Stat("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > maxReadme {
		t.Errorf("README.md is %d bytes, over its budget of %d: move detail into a docs/ page and link to it", fi.Size(), maxReadme)
	}
}

// TestLinks checks that every relative link of the documentation names a file
// that exists and, for a link into a Markdown file, an anchor of one of its
// headings.
func TestLinks(t *testing.T) {
	all := pages(t)
	anchorsOf := func(path string) (map[string]bool, bool) {
		md, ok := all[path]
		if !ok {
			b, err := os.ReadFile(path)
			if err != nil {
				return nil, false
			}
			md = string(b)
		}
		return Anchors(md), true
	}
	for page, md := range all {
		for _, l := range Links(md) {
			if strings.Contains(l.Target, "://") || strings.HasPrefix(l.Target, "mailto:") {
				continue
			}
			file, anchor, _ := strings.Cut(l.Target, "#")
			target := page
			if file != "" {
				target = filepath.Join(filepath.Dir(page), filepath.FromSlash(file))
				if _, err := os.Stat(target); err != nil {
					t.Errorf("%s:%d: link %s: %v", page, l.Line, l.Target, err)
					continue
				}
			}
			if anchor == "" || !strings.HasSuffix(target, ".md") {
				continue
			}
			anchors, ok := anchorsOf(target)
			if !ok || !anchors[anchor] {
				t.Errorf("%s:%d: link %s: %s has no heading with the anchor #%s", page, l.Line, l.Target, target, anchor)
			}
		}
	}
}

// TestTOMLExamples loads every ```toml block of the documentation that is not
// marked <!-- fragment -->, as the agent loads it: a [[rule]] file is compiled
// against a scheduler input, anything else is read as a herald.toml (with a
// stand-in input, sink or rule pack where the example has none), its rules
// compiled and each built-in sink's [sink.config] passed to that sink's own
// Configure. A fragment is a piece that cannot stand alone, and says so.
func TestTOMLExamples(t *testing.T) {
	n := 0
	for page, md := range pages(t) {
		for _, b := range Blocks(md) {
			if b.Lang != "toml" || b.Fragment() {
				continue
			}
			n++
			if err := loadExample(t.TempDir(), b.Text); err != nil {
				t.Errorf("%s:%d: %v", page, b.Line, err)
			}
		}
	}
	if n == 0 {
		t.Fatal("no toml examples found")
	}
}

// exampleEnv stands in for the secrets the examples name as ${VAR}: long
// enough for the admin token and password, a URL where a whole URL is expected.
func exampleEnv(name string) (string, bool) {
	if strings.HasSuffix(name, "_URL") {
		return "https://chat.example.com/hooks/docs-example/" + name, true
	}
	return "docs-example-" + strings.ToLower(name), true
}

// schedulerInput is the input a rule file or a sink-only example is loaded with.
const schedulerInput = `
[[input]]
name = "scheduler"
type = "file"
paths = ["scheduler.txt"]
parser = "qlik"
`

// loadExample loads text, a toml example, in dir as TestTOMLExamples says.
func loadExample(dir, text string) error {
	var top map[string]any
	if _, err := toml.Decode(text, &top); err != nil {
		return fmt.Errorf("not TOML: %w", err)
	}
	doc := text
	// A config that names rule files gets an empty one where its glob points.
	if r, ok := top["rules"].(map[string]any); ok {
		files, _ := r["files"].([]any)
		for _, f := range files {
			if g, ok := f.(string); ok && !filepath.IsAbs(g) {
				p := filepath.Join(dir, filepath.FromSlash(strings.ReplaceAll(g, "*", "example")))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					return err
				}
				if err := os.WriteFile(p, nil, 0o600); err != nil {
					return err
				}
			}
		}
	}
	if _, ok := top["rule"]; ok {
		if err := os.WriteFile(filepath.Join(dir, "rules.toml"), []byte(text), 0o600); err != nil {
			return err
		}
		// The sinks rule examples route to, by name and by kind.
		doc = schedulerInput + `
[[sink]]
name = "pager"
plugin = "signl4"
[sink.config]
url = "https://connect.signl4.com/webhook/${SIGNL4_TEAM_SECRET}"

[[sink]]
name = "chat"
plugin = "rocketchat"
[sink.config]
url = "${ROCKETCHAT_WEBHOOK_URL}"

[rules]
files = ["rules.toml"]
`
	} else {
		if _, ok := top["input"]; !ok {
			doc += "\n" + schedulerInput
		}
		if _, ok := top["sink"]; !ok {
			doc += "\n[[sink]]\nname = \"docs-stand-in\"\nplugin = \"console\"\n"
		}
		if _, ok := top["rules"]; !ok {
			doc += "\n[rules]\npacks = [\"qliksense\"]\n"
		}
	}
	path := filepath.Join(dir, "herald.toml")
	cfg, err := config.Parse(path, []byte(doc), exampleEnv)
	if err != nil {
		return fmt.Errorf("%w\nthe example (stand-ins added after it):\n%s", err, doc)
	}
	if _, err := agent.Load(cfg, agent.Options{Executable: filepath.Join(dir, "herald"), Logger: slog.New(slog.DiscardHandler)}); err != nil {
		return fmt.Errorf("%w\nthe example (stand-ins added after it):\n%s", err, doc)
	}
	var errs []error
	for _, s := range cfg.Sinks {
		newSink, ok := sinksall.Lookup(s.Plugin)
		if !ok {
			continue
		}
		raw, err := json.Marshal(s.Config)
		if err != nil {
			return err
		}
		if err := newSink().Configure(context.Background(), sdk.Config{Name: s.Name, Raw: raw, Logger: slog.New(slog.DiscardHandler)}); err != nil {
			errs = append(errs, fmt.Errorf("sink %q: %w", s.Name, err))
		}
	}
	return errors.Join(errs...)
}

// TestLoadExampleRefuses shows that the check has teeth: an example with a
// mistake in the config, a rule or a sink's own settings fails it.
func TestLoadExampleRefuses(t *testing.T) {
	for name, text := range map[string]string{
		"unknown key":     "[agent]\nhots = \"x\"\n",
		"rule field typo": "[[rule]]\nid = \"r\"\ninputs = [\"scheduler\"]\nwhen = 'Mesage == \"x\"'\nkey = 'TaskId'\n",
		"sink config key": "[[sink]]\nname = \"pager\"\nplugin = \"signl4\"\n[sink.config]\nurl = \"https://connect.signl4.com/webhook/x\"\nservise = \"Qlik\"\n",
		"unknown pack":    "[rules]\npacks = [\"qliksens\"]\n",
		"not toml":        "[agent\n",
	} {
		if err := loadExample(t.TempDir(), text); err == nil {
			t.Errorf("%s: loaded without an error:\n%s", name, text)
		}
	}
	if err := loadExample(t.TempDir(), "[agent]\nhost = \"QS-NODE1\"\n"); err != nil {
		t.Errorf("a correct example failed: %v", err)
	}
}

// TestWalks checks the shape of the install walks in README.md: each is a
// sequence of steps that installs, checks, tries once and registers the
// service, and every file it writes is a complete config or its secrets.
func TestWalks(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, walk := range []struct {
		name, config, shell string
	}{
		{"windows", `C:\ProgramData\Herald\herald.toml`, "powershell"},
		{"linux", "/etc/herald/herald.toml", "sh"},
	} {
		t.Run(walk.name, func(t *testing.T) {
			steps := Walk(string(b), walk.name)
			var script strings.Builder
			wrote := map[string]bool{}
			for _, s := range steps {
				if s.File != "" {
					wrote[s.File] = true
					continue
				}
				if s.Lang != walk.shell {
					t.Errorf("README.md:%d: a %s walk step is a %q block, want %s", s.Line, walk.name, s.Lang, walk.shell)
				}
				script.WriteString(s.Text)
			}
			if !wrote[walk.config] {
				t.Errorf("the %s walk writes no %s (files: %v)", walk.name, walk.config, wrote)
			}
			for _, cmd := range []string{"check --config", "run --once --config", "service install --config", "service start", "healthz"} {
				if !strings.Contains(script.String(), cmd) {
					t.Errorf("the %s walk never runs %q", walk.name, cmd)
				}
			}
		})
	}
}
