package all

import (
	"os"
	"slices"
	"testing"
)

func TestLookup(t *testing.T) {
	names := Names()
	if !slices.IsSorted(names) || !slices.Contains(names, "console") {
		t.Fatalf("Names() = %v, want a sorted list with console", names)
	}
	for _, n := range names {
		newSink, ok := Lookup(n)
		if !ok || newSink == nil {
			t.Fatalf("Lookup(%q) found nothing", n)
		}
		// Every call makes a fresh sink: a plugin process serves exactly one.
		if a, b := newSink(), newSink(); a == nil || a == b {
			t.Errorf("%s: constructor returned %p and %p", n, a, b)
		}
	}
	if _, ok := Lookup("pagerduty"); ok {
		t.Error("Lookup found a sink that does not exist")
	}
}

// TestEverySinkIsRegistered keeps a new sinks/<name> package from being
// forgotten here, where `plugin = "<name>"` is looked up.
func TestEverySinkIsRegistered(t *testing.T) {
	entries, err := os.ReadDir("..")
	if err != nil {
		t.Fatal(err)
	}
	notSinks := map[string]bool{"all": true, "internal": true, "sinktest": true}
	for _, e := range entries {
		if !e.IsDir() || notSinks[e.Name()] {
			continue
		}
		if _, ok := Lookup(e.Name()); !ok {
			t.Errorf("sinks/%s is not registered in sinks/all", e.Name())
		}
	}
}
