//go:build !windows

package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// reloadSignal delivers SIGHUP, the conventional "reload your config", until ctx ends.
func reloadSignal(ctx context.Context) <-chan struct{} {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGHUP)
	out := make(chan struct{}, 1)
	go func() {
		defer signal.Stop(sig)
		for {
			select {
			case <-ctx.Done():
				return
			case <-sig:
				select {
				case out <- struct{}{}:
				default:
				}
			}
		}
	}()
	return out
}
