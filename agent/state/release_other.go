//go:build !unix && !windows

package state

// releaseMapped does nothing where there is no way to drop mapped pages.
func releaseMapped(uintptr, int) error { return nil }
