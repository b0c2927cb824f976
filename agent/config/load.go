package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/heraldhq/herald/internal/fileerr"
)

// Load reads the config file at path and returns it decoded, with ${VAR}
// expanded from the process environment and ${file:PATH} from files, defaults
// applied, relative paths resolved against the file's directory, and
// validated. LoadWith takes the other places secrets come from.
//
// On any problem with the file's content it returns nil and an errors.Join of
// one *Error per problem, each naming the file, line, column and key.
func Load(path string) (*Config, error) {
	return LoadWith(path, Options{})
}

// Options say where ${NAME} references find their values and what to do
// with a secret that cannot be found.
type Options struct {
	// Sources are searched in order for ${NAME}: the first that sets the
	// variable gives its value. Empty means the process environment alone.
	Sources []Source
	// Partial leaves a reference to a missing secret (an unset variable, an
	// unreadable ${file:}) unresolved instead of failing: the value it was
	// part of is recorded in Config.Unresolved, and Config.Require reports it
	// to a command that needs it. For commands that only read state.
	Partial bool
}

// Source is one place ${NAME} is looked up: the process environment, an env
// file, a service's registered environment.
type Source struct {
	// Name says where, for the message about a variable set nowhere.
	Name   string
	Lookup func(name string) (string, bool)
}

// EnvironmentSource is the process environment.
func EnvironmentSource() Source {
	return Source{Name: "the environment", Lookup: os.LookupEnv}
}

// LoadWith is Load with opts.
func LoadWith(path string, opts Options) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return ParseWith(path, data, opts)
}

// Parse is Load for a file already read: path names it in messages and anchors
// relative paths; env looks up environment variables (os.LookupEnv in Load).
func Parse(path string, data []byte, env func(string) (string, bool)) (*Config, error) {
	return ParseWith(path, data, Options{Sources: []Source{{Name: "the environment", Lookup: env}}})
}

// ParseWith is LoadWith for a file already read.
func ParseWith(path string, data []byte, opts Options) (*Config, error) {
	c, _, err := parse(path, data, opts)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// LoadPartial is Load for herald check, which reports every problem in one
// run: it does not stop at the config's own problems but returns the config
// as far as it could be decoded (defaults applied, paths resolved) along with
// them, so that what other packages check (plugins, parsers, rules) can still
// be checked on it. flagged reports whether a key path (sink[1].plugin), a
// key inside it or one around it already has a problem, so that a check of
// the partial config does not pile a second complaint onto a broken value.
//
// The config is nil only when the file cannot be read or is not TOML at all.
func LoadPartial(path string, opts Options) (cfg *Config, flagged func(key string) bool, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading config: %w", err)
	}
	c, d, err := parse(path, data, opts)
	if d == nil {
		return nil, nil, err
	}
	if err != nil {
		resolvePaths(c) // parse does it only for a config without problems
	}
	flagged = func(key string) bool {
		for b := range d.bad {
			if b == key || within(key, b) || within(b, key) {
				return true
			}
		}
		return false
	}
	return c, flagged, err
}

// parse decodes and validates data. With problems it returns them along with
// the config as far as it was decoded and the decoder that found them; the
// decoder is nil when data is not TOML.
func parse(path string, data []byte, opts Options) (*Config, *decoder, error) {
	sources := opts.Sources
	if len(sources) == 0 {
		sources = []Source{EnvironmentSource()}
	}
	names := make([]string, len(sources))
	for i, s := range sources {
		names[i] = s.Name
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, nil, fmt.Errorf("config %s: %w", path, err)
	}

	var tree map[string]any
	if _, err := toml.Decode(string(data), &tree); err != nil {
		return nil, nil, syntaxError(path, data, err)
	}

	d := &decoder{
		problems: &problems{file: path, pos: scanPositions(data), bad: map[string]bool{}},
		refs: refs{
			env: firstOf(sources),
			readFile: func(p string) ([]byte, error) {
				// Like every relative path in the config, relative to its
				// directory (a service starts in another).
				if !filepath.IsAbs(p) {
					p = filepath.Join(filepath.Dir(abs), p)
				}
				return os.ReadFile(p)
			},
			searched: strings.Join(names, ", "),
		},
		partial: opts.Partial,
		present: map[string]bool{},
		secret:  map[string]bool{},
	}
	c := &Config{}
	d.decode(nil, tree, reflect.ValueOf(c).Elem())
	c.Path = abs
	d.applyDefaults(c, os.Hostname)
	d.validate(c)
	if err := d.err(); err != nil {
		return c, d, err
	}
	resolvePaths(c)
	c.Unresolved = d.unresolved
	return c, d, nil
}

// firstOf looks a variable up in each source in turn.
func firstOf(sources []Source) func(string) (string, bool) {
	return func(name string) (string, bool) {
		for _, s := range sources {
			if v, ok := s.Lookup(name); ok {
				return v, true
			}
		}
		return "", false
	}
}

// syntaxError turns a toml.ParseError into an *Error. The library's message
// for it is used as is; its source snippet is left out, since the offending
// line may hold a secret.
//
// The library's line number is one short for a string cut by "\r\n" (0 on
// the first line); its byte offset is right, so where the two disagree on
// the line, the offset wins.
func syntaxError(file string, data []byte, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		line, col := pe.Position.Line, pe.Position.Col
		if l, c := fileerr.Position(string(data), pe.Position.Start); l != line {
			line, col = l, c
		}
		return errors.Join(&Error{File: file, Line: line, Col: col, Msg: pe.Message})
	}
	return errors.Join(&Error{File: file, Msg: err.Error()})
}
