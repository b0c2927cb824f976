package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fuzzSecret marks every value the fuzz environment hands out.
const fuzzSecret = "s3cr3t"

// fuzzEnv sets the variables whose names start with S or T (to a value that
// is a secret and, for T, not even valid where a duration or address goes)
// and leaves the others unset.
func fuzzEnv(name string) (string, bool) {
	switch {
	case strings.HasPrefix(name, "S"):
		return fuzzSecret + "-" + name, true
	case strings.HasPrefix(name, "T"):
		return "${" + fuzzSecret + "} :\"\n", true
	}
	return "", false
}

// FuzzParse decodes fuzzed herald.toml files. Parse is deterministic and
// either returns a config or an errors.Join of *Error values only, each
// naming the file, with a line inside the file (a syntax error always has
// one; 0 only for a problem with no single place, which then has a key and no
// column), in file order; no message ever contains the value of an
// environment variable. Load of the same bytes in a file agrees with Parse.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"testdata/valid", "testdata/errors"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.toml"))
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte("[[input]]\nname = \"s\"\npaths = [\"${SECRET}\"]\npoll_interval = \"${TOKEN}\"\n[[sink]]\nname = \"c\"\nplugin = \"console\"\n[server]\nlisten = \"${SLISTEN}\"\n"))
	f.Add([]byte("\ufeff[agent]\r\nhost = '${S}'\r\n[[input]]\r\nname=\"h\"\r\ntype=\"http\"\r\ntoken=\"${T}\"\r\n"))

	const path = "herald.toml"
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(path, data, fuzzEnv)
		c2, err2 := Parse(path, data, fuzzEnv)
		if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) || !reflect.DeepEqual(c, c2) {
			t.Fatalf("Parse twice differs: %v / %v", err, err2)
		}
		if err == nil {
			if c == nil || !filepath.IsAbs(c.Path) || len(c.Inputs) == 0 || len(c.Sinks) == 0 {
				t.Fatalf("Parse succeeded with %+v", c)
			}
		} else {
			checkErrors(t, path, data, err)
		}

		// Load reads the same bytes from a file; only the environment differs.
		file := filepath.Join(t.TempDir(), path)
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
		lc, lerr := Load(file)
		pc, perr := Parse(file, data, os.LookupEnv)
		if (lerr == nil) != (perr == nil) || (lerr != nil && lerr.Error() != perr.Error()) || !reflect.DeepEqual(lc, pc) {
			t.Fatalf("Load %v, Parse of the same bytes %v", lerr, perr)
		}
	})
}

func checkErrors(t *testing.T, path string, data []byte, err error) {
	t.Helper()
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("error %v (%T) is not an errors.Join", err, err)
	}
	lines := bytes.Count(data, []byte("\n")) + 1
	prev := 0
	for _, e := range joined.Unwrap() {
		var ce *Error
		if !errors.As(e, &ce) || e != error(ce) {
			t.Fatalf("error %v (%T) is not a *config.Error", e, e)
		}
		switch {
		case ce.File != path:
			t.Fatalf("error %q names file %q, want %q", ce, ce.File, path)
		case ce.Line < 0 || ce.Line > lines || ce.Col < 0:
			t.Fatalf("error %q at line %d col %d, outside the file's %d lines", ce, ce.Line, ce.Col, lines)
		case ce.Line == 0 && (ce.Key == "" || ce.Col != 0):
			t.Fatalf("error %q has no line, yet key %q col %d", ce, ce.Key, ce.Col)
		case ce.Line < prev:
			t.Fatalf("error %q at line %d after one at line %d", ce, ce.Line, prev)
		case ce.Msg == "":
			t.Fatalf("error %q has no message", ce)
		}
		prev = ce.Line
		if strings.Contains(ce.Error(), fuzzSecret) && !bytes.Contains(data, []byte(fuzzSecret)) {
			t.Fatalf("error %q shows the value of an environment variable", ce)
		}
	}
}
