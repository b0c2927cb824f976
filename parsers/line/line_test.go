package line

import (
	"slices"
	"strings"
	"testing"

	"github.com/heraldhq/herald/parsers/internal/parsertest"
)

func TestLine(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []string
	}{
		{"lines", "first line\r\nsecond\tline\n", []string{"0001-01-01T00:00:00Z line=first line", "0001-01-01T00:00:00Z line=second\tline"}},
		{"blank lines skipped", "\n\r\n  \n", []string{"0001-01-01T00:00:00Z line=  "}},
		{"invalid UTF-8", "ok\nbad \xff\n", []string{"0001-01-01T00:00:00Z line=ok", "error: parse in.log at byte 9: line is not valid UTF-8"}},
		{"too long", strings.Repeat("x", 1<<20+1), []string{"error: parse in.log at byte 1048578: line of 1048577 bytes exceeds the limit of 1048576"}},
	}
	p, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, verbatim := parsertest.Strings(p, nil, tt.input)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
			if !verbatim {
				t.Error("a field is not a substring of Raw")
			}
		})
	}
	if !slices.Equal(p.Fields(), []string{"line"}) || !p.Verbatim() {
		t.Errorf("Fields() = %v, Verbatim() = %v", p.Fields(), p.Verbatim())
	}
}

func TestFilter(t *testing.T) {
	p, _ := New(nil)
	res, _ := parsertest.Decode(p, func(raw string) bool { return strings.Contains(raw, "ERROR") }, "INFO ok\nERROR bad\n")
	if len(res) != 1 || res[0].Fields[0] != "line=ERROR bad" {
		t.Errorf("got %v", res)
	}
}

func TestOptions(t *testing.T) {
	if _, err := New(map[string]any{"pattern": "x"}); err == nil || !strings.Contains(err.Error(), `unknown option "pattern"`) {
		t.Errorf("New with an option: %v", err)
	}
}
