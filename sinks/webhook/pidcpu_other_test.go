//go:build !linux

package webhook

import "time"

// pidCPU is not measured here.
func pidCPU(int) (time.Duration, bool) { return 0, false }
