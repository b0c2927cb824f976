//go:build !linux && !windows

package host

import (
	"os"
	"os/exec"
)

// configureCmd has nothing to add outside Linux and Windows: the SDK's
// parent watchdog stops a plugin whose agent is gone.
func configureCmd(*exec.Cmd) {}

// contain has nothing to do outside Linux and Windows.
func contain(*os.Process) (warn, err error) { return nil, nil }

// startCmd starts cmd; only Linux sets a timer slack for plugins.
func startCmd(cmd *exec.Cmd) error { return cmd.Start() }
