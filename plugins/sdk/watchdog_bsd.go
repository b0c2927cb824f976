//go:build unix && !linux

package sdk

import "os"

// watchParent calls exit once the process that started the plugin is gone.
func watchParent(exit func()) error {
	pollParent(os.Getppid(), exit)
	return nil
}
