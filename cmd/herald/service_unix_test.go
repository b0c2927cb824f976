//go:build !windows

package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/kardianos/service"
)

// fakeSystem is a service manager kardianos could detect.
type fakeSystem struct{ name string }

func (f fakeSystem) String() string  { return f.name }
func (fakeSystem) Detect() bool      { return true }
func (fakeSystem) Interactive() bool { return true }
func (fakeSystem) New(service.Interface, *service.Config) (service.Service, error) {
	return nil, nil
}

// TestServiceNeedsSystemd: herald service refuses to write kardianos's
// unhardened SysV (or other) scripts.
func TestServiceNeedsSystemd(t *testing.T) {
	orig := service.AvailableSystems()
	t.Cleanup(func() { service.ChooseSystem(orig...) })

	service.ChooseSystem(fakeSystem{"linux-systemd"})
	if err := checkServiceSystem(); err != nil {
		t.Errorf("systemd refused: %v", err)
	}
	service.ChooseSystem(fakeSystem{"unix-systemv"})
	if err := checkServiceSystem(); err == nil || !strings.Contains(err.Error(), "service manager is unix-systemv") {
		t.Errorf("SysV: err = %v", err)
	}
}

// TestRunServiceFlagIsWindowsOnly: herald run --service, which only the
// Windows service's command line carries, is a usage error under systemd, and
// the unit's command line does not carry it.
func TestRunServiceFlagIsWindowsOnly(t *testing.T) {
	if len(serviceRunArgs) != 0 {
		t.Errorf("the systemd unit's herald run gets extra flags %q", serviceRunArgs)
	}
	for _, tc := range []struct {
		asService, wantRan bool
	}{{false, false}, {true, true}} {
		ran, err := runAsService("herald.toml", false, tc.asService)
		if ran != tc.wantRan {
			t.Errorf("--service=%v: ran = %v, want %v", tc.asService, ran, tc.wantRan)
		}
		var ee *exitError
		if tc.asService && (!errors.As(err, &ee) || ee.code != 2 || !strings.Contains(err.Error(), "--service")) {
			t.Errorf("--service: err = %v, want a usage error naming --service", err)
		}
		if !tc.asService && err != nil {
			t.Errorf("without --service: err = %v", err)
		}
	}
}
