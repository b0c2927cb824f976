package fileerr

import "testing"

func TestPosition(t *testing.T) {
	tests := []struct {
		text      string
		offset    int
		line, col int
	}{
		{"", 0, 1, 1},
		{"abc", 2, 1, 3},
		{"a\nbc", 2, 2, 1},
		{"a\r\nbc\n", 5, 2, 3},
		{"é\nüx", 5, 2, 2}, // columns count characters
		{"ab", 99, 1, 3},
		{"ab", -1, 1, 1},
	}
	for _, tt := range tests {
		if line, col := Position(tt.text, tt.offset); line != tt.line || col != tt.col {
			t.Errorf("Position(%q, %d) = %d:%d, want %d:%d", tt.text, tt.offset, line, col, tt.line, tt.col)
		}
	}
}
