//go:build !windows

package main

import (
	"github.com/kardianos/service"

	"github.com/heraldhq/herald/agent/config"
)

// serviceName is the systemd unit's name (systemctl status herald): unit names
// are case-sensitive and conventionally lower-case.
const serviceName = "herald"

// serviceOptions makes `herald service install` write Herald's own hardened
// unit (the one in examples/service/herald.service) rather than kardianos's
// default, with data_dir as the only writable path.
func serviceOptions(cfg *config.Config) service.KeyValue {
	return service.KeyValue{"SystemdScript": systemdUnit(executable(), []string{"run", "--config", cfg.Path}, cfg.Agent.DataDir)}
}

// runAsService reports false: under systemd (or any Unix service manager)
// `herald run` runs in the foreground as it does by hand, logs to standard
// error (the journal) and stops cleanly on SIGTERM, so nothing is different.
func runAsService(string, bool) (bool, error) { return false, nil }
