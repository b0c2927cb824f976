// Package privatedir restricts a Windows folder to the accounts that run
// Herald: a protected ACL (no inherited entries) granting Administrators,
// SYSTEM and the service's own account full control, so that the secrets and
// state in it are not readable by every user of a Qlik node. herald service
// install applies it to [agent] data_dir and the secrets folder beside the
// config.
package privatedir

import (
	"fmt"
	"strings"
)

// SDDL returns the security descriptor, in SDDL, Restrict applies: a
// protected DACL (P: the folder's parent grants nothing here) whose entries
// are inherited by every file and folder below (OICI) and grant full
// control (FA) to SYSTEM (SY), the Administrators group (BA) and each SID in
// accounts, such as the service SID of a service that runs as its own
// virtual account (NT SERVICE\Herald).
func SDDL(accounts ...string) string {
	var b strings.Builder
	b.WriteString("D:P")
	for _, sid := range append([]string{"SY", "BA"}, accounts...) {
		fmt.Fprintf(&b, "(A;OICI;FA;;;%s)", sid)
	}
	return b.String()
}
