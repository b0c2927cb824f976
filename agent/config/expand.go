package config

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"unicode/utf8"
)

// refs resolves the references a config value may hold: ${NAME}, a variable
// looked up with env, and ${file:PATH}, the content of a file read with
// readFile (with one trailing newline trimmed, as editors and `echo` add it).
type refs struct {
	env      func(string) (string, bool)
	readFile func(string) ([]byte, error)
	// searched names the places env looks, for the message about a
	// variable set nowhere.
	searched string
}

// refProblem is one reference expand could not resolve. unresolved tells a
// reference to a secret that is missing (an unset variable, an unreadable
// file) from a malformed one: only the first may be left for later by a
// command that does not use the value.
type refProblem struct {
	msg        string
	unresolved bool
}

// filePrefix starts a ${file:PATH} reference.
const filePrefix = "file:"

// expand replaces every ${NAME} in s with the value of the variable NAME,
// every ${file:PATH} with the content of the file PATH, and every $$ with a
// single $ (so $${X} is the literal text ${X}). NAME must match
// [A-Za-z_][A-Za-z0-9_]*. A $ followed by anything else is kept as it is. A
// variable that is set to the empty string expands to the empty string.
//
// It returns the expanded string, whether any reference was substituted (the
// result may then hold a secret and must not be shown), and a problem for each
// reference that could not be resolved: an unset variable, a file that cannot
// be read, an unterminated ${ or an invalid name. Messages name the variable
// or the file but never contain a value or, for a malformed reference, the
// text of the config value itself, which may be a literal secret.
func expand(s string, r refs) (out string, substituted bool, problems []refProblem) {
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
				problems = append(problems, refProblem{msg: fmt.Sprintf(
					"unterminated ${ at character %d of the value (write $${ for a literal ${)", utf8.RuneCountInString(s[:i])+1)})
				b.WriteString(s[i:])
				return b.String(), substituted, problems
			}
			name := s[i+2 : i+2+end]
			if path, ok := strings.CutPrefix(name, filePrefix); ok {
				v, p := readSecretFile(path, r.readFile)
				if p != nil {
					problems = append(problems, *p)
				} else {
					b.WriteString(v)
					substituted = true
				}
			} else if !validVarName(name) {
				problems = append(problems, refProblem{msg: fmt.Sprintf(
					"invalid variable reference at character %d of the value: a name matches [A-Za-z_][A-Za-z0-9_]*, or file:PATH for a file's content (write $${ for a literal ${)", utf8.RuneCountInString(s[:i])+1)})
				b.WriteString(s[i : i+3+end])
			} else if v, ok := r.env(name); ok {
				b.WriteString(v)
				substituted = true
			} else {
				problems = append(problems, refProblem{msg: unsetMessage(name, r.searched), unresolved: true})
			}
			i += 2 + end
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), substituted, problems
}

// readSecretFile returns the content of the file at path, less one trailing
// newline (\n or \r\n). The error names the path but never the content.
func readSecretFile(path string, readFile func(string) ([]byte, error)) (string, *refProblem) {
	if path == "" {
		return "", &refProblem{msg: "${file:} names no file: write ${file:PATH}"}
	}
	data, err := readFile(path)
	if err != nil {
		// The path read (a relative one made absolute) is named.
		name, why := path, "cannot be read: "+err.Error()
		var pe *fs.PathError
		if errors.As(err, &pe) {
			name, why = pe.Path, "cannot be read: "+pe.Err.Error()
		}
		if errors.Is(err, fs.ErrNotExist) {
			why = "does not exist"
		}
		return "", &refProblem{msg: fmt.Sprintf("secret file %s %s", name, why), unresolved: true}
	}
	s := string(data)
	if t, ok := strings.CutSuffix(s, "\n"); ok {
		s = strings.TrimSuffix(t, "\r")
	}
	return s, nil
}

func unsetMessage(name, searched string) string {
	if searched == "" || searched == "the environment" {
		return fmt.Sprintf("environment variable %s is not set", name)
	}
	return fmt.Sprintf("environment variable %s is not set (looked in %s)", name, searched)
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
