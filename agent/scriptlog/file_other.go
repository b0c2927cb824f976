//go:build !windows

package scriptlog

import "os"

// openShared opens path for reading. Outside Windows an open file never
// stops another process from renaming or deleting it.
func openShared(path string) (*os.File, error) {
	return os.Open(path)
}
