//go:build windows

package privatedir

import (
	"fmt"
	"strings"

	"golang.org/x/sys/windows"
)

// Restrict replaces the DACL of the folder at path with SDDL(accounts...),
// which its files and subfolders inherit, and checks that it took.
func Restrict(path string, accounts ...string) error {
	sd, err := windows.SecurityDescriptorFromString(SDDL(accounts...))
	if err != nil {
		return fmt.Errorf("restricting %s: %w", path, err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return fmt.Errorf("restricting %s: %w", path, err)
	}
	err = windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil)
	if err != nil {
		return fmt.Errorf("restricting %s to Administrators, SYSTEM and the service: %w", path, err)
	}
	// A file system that keeps its own idea of access (Wine derives the
	// ACL from Unix mode bits) may report success and change nothing:
	// read it back, so a folder is never called protected when it is not.
	got, err := DACL(path)
	if err != nil {
		return fmt.Errorf("restricting %s: reading the ACL back: %w", path, err)
	}
	if !strings.HasPrefix(got, "D:P") {
		return fmt.Errorf("restricting %s: the file system kept its own ACL (%s)", path, got)
	}
	return nil
}

// DACL returns the DACL of path in SDDL, for checking what Restrict did.
func DACL(path string) (string, error) {
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return "", err
	}
	return sd.String(), nil
}
