package rules

import (
	"strings"
	"unicode/utf8"
)

// valuePosition returns the 1-based line and column (in characters, a tab
// being one) in a rule file of the character at rune offset off of a string
// value, as the TOML decoder handed it over (val), that is written after the
// key on line keyLine. lines are the file's lines, split at "\n".
//
// Expr reports a compile error as an offset into the expression string; a
// user needs the place in the file. The two differ by the key's line, the
// column of the opening quote, a newline trimmed after ”' or """, escapes
// in basic strings (\" is two characters in the file, one in the value) and
// line-ending backslashes. ok is false when the value is not written there
// as a string (an inline table, a key on another line): callers then keep
// the key's line.
func valuePosition(lines []string, keyLine int, val string, off int) (line, col int, ok bool) {
	if keyLine < 1 || keyLine > len(lines) || off < 0 {
		return 0, 0, false
	}
	text := strings.Join(lines[keyLine-1:], "\n")
	i := valueStart(text)
	if i < 0 {
		return 0, 0, false
	}
	var delim string
	for _, d := range []string{`"""`, `'''`, `"`, `'`} {
		if strings.HasPrefix(text[i:], d) {
			delim = d
			break
		}
	}
	if delim == "" {
		return 0, 0, false
	}
	i += len(delim)
	multi, basic := len(delim) == 3, delim[0] == '"'
	if multi { // a newline right after the opening delimiter is not part of the value
		if strings.HasPrefix(text[i:], "\r\n") {
			i += 2
		} else if strings.HasPrefix(text[i:], "\n") {
			i++
		}
	}

	n := 0 // runes of val consumed
	for j := 0; ; {
		if basic && multi && text[i:] != "" && text[i] == '\\' {
			if k := lineEndingBackslash(text[i:]); k > 0 {
				i += k
				continue
			}
		}
		if n == off {
			break
		}
		if j >= len(val) || i >= len(text) {
			return 0, 0, false
		}
		_, vsize := utf8.DecodeRuneInString(val[j:])
		switch {
		case basic && text[i] == '\\':
			i += escapeLen(text[i:])
		default:
			_, size := utf8.DecodeRuneInString(text[i:])
			i += size
		}
		j += vsize
		n++
	}
	before := text[:i]
	line = keyLine + strings.Count(before, "\n")
	col = utf8.RuneCountInString(before[strings.LastIndexByte(before, '\n')+1:]) + 1
	return line, col, true
}

// valueStart returns the byte offset of the first character of the value on
// a "key = value" line, or -1 when the line has no "=".
func valueStart(text string) int {
	first, _, _ := strings.Cut(text, "\n")
	eq := strings.IndexByte(first, '=')
	if eq < 0 {
		return -1
	}
	i := eq + 1
	for i < len(text) && (text[i] == ' ' || text[i] == '\t') {
		i++
	}
	return i
}

// lineEndingBackslash returns the length of a line-ending backslash at the
// start of s (a backslash, then only whitespace up to and past a newline, up to
// the next character that is not whitespace), or 0 when s does not start with one.
func lineEndingBackslash(s string) int {
	j := 1
	for j < len(s) && strings.IndexByte(" \t\r\n", s[j]) >= 0 {
		j++
	}
	if !strings.Contains(s[1:j], "\n") {
		return 0
	}
	return j
}

// escapeLen returns how many bytes of the file the escape sequence at the
// start of s takes: \uXXXX is six, \UXXXXXXXX ten, \xXX four, any other two.
func escapeLen(s string) int {
	if len(s) < 2 {
		return len(s)
	}
	n := 2
	switch s[1] {
	case 'u':
		n = 6
	case 'U':
		n = 10
	case 'x':
		n = 4
	}
	return min(n, len(s))
}
