package docs

import (
	"reflect"
	"testing"
)

const sample = "# Herald\n" +
	"\n" +
	"See [install](docs/install.md#windows) and `[not a link](x.md)`.\n" +
	"\n" +
	"<!-- walk:linux -->\n" +
	"```sh\n" +
	"herald check --config /etc/herald/herald.toml\n" +
	"```\n" +
	"\n" +
	"- a list item:\n" +
	"\n" +
	"  <!-- fragment -->\n" +
	"  ```toml\n" +
	"  paths = ['C:\\x']\n" +
	"  ```\n" +
	"\n" +
	"<!-- walk:linux file=/etc/herald/herald.env -->\n" +
	"```text\n" +
	"[link in code](nowhere.md)\n" +
	"# not a heading\n" +
	"```\n" +
	"\n" +
	"## Heartbeat (dead-man's switch)\n" +
	"## Sending a test alert: `herald send-test`\n" +
	"## Herald\n"

func TestBlocks(t *testing.T) {
	got := Blocks(sample)
	want := []Block{
		{Lang: "sh", Text: "herald check --config /etc/herald/herald.toml\n", Line: 6, Mark: "walk:linux"},
		{Lang: "toml", Text: "paths = ['C:\\x']\n", Line: 13, Mark: "fragment"},
		{Lang: "text", Text: "[link in code](nowhere.md)\n# not a heading\n", Line: 18, Mark: "walk:linux file=/etc/herald/herald.env"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Blocks:\n got %+v\nwant %+v", got, want)
	}
	if !got[1].Fragment() || got[0].Fragment() {
		t.Error("Fragment() does not follow the mark")
	}
}

func TestWalk(t *testing.T) {
	steps := Walk(sample, "linux")
	if len(steps) != 2 || steps[0].File != "" || steps[1].File != "/etc/herald/herald.env" {
		t.Errorf("Walk(linux) = %+v", steps)
	}
	if steps := Walk(sample, "windows"); len(steps) != 0 {
		t.Errorf("Walk(windows) = %+v, want none", steps)
	}
}

func TestLinksSkipCode(t *testing.T) {
	want := []Link{{Target: "docs/install.md#windows", Line: 3}}
	if got := Links(sample); !reflect.DeepEqual(got, want) {
		t.Errorf("Links = %+v, want %+v", got, want)
	}
}

func TestAnchors(t *testing.T) {
	want := map[string]bool{
		"herald":                                true,
		"heartbeat-dead-mans-switch":            true,
		"sending-a-test-alert-herald-send-test": true,
		"herald-1":                              true,
	}
	if got := Anchors(sample); !reflect.DeepEqual(got, want) {
		t.Errorf("Anchors = %v, want %v", got, want)
	}
}
