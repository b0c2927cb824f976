package regex

import (
	"testing"

	"github.com/heraldhq/herald/parsers/internal/parsertest"
)

const apache = `^(?P<ip>\S+) \S+ \S+ \[(?P<time>[^\]]+)\] "(?P<method>\S+) (?P<path>\S+)[^"]*" (?P<status>\d{3})`

func TestNew(t *testing.T) {
	tests := []struct {
		name       string
		opts       map[string]any
		wantErr    string
		wantFields []string
	}{
		{"named groups", map[string]any{"pattern": `(?P<level>[A-Z]+) (?P<msg>.*)`}, "", []string{"level", "msg"}},
		{"alternation repeats a name", map[string]any{"pattern": `a(?P<x>\d)|b(?P<x>\w)`}, "", []string{"x"}},
		{"no pattern", nil, `option "pattern" is required`, nil},
		{"bad pattern", map[string]any{"pattern": `(?P<a>`}, `option "pattern" "(?P<a>": error parsing regexp`, nil},
		{"no named group", map[string]any{"pattern": `(\d+) (.*)`}, "has no named group", nil},
		{"time_field not a group", map[string]any{"pattern": `(?P<a>.)`, "time_field": "ts"}, `"time_field" "ts" is not a named group`, nil},
		{"bad time_format", map[string]any{"pattern": `(?P<time>.)`, "time_format": "yyyy-MM-dd"}, `time_format "yyyy-MM-dd" is not a Go time layout`, nil},
		{"unknown option", map[string]any{"pattern": `(?P<a>.)`, "fields": []any{"b"}}, `unknown option "fields" (known: pattern, time_field, time_format)`, nil},
		{"wrong type", map[string]any{"pattern": int64(3)}, `option "pattern": got number, want a string`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if p := parsertest.New(t, New, tt.opts, tt.wantErr); p != nil {
				parsertest.CheckFields(t, p, tt.wantFields, true)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name  string
		opts  map[string]any
		input string
		want  []string
	}{
		{
			name:  "non-matching lines are skipped",
			opts:  map[string]any{"pattern": `^(?P<level>ERROR|WARN) (?P<msg>.*)$`},
			input: "INFO fine\nERROR reload failed\r\nWARN slow",
			want:  []string{"0001-01-01T00:00:00Z level=ERROR msg=reload failed", "0001-01-01T00:00:00Z level=WARN msg=slow"},
		},
		{
			name:  "time with a layout",
			opts:  map[string]any{"pattern": apache, "time_format": "02/Jan/2006:15:04:05 -0700"},
			input: `10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326`,
			want:  []string{"2000-10-10T13:55:36-07:00 ip=10.0.0.1 time=10/Oct/2000:13:55:36 -0700 method=GET path=/apache_pb.gif status=200"},
		},
		{
			name:  "bad time is a parse error",
			opts:  map[string]any{"pattern": apache, "time_format": "02/Jan/2006:15:04:05 -0700"},
			input: `10.0.0.1 - - [32/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 1`,
			want:  []string{`error: parse in.log at byte 65: field time: parsing time "32/Oct/2000:13:55:36 -0700": day out of range`},
		},
		{
			name:  "default RFC 3339 time in group time",
			opts:  map[string]any{"pattern": `^(?P<time>\S+) (?P<msg>.*)`},
			input: "2024-05-01T10:00:00.5+02:00 hello",
			want:  []string{"2024-05-01T10:00:00.5+02:00 time=2024-05-01T10:00:00.5+02:00 msg=hello"},
		},
		{
			name:  "explicit time_field, unix seconds",
			opts:  map[string]any{"pattern": `^(?P<ts>[\d.]+) (?P<msg>.*)`, "time_field": "ts", "time_format": "unix"},
			input: "1714557600.25 hello",
			want:  []string{"2024-05-01T10:00:00.25Z ts=1714557600.25 msg=hello"},
		},
		{
			name:  "group outside the matching branch is absent",
			opts:  map[string]any{"pattern": `^(?:id=(?P<id>\d+)|name=(?P<name>\w+))$`},
			input: "id=42\nname=bob",
			want:  []string{"0001-01-01T00:00:00Z id=42", "0001-01-01T00:00:00Z name=bob"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parsertest.CheckDecode(t, New, tt.opts, tt.input, tt.want)
		})
	}
}
