package options

import (
	"strings"
	"testing"
)

type testOptions struct {
	Pattern string   `json:"pattern"`
	Fields  []string `json:"fields"`
	Strict  bool     `json:"strict,omitempty"`
	Ignored string   `json:"-"`
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		opts    map[string]any
		wantErr string
		want    testOptions
	}{
		{name: "nil", opts: nil},
		{name: "values", opts: map[string]any{"pattern": "x", "fields": []any{"a", "b"}, "strict": true},
			want: testOptions{Pattern: "x", Fields: []string{"a", "b"}, Strict: true}},
		{name: "one unknown", opts: map[string]any{"patern": "x"},
			wantErr: `p parser: unknown option "patern" (known: pattern, fields, strict)`},
		{name: "several unknown", opts: map[string]any{"b": 1, "a": 2, "pattern": "x"},
			wantErr: `p parser: unknown options "a", "b"`},
		{name: "json-only name is not an option", opts: map[string]any{"Ignored": "x"}, wantErr: `unknown option "Ignored"`},
		{name: "wrong type", opts: map[string]any{"strict": "yes"}, wantErr: `p parser: option "strict": got string, want a boolean`},
		{name: "wrong element", opts: map[string]any{"fields": []any{"a", int64(1)}}, wantErr: `p parser: option "fields": got number, want a string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got testOptions
			err := Decode("p", tt.opts, &got)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Pattern != tt.want.Pattern || strings.Join(got.Fields, ",") != strings.Join(tt.want.Fields, ",") || got.Strict != tt.want.Strict {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestIsIdentifier(t *testing.T) {
	for s, want := range map[string]bool{"a": true, "_a1": true, "Société": true, "": false, "1a": false, "a-b": false, "a b": false, "Sequence#": false} {
		if got := IsIdentifier(s); got != want {
			t.Errorf("IsIdentifier(%q) = %v", s, got)
		}
	}
}
