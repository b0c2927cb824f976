package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"

	"github.com/BurntSushi/toml"

	"github.com/heraldhq/herald/internal/fileerr"
)

// Load reads the config file at path and returns it decoded, with ${VAR}
// expanded from the environment, defaults applied, relative paths resolved
// against the file's directory, and validated.
//
// On any problem with the file's content it returns nil and an errors.Join of
// one *Error per problem, each naming the file, line, column and key.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return Parse(path, data, os.LookupEnv)
}

// Parse is Load for a file already read: path names it in messages and anchors
// relative paths; env looks up environment variables (os.LookupEnv in Load).
func Parse(path string, data []byte, env func(string) (string, bool)) (*Config, error) {
	c, _, err := parse(path, data, env)
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
func LoadPartial(path string) (cfg *Config, flagged func(key string) bool, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading config: %w", err)
	}
	c, d, err := parse(path, data, os.LookupEnv)
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
func parse(path string, data []byte, env func(string) (string, bool)) (*Config, *decoder, error) {
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
		env:      env,
		present:  map[string]bool{},
		secret:   map[string]bool{},
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
	return c, d, nil
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
