// Package fileerr formats where in a file a problem is, the same way for every
// file herald reads (herald.toml, a Butler config), so that people and
// editors read all those messages alike.
package fileerr

import (
	"fmt"
	"strings"
)

// Format returns "file:line:col: key: msg". A line or column of 0 (unknown)
// is left out, the column also when the line is unknown, and so is an empty
// key with its ": ".
func Format(file string, line, col int, key, msg string) string {
	var b strings.Builder
	b.WriteString(file)
	if line > 0 {
		fmt.Fprintf(&b, ":%d", line)
		if col > 0 {
			fmt.Fprintf(&b, ":%d", col)
		}
	}
	b.WriteString(": ")
	if key != "" {
		b.WriteString(key)
		b.WriteString(": ")
	}
	b.WriteString(msg)
	return b.String()
}
