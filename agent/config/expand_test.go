package config

import (
	"os"
	"slices"
	"testing"
)

func TestExpand(t *testing.T) {
	env := envOf(map[string]string{
		"TEAM":   "bi",
		"EMPTY":  "",
		"_X1":    "x1",
		"DOLLAR": "$${TEAM}", // a value is inserted as is, never expanded again
	})
	tests := []struct {
		in, want    string
		substituted bool
		problems    []string
	}{
		{in: "plain", want: "plain"},
		{in: "", want: ""},
		{in: "${TEAM}", want: "bi", substituted: true},
		{in: "a-${TEAM}-${_X1}-z", want: "a-bi-x1-z", substituted: true},
		{in: "${EMPTY}", want: "", substituted: true},
		{in: "${DOLLAR}", want: "$${TEAM}", substituted: true},
		{in: "$${TEAM}", want: "${TEAM}"},
		{in: "$$", want: "$"},
		{in: "$$$${TEAM}", want: "$${TEAM}"},
		{in: "$$${TEAM}", want: "$bi", substituted: true},
		{in: "cost: $5, $HOME, $", want: "cost: $5, $HOME, $"},
		{in: "${UNSET}", want: "",
			problems: []string{"environment variable UNSET is not set"}},
		{in: "${UNSET}/${TEAM}/${ALSO_UNSET}", want: "/bi/", substituted: true,
			problems: []string{"environment variable UNSET is not set", "environment variable ALSO_UNSET is not set"}},
		{in: "ab${TEAM", want: "ab${TEAM",
			problems: []string{"unterminated ${ at character 3 of the value (write $${ for a literal ${)"}},
		{in: "é${1X}", want: "é${1X}",
			problems: []string{"invalid variable reference at character 2 of the value: a name matches [A-Za-z_][A-Za-z0-9_]*, or file:PATH for a file's content (write $${ for a literal ${)"}},
		{in: "${}", want: "${}",
			problems: []string{"invalid variable reference at character 1 of the value: a name matches [A-Za-z_][A-Za-z0-9_]*, or file:PATH for a file's content (write $${ for a literal ${)"}},
		{in: "${A B}", want: "${A B}",
			problems: []string{"invalid variable reference at character 1 of the value: a name matches [A-Za-z_][A-Za-z0-9_]*, or file:PATH for a file's content (write $${ for a literal ${)"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, substituted, found := expand(tt.in, refs{env: env, readFile: os.ReadFile})
			var problems []string
			for _, p := range found {
				problems = append(problems, p.msg)
			}
			if got != tt.want || substituted != tt.substituted || !slices.Equal(problems, tt.problems) {
				t.Errorf("expand(%q) = %q, %v, %q; want %q, %v, %q",
					tt.in, got, substituted, problems, tt.want, tt.substituted, tt.problems)
			}
		})
	}
}
