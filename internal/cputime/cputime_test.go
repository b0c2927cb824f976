package cputime

import "testing"

// TestSelfGrows checks that work done shows up as CPU time.
func TestSelfGrows(t *testing.T) {
	t0, ok := Self()
	if !ok {
		t.Skip("CPU time is not readable here")
	}
	for i := 0; ; i++ {
		x := 0
		for j := range 1_000_000 {
			x ^= j * i
		}
		_ = x
		if t1, _ := Self(); t1 > t0 {
			return
		}
		if i > 100_000 {
			t.Fatalf("no CPU time counted after %d rounds of work", i)
		}
	}
}
