//go:build windows

package main

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/windows/registry"

	"github.com/heraldhq/herald/agent/config"
)

// serviceKey is where the service manager keeps the installed service.
const serviceKey = `SYSTEM\CurrentControlSet\Services\` + serviceName

// serviceEnvironment returns the environment registered for the installed
// service (the Environment REG_MULTI_SZ value of its registry key, NAME=value
// strings the service manager hands the service), so that herald check and
// herald service install, run from an administrator's prompt, see the
// secrets the service will see. nil when the service is not installed or has
// no environment.
func serviceEnvironment() (*config.Source, error) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, serviceKey, registry.QUERY_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf(`cannot read the environment of service %s (HKLM\%s): %v`, serviceName, serviceKey, err)
	}
	defer k.Close()
	lines, _, err := k.GetStringsValue("Environment")
	if errors.Is(err, registry.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf(`cannot read the environment of service %s (HKLM\%s Environment): %v`, serviceName, serviceKey, err)
	}
	vars := parseServiceEnvironment(lines)
	return &config.Source{
		Name: fmt.Sprintf("the environment of service %s", serviceName),
		Lookup: func(name string) (string, bool) {
			v, ok := vars[strings.ToUpper(name)]
			return v, ok
		},
	}, nil
}

// parseServiceEnvironment reads NAME=value strings. Names are
// case-insensitive on Windows; a repeated name keeps its first value.
func parseServiceEnvironment(lines []string) map[string]string {
	vars := make(map[string]string, len(lines))
	for _, l := range lines {
		name, v, ok := strings.Cut(l, "=")
		if !ok || name == "" {
			continue
		}
		if _, seen := vars[strings.ToUpper(name)]; !seen {
			vars[strings.ToUpper(name)] = v
		}
	}
	return vars
}

// envFilePermissionWarning has nothing to say on Windows: NTFS has no mode
// bits, and herald service install sets the ACL of the folders that hold
// secrets (serviceACL).
func envFilePermissionWarning(string) string { return "" }
