package jsonparser

import (
	"testing"

	"github.com/heraldhq/herald/parsers/internal/parsertest"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name       string
		opts       map[string]any
		wantErr    string
		wantFields []string
	}{
		{"defaults", nil, "", []string{"time", "level", "msg", "message"}},
		{"declared fields", map[string]any{"fields": []any{"task_id", "msg"}}, "", []string{"time", "level", "msg", "message", "task_id"}},
		{"own time field", map[string]any{"time_field": "ts"}, "", []string{"time", "level", "msg", "message", "ts"}},
		{"unknown option", map[string]any{"field": []any{"x"}}, `json parser: unknown option "field" (known: fields, time_field, time_format)`, nil},
		{"fields not a list", map[string]any{"fields": "x"}, `option "fields": got string, want a list of strings`, nil},
		{"bad time_format", map[string]any{"time_format": "dd.MM.yyyy"}, `time_format "dd.MM.yyyy"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if p := parsertest.New(t, New, tt.opts, tt.wantErr); p != nil {
				parsertest.CheckFields(t, p, tt.wantFields, false)
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
			name:  "slog line",
			input: `{"time":"2024-05-01T10:00:00.123+02:00","level":"ERROR","msg":"reload \"Sales\" failed","task_id":"abc","attempt":3,"final":true,"err":null}` + "\r",
			want:  []string{`2024-05-01T10:00:00.123+02:00 time=2024-05-01T10:00:00.123+02:00 level=ERROR msg=reload "Sales" failed task_id=abc attempt=3 final=true err=`},
		},
		{
			name:  "nested values are compact JSON, numbers keep their text",
			input: `{ "n": 1.50e3, "obj": { "a": [1, 2] }, "arr": [ "x", {"y": null} ] }`,
			want:  []string{`0001-01-01T00:00:00Z n=1.50e3 obj={"a":[1,2]} arr=["x",{"y":null}]`},
		},
		{
			name:  "missing time is the zero time; blank lines skipped",
			input: "\n" + `{"msg":"no time"}`,
			want:  []string{`0001-01-01T00:00:00Z msg=no time`},
		},
		{
			name:  "time_field and layout",
			opts:  map[string]any{"time_field": "@ts", "time_format": "2006-01-02 15:04:05"},
			input: `{"@ts":"2024-05-01 10:00:00","msg":"x"}`,
			want:  []string{`2024-05-01T10:00:00Z @ts=2024-05-01 10:00:00 msg=x`},
		},
		{
			name:  "epoch milliseconds as a number",
			opts:  map[string]any{"time_format": "unix_ms"},
			input: `{"time":1714557600250}`,
			want:  []string{`2024-05-01T10:00:00.25Z time=1714557600250`},
		},
		{
			name:  "bad input",
			input: "{\"a\":1\n[1,2]\n{\"a\":1}{\"b\":2}\nnot json\n{\"time\":\"yesterday\"}\n{\"a\":\"\\ud800\"}",
			want: []string{
				"error: parse in.log at byte 7: bad JSON: the line ends inside the object",
				"error: parse in.log at byte 13: line is JSON but not an object",
				"error: parse in.log at byte 28: bad JSON: text after the object",
				"error: parse in.log at byte 37: bad JSON: invalid character 'o' in literal null (expecting 'u')",
				`error: parse in.log at byte 58: field time: parsing time "yesterday" as "2006-01-02T15:04:05.999999999Z07:00": cannot parse "yesterday" as "2006"`,
				"0001-01-01T00:00:00Z a=\uFFFD",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parsertest.CheckDecode(t, New, tt.opts, tt.input, tt.want)
		})
	}
}
