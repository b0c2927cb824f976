//go:build !unix && !windows

package sdk

import (
	"fmt"
	"runtime"
)

func watchParent(func()) error {
	return fmt.Errorf("not supported on %s", runtime.GOOS)
}
