// Package cputime reads the CPU time the running process has used, for
// benchmarks that report CPU per unit of work: on a shared machine it varies
// far less than wall time.
package cputime

import "time"

// Self returns the user plus system CPU time this process has used so far,
// and false where it cannot be read.
func Self() (time.Duration, bool) { return self() }
