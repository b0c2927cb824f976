package fakecmd

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
)

// TestServe: a request in flight when the context ends is answered in full
// before Serve returns nil, and the listener is closed afterwards.
func TestServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	var answered atomic.Bool
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		WriteJSON(w, map[string]int{"n": 1})
		answered.Store(true)
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, ln, h) }()

	type reply struct {
		body string
		err  error
	}
	replies := make(chan reply, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			replies <- reply{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		replies <- reply{string(b), err}
	}()
	<-entered
	cancel()
	close(release)

	if err := <-served; err != nil {
		t.Fatalf("Serve returned %v, want nil after the context ended", err)
	}
	if !answered.Load() {
		t.Error("Serve returned before the request in flight was answered")
	}
	if r := <-replies; r.err != nil || r.body != "{\n  \"n\": 1\n}\n" {
		t.Errorf("in-flight request: body %q, error %v; want the indented JSON", r.body, r.err)
	}
	if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		c.Close()
		t.Error("the listener still accepts connections after Serve returned")
	}
}

// TestServeListenerError: Serve returns the error that stops the server.
func TestServeListenerError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	if err := Serve(context.Background(), ln, http.NotFoundHandler()); err == nil {
		t.Error("Serve on a closed listener returned nil")
	}
}
