//go:build !windows

package main

import (
	"fmt"
	"os"

	"github.com/heraldhq/herald/agent/config"
)

// envFilePermissionWarning warns when the env file at path can be read by
// anyone but its owner: it holds the secrets the config keeps out of itself.
func envFilePermissionWarning(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Sprintf("env file %s holds secrets and can be read by its group or others (mode %04o): chmod 600 %s", path, perm, path)
	}
	return ""
}

// serviceEnvironment has nothing to add outside Windows: systemd hands the
// unit's environment to the process, which is the first source already.
func serviceEnvironment() (*config.Source, error) { return nil, nil }
