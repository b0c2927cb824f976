package butlerimport

import (
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/heraldhq/herald/rules"
)

// packName is the embedded rule pack whose rules the generated rules copy.
const packName = "qliksense"

// packRule is a rule of the pack, with every key a pack rule may have: the
// generated rules copy them all, so a copy detects exactly what the pack does.
type packRule struct {
	ID          string            `toml:"id"`
	Description string            `toml:"description"`
	Parsers     []string          `toml:"parsers"`
	When        string            `toml:"when"`
	Key         string            `toml:"key"`
	Dedup       string            `toml:"dedup"`
	Severity    string            `toml:"severity"`
	Title       string            `toml:"title"`
	Message     string            `toml:"message"`
	Fields      map[string]string `toml:"fields"`
	Resolves    []string          `toml:"resolves"`
}

// loadPack reads the pack from the rules package, so the copies follow it
// when it changes. A key the copies would not carry is an error rather than
// a silently different rule.
func loadPack() (map[string]packRule, error) {
	src, ok := rules.PackSource(packName)
	if !ok {
		return nil, fmt.Errorf("rule pack %q is not built in", packName)
	}
	var f struct {
		Rules []packRule `toml:"rule"`
	}
	md, err := toml.Decode(string(src), &f)
	if err != nil {
		return nil, fmt.Errorf("rule pack %q: %w", packName, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return nil, fmt.Errorf("rule pack %q has keys the Butler import does not copy: %s", packName, strings.Join(keys, ", "))
	}
	out := make(map[string]packRule, len(f.Rules))
	for _, r := range f.Rules {
		out[r.ID] = r
	}
	for _, id := range []string{events[0].packRule, events[1].packRule, successRule} {
		if _, ok := out[id]; !ok {
			return nil, fmt.Errorf("rule pack %q has no rule %q, which the Butler import copies", packName, id)
		}
	}
	return out, nil
}
