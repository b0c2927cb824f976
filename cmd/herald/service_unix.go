//go:build !windows

package main

import (
	"errors"
	"fmt"

	"github.com/kardianos/service"

	"github.com/heraldhq/herald/agent/config"
)

// serviceName is the systemd unit's name (systemctl status herald): unit names
// are case-sensitive and conventionally lower-case.
const serviceName = "herald"

// systemdPlatform is kardianos's name for systemd.
const systemdPlatform = "linux-systemd"

// checkServiceSystem refuses service managers other than systemd. kardianos
// would fall back to SysV, upstart or launchd scripts of its own, without the
// unit's hardening, and its SysV uninstall leaves the rc.d links behind.
func checkServiceSystem() error {
	name := "none that kardianos/service knows"
	if sys := service.ChosenSystem(); sys != nil {
		if sys.String() == systemdPlatform {
			return nil
		}
		name = sys.String()
	}
	return fmt.Errorf("herald service manages systemd units, and this system's service manager is %s: "+
		"run `herald run --config FILE` under it (examples/service/herald.service shows the settings to use)", name)
}

// serviceOptions makes `herald service install` write Herald's own hardened
// unit (the one in examples/service/herald.service) rather than kardianos's
// default, running args, with data_dir as the only writable path.
func serviceOptions(cfg *config.Config, args []string) service.KeyValue {
	return service.KeyValue{"SystemdScript": systemdUnit(executable(), args, cfg.Agent.DataDir)}
}

// runAsService reports false: under systemd (or any Unix service manager)
// `herald run` runs in the foreground as it does by hand, logs to standard
// error (the journal) and stops cleanly on SIGTERM, so nothing is different.
// configureService has nothing to add to the systemd unit, which holds all
// of its settings.
func configureService() []string { return nil }

// protectFolders has nothing to do under systemd: data_dir is made 0750 and
// root's, and herald check warns about an env file others can read.
func protectFolders(_, _ string) []string { return nil }

// serviceRunArgs are added to the unit's command line: none, systemd needs
// no telling.
var serviceRunArgs []string

// runAsService refuses --service, which only the Windows service manager's
// command line carries; under systemd herald run runs as it is.
func runAsService(_ string, _, asService bool) (bool, error) {
	if asService {
		return true, usageError(errors.New("--service is for the Windows service manager; under systemd, herald run needs no flag"))
	}
	return false, nil
}
