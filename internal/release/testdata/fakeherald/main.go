// Command fakeherald stands in for cmd/herald in the release tool's test: it
// has the same version variables and prints them, and builds in a moment.
package main

import "os"

var (
	version = "dev"
	commit  = ""
	date    = ""
)

func main() {
	_, _ = os.Stdout.WriteString("version=" + version + " commit=" + commit + " date=" + date + "\n")
}
