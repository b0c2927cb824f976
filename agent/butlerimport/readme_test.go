package butlerimport

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEExample converts the README's example Butler config and checks
// that the herald.toml and stderr lines it shows are what the import gives.
func TestREADMEExample(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, example, ok := strings.Cut(string(data), "\n## Example\n")
	if !ok {
		t.Fatal("README.md has no Example section")
	}
	blocks := map[string]string{}
	for _, lang := range []string{"yaml", "toml", "text"} {
		_, rest, ok := strings.Cut(example, "```"+lang+"\n")
		if !ok {
			t.Fatalf("README.md's example has no %s block", lang)
		}
		block, _, _ := strings.Cut(rest, "```")
		blocks[lang] = block
	}
	res, err := Convert([]byte(blocks["yaml"]), Options{Source: "butler.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(res.Config); got != blocks["toml"] {
		t.Errorf("README's herald.toml is not what the import gives:\n%s", got)
	}
	if got := strings.Join(res.Messages(), "\n") + "\n"; got != blocks["text"] {
		t.Errorf("README's stderr is not what the import prints:\n%s", got)
	}
	for _, id := range []string{"butler-reload-failed-signl4", "butler-reload-failed-webhooks", "butler-reload-aborted-signl4", "butler-reload-aborted-webhooks", "butler-reload-succeeded"} {
		if !strings.Contains(string(res.Rules), `id = "`+id+`"`) || !strings.Contains(example, "`"+id+"`") {
			t.Errorf("rule %s: README and output disagree", id)
		}
	}
}
