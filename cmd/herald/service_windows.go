//go:build windows

package main

import (
	"io"
	"path/filepath"

	"github.com/kardianos/service"

	"github.com/heraldhq/herald/agent/config"
)

// serviceName is the Windows service's name: sc.exe query Herald.
const serviceName = "Herald"

// checkServiceSystem accepts the Windows service manager.
func checkServiceSystem() error { return nil }

// serviceOptions are the Windows service's settings: started at boot (delayed,
// so the Qlik services come first) and restarted a minute after it fails.
func serviceOptions(*config.Config) service.KeyValue {
	return service.KeyValue{
		"StartType":              "automatic",
		"DelayedAutoStart":       true,
		"OnFailure":              "restart",
		"OnFailureDelayDuration": "1m",
		"OnFailureResetPeriod":   24 * 60 * 60, // seconds without failure that reset the failure count
	}
}

// runAsService runs the agent under the Windows service manager when `herald
// run` (without --once) was started by it, and reports whether it was. The agent then logs to
// herald.log in data_dir, and start, stop and failure notes go to the
// Windows event log (Application, source Herald).
func runAsService(cfgPath string, once bool) (bool, error) {
	if once || service.Interactive() {
		return false, nil
	}
	abs, err := filepath.Abs(cfgPath)
	if err != nil {
		return true, err
	}
	prg := &agentProgram{
		cfgPath: abs,
		openLog: func(dataDir string) (io.WriteCloser, error) {
			return openRotatingFile(filepath.Join(dataDir, serviceLogName), serviceLogMaxBytes)
		},
	}
	s, err := service.New(prg, &service.Config{Name: serviceName, DisplayName: serviceDisplayName, Description: serviceDescription})
	if err != nil {
		return true, err
	}
	if el, err := s.Logger(nil); err == nil {
		prg.events = el
	}
	return true, s.Run()
}
