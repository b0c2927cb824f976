// Command fakesignl4 runs the fake SIGNL4 for demos: point a Herald signl4
// sink at http://<listen>/webhook/<secret> and watch alerts open and close.
//
//	fakesignl4 -listen 127.0.0.1:8040 -secret team-secret -callback http://127.0.0.1:9308/hooks/signl4
//
// Besides the webhook it serves a small control API:
//
//	GET  /_fake/alerts                      alerts with status and history (JSON)
//	GET  /_fake/requests                    every request received (JSON)
//	POST /_fake/ack?id=EXTID&user=NAME      acknowledge as a user (sends the callback)
//	POST /_fake/close?id=EXTID&user=NAME    close as a user (sends the callback)
//	POST /_fake/annotate?id=EXTID&user=NAME&text=TEXT
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"

	"github.com/heraldhq/herald/sinks/sinktest/fakesignl4"
	"github.com/heraldhq/herald/sinks/sinktest/internal/fakecmd"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "fakesignl4:", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", "127.0.0.1:8040", "address to listen on")
	secrets := flag.String("secret", "team-secret", "comma-separated team or integration secrets to accept")
	callback := flag.String("callback", "", "URL that receives outbound webhook notifications")
	limit := flag.Int("limit", 0, "requests per window before 429 (default 150)")
	window := flag.Duration("window", 0, "rate-limit window (default 15s)")
	flag.Parse()

	fake := fakesignl4.New(fakesignl4.Options{
		Secrets: strings.Split(*secrets, ","), CallbackURL: *callback, RateLimit: *limit, RateWindow: *window,
	})
	mux := http.NewServeMux()
	mux.Handle("/", fake)
	mux.HandleFunc("GET /_fake/alerts", func(w http.ResponseWriter, r *http.Request) { fakecmd.WriteJSON(w, fake.Alerts()) })
	mux.HandleFunc("GET /_fake/requests", func(w http.ResponseWriter, r *http.Request) { fakecmd.WriteJSON(w, fake.Requests()) })
	mux.HandleFunc("POST /_fake/{action}", func(w http.ResponseWriter, r *http.Request) {
		id, user := r.FormValue("id"), r.FormValue("user")
		var err error
		switch r.PathValue("action") {
		case "ack":
			err = fake.Ack(r.Context(), id, user)
		case "close":
			err = fake.Close(r.Context(), id, user)
		case "annotate":
			err = fake.Annotate(r.Context(), id, user, r.FormValue("text"))
		default:
			http.NotFound(w, r)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	for _, s := range strings.Split(*secrets, ",") {
		log.Info("fake SIGNL4 listening", "webhook", "http://"+ln.Addr().String()+"/webhook/"+s)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return fakecmd.Serve(ctx, ln, mux)
}
