package config

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// expand replaces every ${NAME} in s with the value of the environment
// variable NAME, found with lookup, and every $$ with a single $ (so $${X} is
// the literal text ${X}). NAME must match [A-Za-z_][A-Za-z0-9_]*. A $ followed
// by anything else is kept as it is. A variable that is set to the empty string
// expands to the empty string.
//
// It returns the expanded string, whether any variable was substituted (the
// result may then hold a secret and must not be shown), and a message for each
// problem: an unset variable, an unterminated ${ or an invalid name. Messages
// name the variable but never contain its value or, for a malformed reference,
// the text of the config value itself, which may be a literal secret.
func expand(s string, lookup func(string) (string, bool)) (out string, substituted bool, problems []string) {
	if !strings.Contains(s, "$") {
		return s, false, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				problems = append(problems, fmt.Sprintf(
					"unterminated ${ at character %d of the value (write $${ for a literal ${)", utf8.RuneCountInString(s[:i])+1))
				b.WriteString(s[i:])
				return b.String(), substituted, problems
			}
			name := s[i+2 : i+2+end]
			if !validVarName(name) {
				problems = append(problems, fmt.Sprintf(
					"invalid variable reference at character %d of the value: a name matches [A-Za-z_][A-Za-z0-9_]* (write $${ for a literal ${)", utf8.RuneCountInString(s[:i])+1))
				b.WriteString(s[i : i+3+end])
			} else if v, ok := lookup(name); ok {
				b.WriteString(v)
				substituted = true
			} else {
				problems = append(problems, fmt.Sprintf("environment variable %s is not set", name))
			}
			i += 2 + end
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), substituted, problems
}

func validVarName(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
