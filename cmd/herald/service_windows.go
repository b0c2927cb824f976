//go:build windows

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
	"unsafe"

	"github.com/kardianos/service"
	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"

	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/internal/privatedir"
)

// serviceName is the Windows service's name: sc.exe query Herald.
const serviceName = "Herald"

// checkServiceSystem accepts the Windows service manager.
func checkServiceSystem() error { return nil }

// serviceOptions are the settings the service is created with: started at
// boot. Delayed start and recovery are applied after it exists, by
// configureService, so that a service manager refusing one of them does not
// undo the whole install.
func serviceOptions(*config.Config, []string) service.KeyValue {
	return service.KeyValue{"StartType": "automatic"}
}

const (
	// serviceRestartDelay is how long after a failure the service manager
	// restarts Herald.
	serviceRestartDelay = time.Minute
	// serviceFailureResetPeriod is how long Herald must run without failing
	// for the service manager to forget earlier failures.
	serviceFailureResetPeriod = 24 * time.Hour
)

// configureService applies the installed service's optional settings: a
// delayed automatic start, so that the Qlik services come first, and a restart
// a minute after a failure. One the service manager refuses (an old or
// emulated Windows) leaves the service installed; it is returned as a warning
// that names the setting and the sc.exe command that sets it by hand.
func configureService() []string {
	m, err := mgr.Connect()
	if err != nil {
		return []string{fmt.Sprintf("could not open the service manager to set delayed start and restart on failure: %v", err)}
	}
	defer m.Disconnect()
	// A service manager may take a moment to list a service just created
	// (Wine's does not find it for a few hundred milliseconds).
	var s *mgr.Service
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		s, err = m.OpenService(serviceName)
		if err == nil || !errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		return []string{fmt.Sprintf("could not open service %s to set delayed start and restart on failure: %v", serviceName, err)}
	}
	defer s.Close()

	var warnings []string
	delayed := windows.SERVICE_DELAYED_AUTO_START_INFO{IsDelayedAutoStartUp: 1}
	if err := windows.ChangeServiceConfig2(s.Handle, windows.SERVICE_CONFIG_DELAYED_AUTO_START_INFO, (*byte)(unsafe.Pointer(&delayed))); err != nil {
		warnings = append(warnings, fmt.Sprintf("could not set a delayed automatic start (%v); the service starts at boot without delay; set it by hand with: sc.exe config %s start= delayed-auto",
			err, serviceName))
	}
	restart := []mgr.RecoveryAction{{Type: mgr.ServiceRestart, Delay: serviceRestartDelay}}
	if err := s.SetRecoveryActions(restart, uint32(serviceFailureResetPeriod/time.Second)); err != nil {
		warnings = append(warnings, fmt.Sprintf("could not set the restart on failure (%v); set it by hand with: sc.exe failure %s reset= %d actions= restart/%d",
			err, serviceName, serviceFailureResetPeriod/time.Second, serviceRestartDelay/time.Millisecond))
	}
	return warnings
}

// secretsDirName is the folder beside the config for ${file:} secrets.
const secretsDirName = "secrets"

// protectFolders restricts data_dir (the state, the log) and the secrets
// folder beside the config (made if missing, for ${file:} secrets) to
// Administrators and SYSTEM, which the service runs as: on a Qlik node every
// user can read C:\ProgramData by default. A folder that cannot be restricted
// is a warning naming the icacls command that does it by hand.
func protectFolders(dataDir, cfgDir string) []string {
	secrets := filepath.Join(cfgDir, secretsDirName)
	var warnings []string
	if err := os.MkdirAll(secrets, 0o700); err != nil {
		warnings = append(warnings, fmt.Sprintf("could not make the secrets folder: %v", err))
	}
	for _, dir := range []string{dataDir, secrets} {
		if err := privatedir.Restrict(dir); err != nil {
			warnings = append(warnings, fmt.Sprintf("%v; restrict it by hand with: icacls \"%s\" /inheritance:r /grant:r *S-1-5-18:(OI)(CI)F *S-1-5-32-544:(OI)(CI)F",
				err, dir))
		}
	}
	return warnings
}

// serviceRunArgs are added to the service's command line: herald run
// --service says outright that the service manager started it.
var serviceRunArgs = []string{"--service"}

// runAsService runs the agent under the Windows service manager when `herald
// run` was started by it (--service, which herald service install puts on the
// service's command line, or a parent services.exe in session 0), and reports
// whether it was. The agent then logs to herald.log in data_dir, and start,
// stop and failure notes go to the Windows event log (Application, source
// Herald).
func runAsService(cfgPath string, once, asService bool) (bool, error) {
	if asService && once {
		return true, usageError(errors.New("--service and --once exclude each other: a service follows its inputs"))
	}
	if once || (!asService && service.Interactive()) {
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
	if el, err := s.SystemLogger(nil); err == nil {
		prg.events = el
	}
	if !service.Interactive() {
		return true, s.Run()
	}
	// kardianos's Run would run interactively: its detection wants the
	// parent services.exe in session 0, which a service manager may not
	// give (Wine runs every process in session 1). --service says it is
	// one, so connect to the service manager directly.
	h, ok := s.(svc.Handler)
	if !ok {
		return true, fmt.Errorf("service %s: %T cannot run under the service manager", serviceName, s)
	}
	return true, svc.Run(serviceName, h)
}
