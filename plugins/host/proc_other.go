//go:build !linux

package host

import "os/exec"

// configureCmd has nothing to add outside Linux: the SDK's parent watchdog
// stops a plugin whose agent is gone.
func configureCmd(*exec.Cmd) {}
