package rules

import (
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// TestValuePosition decodes each file with the TOML library, as Load does,
// and checks that the offset of "Nope" in the decoded value maps to where
// Nope is written in the file.
func TestValuePosition(t *testing.T) {
	tests := []struct {
		name      string
		file      string
		line, col int
	}{
		{"single-line literal", "[[rule]]\nwhen = 'a && Nope'\n", 2, 14},
		{"single-line basic", "[[rule]]\nwhen = \"a && Nope\"\n", 2, 14},
		{"tabs count as one", "[[rule]]\n\twhen\t=\t'a &&\tNope'\n", 2, 15},
		{"escapes shift columns", "[[rule]]\nwhen = \"a == \\\"x\\\" && b == \\u0041 && Nope\"\n", 2, 38},
		{"multi-line literal", "[[rule]]\nwhen = '''\nLevel == \"ERROR\"\n  && Nope'''\n", 4, 6},
		{"multi-line literal, text on the first line", "[[rule]]\nwhen = '''a\n\t&& Nope'''\n", 3, 5},
		{"multi-line basic with escapes", "[[rule]]\nwhen = \"\"\"\na == \"\\t\"\n  && Nope\"\"\"\n", 4, 6},
		{"line-ending backslash", "[[rule]]\nwhen = \"\"\"\na && \\\n     Nope\"\"\"\n", 4, 6},
		{"CRLF file, multi-line", "[[rule]]\r\nwhen = '''\r\nLevel == \"ERROR\"\r\n  && Nope'''\r\n", 4, 6},
		{"CRLF file, single-line", "[[rule]]\r\nwhen = 'x && Nope'\r\n", 2, 14},
		{"non-ASCII before", "[[rule]]\nwhen = 'Message == \"Größe\" && Nope'\n", 2, 31},
		{"error at the end", "[[rule]]\nwhen = '''\na &&\n'''\n", 4, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var spec struct{ Rule []struct{ When string } }
			if _, err := toml.Decode(tt.file, &spec); err != nil {
				t.Fatal(err)
			}
			val := spec.Rule[0].When
			off := len([]rune(val)) // "error at the end"
			if i := strings.Index(val, "Nope"); i >= 0 {
				off = len([]rune(val[:i]))
			}
			pos := newPositions(tt.file)
			line, col, ok := valuePosition(pos.lines, pos.key(0, "when"), val, off)
			if !ok || line != tt.line || col != tt.col {
				t.Errorf("valuePosition = %d:%d (ok %v), want %d:%d", line, col, ok, tt.line, tt.col)
			}
		})
	}
}

func TestValuePositionNotAString(t *testing.T) {
	lines := strings.Split("[[rule]]\nwhen = { x = 1 }\n", "\n")
	if _, _, ok := valuePosition(lines, 2, "x", 0); ok {
		t.Error("an inline table is not a string value: want ok false")
	}
	if _, _, ok := valuePosition(lines, 1, "x", 0); ok {
		t.Error("a line without = has no value: want ok false")
	}
}
