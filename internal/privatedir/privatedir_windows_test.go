//go:build windows

package privatedir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heraldhq/herald/internal/wine"
)

// TestRestrict applies the ACL to a real folder and reads it back: only
// SYSTEM and Administrators remain, protected from inheritance, and a file
// made inside afterwards inherits them.
func TestRestrict(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "secrets")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := Restrict(dir); err != nil {
		if wine.Running() {
			// Wine 8 answers SetNamedSecurityInfo with success and keeps
			// an ACL made from the Unix mode; Restrict saw it did not take.
			t.Skipf("SKIP (Wine): Wine does not apply a folder's ACL (%v); TestSDDL covers the descriptor, and this test must pass on Windows", err)
		}
		t.Fatal(err)
	}
	got, err := DACL(dir)
	if err != nil {
		if wine.Running() {
			t.Skipf("SKIP (Wine): Wine cannot read a folder's ACL back: %v", err)
		}
		t.Fatal(err)
	}
	if !strings.HasPrefix(got, "D:P") || !strings.Contains(got, ";;;SY)") || !strings.Contains(got, ";;;BA)") {
		t.Errorf("DACL = %s, want a protected DACL for SYSTEM and Administrators", got)
	}
	for _, ace := range strings.SplitAfter(strings.TrimPrefix(got, "D:P"), ")") {
		if ace == "" {
			continue
		}
		if !strings.HasSuffix(ace, ";;;SY)") && !strings.HasSuffix(ace, ";;;BA)") {
			t.Errorf("DACL %s grants %s: want SYSTEM and Administrators only", got, ace)
		}
	}
	f := filepath.Join(dir, "signl4")
	if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if fd, err := DACL(f); err != nil || !strings.Contains(fd, ";;;SY)") || strings.Contains(fd, ";;;WD)") || strings.Contains(fd, ";;;BU)") {
		t.Errorf("a file made inside has DACL %s (%v), want the folder's inherited entries", fd, err)
	}
}
