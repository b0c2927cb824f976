//go:build unix

package sdk

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// reserveStdout keeps file descriptor 1, the pipe the agent reads the
// go-plugin handshake from, for the handshake alone. It moves the handshake to
// a private duplicate of that descriptor (which go-plugin prints to through
// os.Stdout) and points descriptor 1 at standard error. Output from code that
// still holds the original standard output — an *os.File taken before Serve,
// C code, a goroutine racing the handshake — then lands in the agent's log
// instead of corrupting the handshake or vanishing after it.
func reserveStdout() error {
	fd, err := unix.Dup(unix.Stdout)
	if err != nil {
		return fmt.Errorf("duplicating standard output: %w", err)
	}
	// A child process the sink starts must not hold the handshake pipe open.
	unix.CloseOnExec(fd)
	if err := unix.Dup2(unix.Stderr, unix.Stdout); err != nil {
		_ = unix.Close(fd)
		return fmt.Errorf("redirecting standard output to standard error: %w", err)
	}
	os.Stdout = os.NewFile(uintptr(fd), "/dev/stdout")
	return nil
}
