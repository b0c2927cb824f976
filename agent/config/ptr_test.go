package config

import (
	"path/filepath"
	"testing"
)

func TestResolveUnknownDecodes(t *testing.T) {
	for _, v := range []bool{true, false} {
		text := "[[input]]\nname = \"s\"\npaths = [\"x\"]\n[[sink]]\nname = \"c\"\nplugin = \"console\"\nresolve_unknown = " + map[bool]string{true: "true", false: "false"}[v] + "\n"
		c, err := Parse(filepath.Join(t.TempDir(), "herald.toml"), []byte(text), envOf(nil))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Sinks[0].ResolveUnknown; got == nil || *got != v {
			t.Errorf("resolve_unknown = %v: decoded %v", v, got)
		}
	}
	c, err := Parse(filepath.Join(t.TempDir(), "herald.toml"), []byte("[[input]]\nname = \"s\"\npaths = [\"x\"]\n[[sink]]\nname = \"c\"\nplugin = \"console\"\nresolve_unknown = \"yes\"\n"), envOf(nil))
	if err == nil {
		t.Errorf("a string for resolve_unknown was accepted: %+v", c.Sinks[0])
	}
}
