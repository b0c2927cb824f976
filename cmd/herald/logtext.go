package main

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// bareBackslashes is the writer under the agent's text log. slog's
// TextHandler quotes every value holding a backslash and doubles the
// backslashes, so a Windows path reads C:\\ProgramData\\Herald where the admin
// typed C:\ProgramData\Herald. This writer takes each line the handler writes
// (one Write per record) and writes such a value bare instead. A bare value
// ends at the next space and a backslash in it means itself, which is how
// logfmt readers take it, so the line stays unambiguous. A value that needs
// quotes for another reason (a space, as in C:\Program Files\Herald, an =, a
// quote, a control character) keeps them and its Go escapes: a reader
// unquotes it back to the exact path.
type bareBackslashes struct{ w io.Writer }

func (b bareBackslashes) Write(p []byte) (int, error) {
	if bytes.IndexByte(p, '\\') < 0 {
		return b.w.Write(p)
	}
	if _, err := b.w.Write(unquoteBackslashValues(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// unquoteBackslashValues rewrites one logfmt line: every quoted value (a
// quoted string right after '=') that was quoted only for its backslashes
// is written bare. Keys and other text are kept byte for byte; a line it
// cannot follow is returned as it is.
func unquoteBackslashValues(line []byte) []byte {
	out := make([]byte, 0, len(line))
	for i := 0; i < len(line); {
		if line[i] != '"' {
			out = append(out, line[i])
			i++
			continue
		}
		end := i + 1
		for end < len(line) && line[end] != '"' {
			if line[end] == '\\' {
				end++
			}
			end++
		}
		if end >= len(line) {
			return line
		}
		quoted := line[i : end+1]
		i = end + 1
		if start := len(out); start > 0 && out[start-1] == '=' {
			if v, err := strconv.Unquote(string(quoted)); err == nil && strings.Contains(v, `\`) && !needsQuotes(v) {
				out = append(out, v...)
				continue
			}
		}
		out = append(out, quoted...)
	}
	return out
}

// needsQuotes is slog's rule for a text value, less the backslash: empty, or
// holding a space, '=', '"', or a character that is not printable.
func needsQuotes(s string) bool {
	if s == "" {
		return true
	}
	for _, r := range s {
		if r == ' ' || r == '=' || r == '"' || r == utf8.RuneError || !unicode.IsPrint(r) {
			return true
		}
	}
	return false
}
