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

func TestClosest(t *testing.T) {
	names := []string{"alertmanager", "console", "rocketchat", "signl4", "webhook"}
	tests := []struct{ name, want string }{
		{"consle", "console"},
		{"Console", "console"}, // case does not count
		{"signal4", "signl4"},
		{"console", ""}, // a candidate means itself
		{"pagerduty", ""},
		{"wh", ""}, // too short to mean anything
	}
	for _, tt := range tests {
		if got := Closest(tt.name, names); got != tt.want {
			t.Errorf("Closest(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}
