package logfmt

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
		{"declared fields", map[string]any{"fields": []any{"task", "ts"}, "time_field": "ts"}, "", []string{"time", "level", "msg", "message", "ts", "task"}},
		{"unknown option", map[string]any{"pattern": "x"}, `logfmt parser: unknown option "pattern"`, nil},
		{"duplicate field", map[string]any{"fields": []any{"a", "a"}}, `"a" is listed twice`, nil},
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
			name:  "slog text handler",
			input: `time=2024-05-01T10:00:00.123+02:00 level=ERROR msg="reload \"Sales\" failed" task=abc attempt=3` + "\r",
			want:  []string{`2024-05-01T10:00:00.123+02:00 time=2024-05-01T10:00:00.123+02:00 level=ERROR msg=reload "Sales" failed task=abc attempt=3`},
		},
		{
			name:  "bare keys, empty values, escapes, extra spaces",
			input: `  flag empty= quoted="" path="C:\\Qlik\\Log" nl="a\nb" unicode="caf\u00e9" url=http://x/?a=b  `,
			want:  []string{"0001-01-01T00:00:00Z flag= empty= quoted= path=C:\\Qlik\\Log nl=a\nb unicode=café url=http://x/?a=b"},
		},
		{
			name:  "time_field and layout",
			opts:  map[string]any{"time_field": "ts", "time_format": "2006-01-02 15:04:05"},
			input: `ts="2024-05-01 10:00:00" msg=x`,
			want:  []string{`2024-05-01T10:00:00Z ts=2024-05-01 10:00:00 msg=x`},
		},
		{
			name:  "bad input",
			input: "a=\"open\n=v\nk\"ey=v\na=b\"c\na=\"x\"y\nmsg=\"bad \\q\"\ntime=yesterday",
			want: []string{
				`error: parse in.log at byte 8: logfmt: value of "a" has no closing quote`,
				`error: parse in.log at byte 11: logfmt: '=' without a key at column 1`,
				`error: parse in.log at byte 18: logfmt: unexpected '"' in key at column 2`,
				`error: parse in.log at byte 24: logfmt: unexpected '"' in the value of "a" at column 4`,
				`error: parse in.log at byte 31: logfmt: text after the closing quote of "a" at column 6`,
				`error: parse in.log at byte 44: logfmt: value of "msg": bad escape`,
				`error: parse in.log at byte 59: field time: parsing time "yesterday" as "2006-01-02T15:04:05.999999999Z07:00": cannot parse "yesterday" as "2006"`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parsertest.CheckDecode(t, New, tt.opts, tt.input, tt.want)
		})
	}
}
