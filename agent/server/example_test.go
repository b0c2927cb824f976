package server_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"

	"github.com/heraldhq/herald/agent/metrics"
	"github.com/heraldhq/herald/agent/server"
)

func Example() {
	reg := metrics.NewRegistry()
	m := metrics.New(reg)
	m.Input("scheduler").SetUp(true)
	m.Sink("pager").SetUp(false) // its plugin crashed

	srv := server.New(server.Config{
		Listen:   "127.0.0.1:0", // port 0: any free port, see Addr
		Registry: reg,
		Health:   func() server.Health { return server.HealthOf(m.Up()) },
	})
	srv.Handle("/hooks/ping", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "pong\n")
	}))
	if err := srv.Start(); err != nil {
		log.Fatal(err)
	}
	defer srv.Shutdown(context.Background())

	for _, path := range []string{"/hooks/ping", "/healthz"} {
		resp, err := http.Get("http://" + srv.Addr() + path)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(resp.Status)
		io.Copy(os.Stdout, resp.Body)
		resp.Body.Close()
	}
	// Output:
	// 200 OK
	// pong
	// 503 Service Unavailable
	// {
	//   "status": "down",
	//   "inputs": {
	//     "scheduler": true
	//   },
	//   "plugins": {
	//     "pager": false
	//   },
	//   "down": [
	//     "plugin pager"
	//   ]
	// }
}
