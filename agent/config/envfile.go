package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// EnvFileName is the env file Herald reads beside the config when no
// --env-file is given.
const EnvFileName = "herald.env"

// DefaultEnvFile returns herald.env in the directory of the config file.
func DefaultEnvFile(configPath string) string {
	return filepath.Join(filepath.Dir(configPath), EnvFileName)
}

// EnvFile is a parsed herald.env: the variables ${NAME} may refer to, kept
// out of the config file and out of the process environment.
//
// We parse it ourselves rather than with a dotenv library: the well-kept ones
// (joho/godotenv, hashicorp/go-envparse) report a bad line without its number
// or quote the line, which holds a secret, and accept variable interpolation
// and multi-line values that would make the file mean something else under
// systemd. The format is the subset every dotenv reader agrees on.
type EnvFile struct {
	Path string
	vars map[string]string
}

// Lookup returns the value the file gives name.
func (f *EnvFile) Lookup(name string) (string, bool) {
	if f == nil {
		return "", false
	}
	v, ok := f.vars[name]
	return v, ok
}

// Len returns how many variables the file sets.
func (f *EnvFile) Len() int {
	if f == nil {
		return 0
	}
	return len(f.vars)
}

// ReadEnvFile reads the env file at path. A file that does not exist returns
// an error matching fs.ErrNotExist, so the caller can tell an absent default
// herald.env (fine) from a missing --env-file (a mistake).
//
// The format, one variable a line:
//
//	# a comment, and blank lines, are skipped
//	SIGNL4_TEAM_SECRET=abc123
//	export ROCKETCHAT_TOKEN="quoted value"   # export is tolerated
//	WEBHOOK_PASSWORD='single quotes: taken literally, $ and # included'
//
// An unquoted value runs to the end of the line, less surrounding blanks and
// a " #" comment. In double quotes, \" \\ \n \t and \$ are escapes. Problems
// are reported as *Error values with the file and line and the variable's
// name, never its value.
func ReadEnvFile(path string) (*EnvFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseEnvFile(path, data)
}

// ParseEnvFile is ReadEnvFile for content already read; path names it in
// messages.
func ParseEnvFile(path string, data []byte) (*EnvFile, error) {
	f := &EnvFile{Path: path, vars: map[string]string{}}
	seen := map[string]int{}
	var errs []error
	text := strings.TrimPrefix(string(data), "\uFEFF") // Notepad writes a BOM
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || line[0] == '#' {
			continue
		}
		fail := func(name, format string, args ...any) {
			key := ""
			if validVarName(name) {
				key = name
			}
			errs = append(errs, &Error{File: path, Line: n, Key: key, Msg: fmt.Sprintf(format, args...)})
		}
		if rest, ok := strings.CutPrefix(line, "export"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
			line = strings.TrimSpace(rest)
		}
		name, raw, ok := strings.Cut(line, "=")
		name = strings.TrimSpace(name)
		if !ok {
			fail(name, "not a NAME=value line")
			continue
		}
		if !validVarName(name) {
			fail("", "invalid variable name: a name matches [A-Za-z_][A-Za-z0-9_]*")
			continue
		}
		v, err := envValue(strings.TrimSpace(raw))
		if err != nil {
			fail(name, "%v", err)
			continue
		}
		if prev, dup := seen[name]; dup {
			fail(name, "set again (first set on line %d)", prev)
			continue
		}
		seen[name] = n
		f.vars[name] = v
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return f, nil
}

// envValue decodes the value part of a NAME=value line. Errors never quote it.
func envValue(raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	switch q := raw[0]; q {
	case '\'', '"':
		var b strings.Builder
		for i := 1; i < len(raw); i++ {
			c := raw[i]
			switch {
			case c == q:
				rest := strings.TrimSpace(raw[i+1:])
				if rest != "" && rest[0] != '#' {
					return "", errors.New("text after the closing quote (put a comment after \" #\")")
				}
				return b.String(), nil
			case c == '\\' && q == '"' && i+1 < len(raw):
				i++
				switch e := raw[i]; e {
				case 'n':
					b.WriteByte('\n')
				case 't':
					b.WriteByte('\t')
				case '"', '\\', '$':
					b.WriteByte(e)
				default:
					return "", fmt.Errorf("unknown escape \\%c in double quotes (write \\\\ for a backslash, or use single quotes)", e)
				}
			default:
				b.WriteByte(c)
			}
		}
		return "", fmt.Errorf("no closing %c quote (a value is one line)", q)
	}
	// Unquoted: a comment starts at a # after a blank.
	if i := strings.Index(raw, " #"); i >= 0 {
		raw = raw[:i]
	}
	if i := strings.Index(raw, "\t#"); i >= 0 {
		raw = raw[:i]
	}
	raw = strings.TrimSpace(raw)
	if strings.ContainsAny(raw, `"'`) {
		return "", errors.New("a quote inside an unquoted value (quote the whole value)")
	}
	return raw, nil
}
