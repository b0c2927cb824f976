package all

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/heraldhq/herald/parsers/internal/parsertest"
)

// codeBlock is a fenced block of a Markdown file.
type codeBlock struct {
	lang, text string
	line       int
}

func codeBlocks(md string) []codeBlock {
	var blocks []codeBlock
	var cur *codeBlock
	for i, l := range strings.Split(md, "\n") {
		switch {
		case cur == nil && strings.HasPrefix(l, "```"):
			cur = &codeBlock{lang: strings.TrimPrefix(l, "```"), line: i + 1}
		case cur != nil && l == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.text += l + "\n"
		}
	}
	return blocks
}

// TestReadmeExamples builds the parser of every toml example in
// parsers/README.md, and checks that the log block after it gives the records
// of the text block after that: the documentation cannot drift from the code.
func TestReadmeExamples(t *testing.T) {
	md, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := codeBlocks(string(md))
	seen := map[string]bool{}
	for i, b := range blocks {
		if b.lang != "toml" {
			continue
		}
		var cfg struct {
			Input []struct {
				Name          string         `toml:"name"`
				Type          string         `toml:"type"`
				Paths         []string       `toml:"paths"`
				Parser        string         `toml:"parser"`
				ParserOptions map[string]any `toml:"parser_options"`
			} `toml:"input"`
		}
		md, err := toml.Decode(b.text, &cfg)
		if err != nil {
			t.Errorf("README.md:%d: %v", b.line, err)
			continue
		}
		if u := md.Undecoded(); len(u) > 0 || len(cfg.Input) != 1 {
			t.Errorf("README.md:%d: want one [[input]], got %d and undecoded keys %v", b.line, len(cfg.Input), u)
			continue
		}
		in := cfg.Input[0]
		p, err := New(in.Parser, in.ParserOptions)
		if err != nil {
			t.Errorf("README.md:%d: %v", b.line, err)
			continue
		}
		seen[in.Parser] = true
		if i+2 >= len(blocks) || blocks[i+1].lang != "log" || blocks[i+2].lang != "text" {
			continue
		}
		got, _ := parsertest.Strings(p, nil, strings.TrimSuffix(blocks[i+1].text, "\n"))
		want := strings.Split(strings.TrimSuffix(blocks[i+2].text, "\n"), "\n")
		if !slices.Equal(got, want) {
			t.Errorf("README.md:%d: the %s example gives\n%q\nnot\n%q", blocks[i+1].line, in.Parser, got, want)
		}
	}
	for _, n := range Names() {
		if !seen[n] {
			t.Errorf("README.md has no toml example for parser %s", n)
		}
	}
}
