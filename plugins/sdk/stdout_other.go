//go:build !unix

package sdk

// reserveStdout does nothing where a standard handle cannot be redirected in
// place (Windows): os.Stdout is replaced after the handshake by go-plugin
// itself, so only writes through an earlier copy of it can still reach the
// handshake channel, where the agent discards them.
func reserveStdout() error { return nil }
