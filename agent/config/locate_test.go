package config

import "testing"

func TestLocate(t *testing.T) {
	src := []byte("[agent]\nhost = \"x\"\n\n[[input]]\nname = \"a\"\n\n[[input]]\nname = \"b\"\npaths = [\n  \"one\",\n  'two',\n]\n")
	for _, tc := range []struct {
		key       string
		line, col int
	}{
		{"input[1].paths[1]", 11, 3},
		{"input[1].paths[0]", 10, 3},
		{"input[1].paths", 9, 1},
		{"input[1].paths[7]", 9, 1}, // no such element: its array
		{"input[0].paths[0]", 4, 1}, // no paths: its table
		{"agent.host", 2, 1},
		{"nothing", 0, 0},
	} {
		if line, col := Locate(src, tc.key); line != tc.line || col != tc.col {
			t.Errorf("Locate(%s) = %d:%d, want %d:%d", tc.key, line, col, tc.line, tc.col)
		}
	}
}
