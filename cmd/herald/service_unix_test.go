//go:build !windows

package main

import (
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
