package fileerr

import "testing"

func TestFormat(t *testing.T) {
	tests := []struct {
		file      string
		line, col int
		key, msg  string
		want      string
	}{
		{"herald.toml", 12, 5, "sink[1].plugin", "unknown plugin", "herald.toml:12:5: sink[1].plugin: unknown plugin"},
		{"herald.toml", 12, 0, "agent.host", "empty", "herald.toml:12: agent.host: empty"},
		{"herald.toml", 0, 0, "sink", "no [[sink]]", "herald.toml: sink: no [[sink]]"},
		{"herald.toml", 0, 7, "", "bad", "herald.toml: bad"}, // a column without a line says nothing
		{"butler.yaml", 57, 0, "", "not a mapping", "butler.yaml:57: not a mapping"},
	}
	for _, tt := range tests {
		if got := Format(tt.file, tt.line, tt.col, tt.key, tt.msg); got != tt.want {
			t.Errorf("Format(%q, %d, %d, %q, %q) = %q, want %q", tt.file, tt.line, tt.col, tt.key, tt.msg, got, tt.want)
		}
	}
}
