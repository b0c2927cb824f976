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
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}

	var tree map[string]any
	if _, err := toml.Decode(string(data), &tree); err != nil {
		return nil, syntaxError(path, data, err)
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
		return nil, err
	}
	resolvePaths(c)
	return c, nil
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
