// Package wine tells whether the program runs under Wine rather than on
// Windows. Herald's tests run under Wine in CI (.ci/windows-tests); the few
// that meet something Wine does not emulate ask here and say so.
package wine

// Running reports whether the process runs under Wine. It is false on every
// OS but Windows.
func Running() bool { return running() }
