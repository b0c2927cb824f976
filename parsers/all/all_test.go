package all

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/heraldhq/herald/parsers"
)

func TestNames(t *testing.T) {
	want := []string{"json", "line", "logfmt", "qlik", "regex"}
	if got := Names(); !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		opts    map[string]any
		wantErr string
	}{
		{"qlik", nil, ""},
		{"json", map[string]any{"fields": []any{"task"}}, ""},
		{"logfmt", nil, ""},
		{"regex", map[string]any{"pattern": `(?P<msg>.*)`}, ""},
		{"line", nil, ""},
		{"regex", nil, `option "pattern" is required`},
		{"qlik", map[string]any{"colour": "red"}, `qlik parser: unknown option "colour"`},
		{"csv", nil, `unknown parser "csv" (known: json, line, logfmt, qlik, regex)`},
	}
	for _, tt := range tests {
		p, err := New(tt.name, tt.opts)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New(%q, %v) error = %v, want one containing %q", tt.name, tt.opts, err, tt.wantErr)
			}
			continue
		}
		if err != nil || p == nil {
			t.Errorf("New(%q, %v) = %v, %v", tt.name, tt.opts, p, err)
		}
	}
	if _, err := New("csv", nil); !errors.Is(err, parsers.ErrUnknownParser) {
		t.Errorf("unknown parser error %v does not wrap ErrUnknownParser", err)
	}
}

// Every parser directory is known to New, so adding one without registering
// it fails here.
func TestEveryParserIsRegistered(t *testing.T) {
	entries, err := os.ReadDir("..")
	if err != nil {
		t.Fatal(err)
	}
	dirName := map[string]string{"jsonparser": "json"}
	for _, e := range entries {
		if !e.IsDir() || e.Name() == "all" || e.Name() == "internal" {
			continue
		}
		name := e.Name()
		if n, ok := dirName[name]; ok {
			name = n
		}
		if !slices.Contains(Names(), name) {
			t.Errorf("parsers/%s is not registered in parsers/all", e.Name())
		}
	}
}
