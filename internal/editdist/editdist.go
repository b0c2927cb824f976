// Package editdist measures how far apart two names are, for the "did you
// mean" hints of herald.toml and rule-file errors.
//
// Distance is the measure. Closest is the policy for names compared without
// case (rule ids, expression names, severities, sink and plugin names); config
// keys, case-sensitive and short, keep a policy of their own in agent/config.
package editdist

import "strings"

// Distance is the Levenshtein distance between a and b: the fewest byte
// insertions, deletions and substitutions that turn a into b.
func Distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Closest returns the candidate that name, most likely a typo, was meant to
// be: the one fewest edits away, ignoring letter case, if at most a third of
// name is wrong (enough for typos, not so much that any short name "means"
// another). It returns "" when none is that close or name is a candidate.
func Closest(name string, candidates []string) string {
	best, bestD := "", max(1, len(name)/3)+1
	for _, c := range candidates {
		if c == name {
			return ""
		}
		if d := Distance(strings.ToLower(name), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}
