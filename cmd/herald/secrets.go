package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"

	"github.com/heraldhq/herald/agent/config"
)

// envFileFlag is the global --env-file: the env file every command reads
// ${NAME} secrets from, instead of herald.env beside the config. Global like
// the process it configures.
var envFileFlag string

// secretNeed says whether a command uses the config's secrets.
type secretNeed int

const (
	// allSecrets: every ${NAME} and ${file:} must resolve (run, check,
	// service install).
	allSecrets secretNeed = iota
	// stateOnly: the command reads state; a missing secret is left for
	// Config.Require by the code that would use it.
	stateOnly
)

// secretSources are the places a config's ${NAME} references are looked up,
// in precedence order, and the env file in use ("" when none).
type secretSources struct {
	sources []config.Source
	envFile string
	// warnings are things to fix that do not stop the command: an env file
	// others can read.
	warnings []string
}

// findSecretSources returns, for the config at cfgPath: the process
// environment first, then the env file (--env-file, or herald.env beside the
// config when it exists), then the environment registered for the installed
// Windows service. A --env-file that cannot be read or parsed is an error; so
// is a herald.env that exists and cannot be parsed.
func findSecretSources(cfgPath string) (*secretSources, error) {
	s := &secretSources{sources: []config.Source{config.EnvironmentSource()}}
	path, explicit := envFileFlag, envFileFlag != ""
	if !explicit {
		path = config.DefaultEnvFile(cfgPath)
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	f, err := config.ReadEnvFile(path)
	switch {
	case err == nil:
		s.envFile = path
		s.sources = append(s.sources, config.Source{Name: path, Lookup: f.Lookup})
		if w := envFilePermissionWarning(path); w != "" {
			s.warnings = append(s.warnings, w)
		}
	case errors.Is(err, fs.ErrNotExist) && !explicit:
		// No herald.env: the secrets are elsewhere, or there are none.
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("--env-file %s does not exist", path)
	default:
		var ce *config.Error
		if errors.As(err, &ce) {
			return nil, err
		}
		return nil, fmt.Errorf("env file: %w", err)
	}
	svc, err := serviceEnvironment()
	if err != nil {
		s.warnings = append(s.warnings, err.Error())
	} else if svc != nil {
		s.sources = append(s.sources, *svc)
	}
	return s, nil
}

// loadConfig loads the config at path with its secrets from every source;
// warnings about them go to warn (nil: not shown). A failure is the
// config's errors.Join of *config.Error, for listProblems, or another error
// naming the file; either is the user's to fix (wrap it in usageError).
func loadConfig(path string, need secretNeed, warn io.Writer) (*config.Config, *secretSources, error) {
	src, err := findSecretSources(path)
	if err != nil {
		return nil, nil, err
	}
	if warn != nil {
		for _, w := range src.warnings {
			fmt.Fprintln(warn, "herald: warning:", w)
		}
	}
	cfg, err := config.LoadWith(path, config.Options{Sources: src.sources, Partial: need == stateOnly})
	if err != nil {
		return nil, nil, err
	}
	return cfg, src, nil
}
