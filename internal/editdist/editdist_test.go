package editdist

import "testing"

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "abc", 3},
		{"abc", "", 3},
		{"paths", "paths", 0},
		{"pathz", "paths", 1},       // substitution
		{"pats", "paths", 1},        // insertion
		{"pathss", "paths", 1},      // deletion
		{"kitten", "sitting", 3},    // the textbook case
		{"Name", "name", 1},         // bytes compare with case
		{"severity", "severtiy", 2}, // a transposition is two edits
		{"café", "cafe", 2},         // é is two bytes
	}
	for _, tt := range tests {
		if got := Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := Distance(tt.b, tt.a); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d (symmetry)", tt.b, tt.a, got, tt.want)
		}
	}
}
