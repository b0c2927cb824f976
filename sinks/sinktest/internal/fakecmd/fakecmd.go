// Package fakecmd holds what the demo commands of the fake SIGNL4 and
// Rocket.Chat servers share: serving until told to stop, and answering their
// control API in JSON.
package fakecmd

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"time"
)

// ShutdownGrace is how long Serve lets requests in flight finish once its
// context is done.
const ShutdownGrace = 5 * time.Second

// Serve serves h on ln until ctx is done, then shuts the server down and
// returns once the requests in flight have finished (at most ShutdownGrace
// later). It returns nil after a clean shutdown, and otherwise the error that
// stopped the server or the shutdown.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served: // never nil: Serve stops only on an error
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	err := srv.Shutdown(shutdown)
	<-served // http.ErrServerClosed, once Shutdown has begun
	if err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	return nil
}

// WriteJSON answers with v as indented JSON.
func WriteJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
