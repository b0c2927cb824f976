// Command fakerocketchat runs the fake Rocket.Chat for demos: point a Herald
// rocketchat sink at it and watch alerts arrive, thread and resolve.
//
//	fakerocketchat -listen 127.0.0.1:3000 -outgoing http://127.0.0.1:9308/hooks/rocketchat -trigger ack
//
// It prints the incoming-webhook URL and the REST credentials to use. Besides
// the Rocket.Chat routes it serves a small control API:
//
//	GET  /_fake/messages[?rid=ROOM]             messages of a room (JSON)
//	GET  /_fake/requests                        every request received (JSON)
//	POST /_fake/post?user=&text=[&channel=&tmid=]  a user writes a message; fires the outgoing webhook
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

	"github.com/heraldhq/herald/sinks/sinktest/fakerocketchat"
	"github.com/heraldhq/herald/sinks/sinktest/internal/fakecmd"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "fakerocketchat:", err)
		os.Exit(1)
	}
}

const (
	roomID   = "ALERTS"
	hookID   = "herald"
	botID    = "heraldBotUser0001"
	botName  = "herald"
	userName = "alice"
)

func run() error {
	listen := flag.String("listen", "127.0.0.1:3000", "loopback address to listen on")
	room := flag.String("room", "alerts", "name of the room alerts go to (its id is "+roomID+")")
	hookToken := flag.String("hook-token", "demo-hook-token", "token of the incoming webhook")
	botToken := flag.String("bot-token", "demo-bot-token", "personal access token of the REST user "+botID)
	outgoing := flag.String("outgoing", "", "URL the outgoing webhook calls when a posted message starts with a trigger word")
	outToken := flag.String("outgoing-token", "demo-outgoing-token", "token the outgoing webhook sends")
	triggers := flag.String("trigger", "", "comma-separated trigger words (empty: every message)")
	noLimit := flag.Bool("no-rate-limit", false, "turn the rate limiter off")
	flag.Parse()

	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-listen %s: a demo fake listens on loopback only", *listen)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()

	opts := fakerocketchat.Options{
		Rooms: []fakerocketchat.Room{{ID: roomID, Name: *room}, {ID: "GENERAL", Name: "general"}},
		Users: []fakerocketchat.User{
			{ID: "hookUser0000001", Username: "herald.hook", Impersonate: true},
			{ID: botID, Username: botName, Token: *botToken, Impersonate: true},
			{ID: "aliceUser000001", Username: userName, Name: "Alice"},
		},
		Hooks:              []fakerocketchat.Hook{{ID: hookID, Token: *hookToken, UserID: "hookUser0000001", Channel: "#" + *room, OverrideChannel: true}},
		DisableRateLimiter: *noLimit,
		SiteURL:            base,
	}
	if *outgoing != "" {
		var words []string
		if *triggers != "" {
			words = strings.Split(*triggers, ",")
		}
		opts.Outgoing = &fakerocketchat.Outgoing{ID: "outgoing", URL: *outgoing, Token: *outToken, TriggerWords: words, Retries: 2}
	}
	fake := fakerocketchat.New(opts)

	mux := http.NewServeMux()
	mux.Handle("/", fake)
	mux.HandleFunc("GET /_fake/messages", func(w http.ResponseWriter, r *http.Request) {
		rid := r.FormValue("rid")
		if rid == "" {
			rid = roomID
		}
		fakecmd.WriteJSON(w, fake.Messages(rid))
	})
	mux.HandleFunc("GET /_fake/requests", func(w http.ResponseWriter, r *http.Request) { fakecmd.WriteJSON(w, fake.Requests()) })
	mux.HandleFunc("POST /_fake/post", func(w http.ResponseWriter, r *http.Request) {
		channel := r.FormValue("channel")
		if channel == "" {
			channel = "#" + *room
		}
		m, err := fake.Post(channel, r.FormValue("user"), r.FormValue("text"), r.FormValue("tmid"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fakecmd.WriteJSON(w, m)
	})

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	log.Info("fake Rocket.Chat listening",
		"webhook", base+"/hooks/"+hookID+"/"+*hookToken,
		"server", base, "user_id", botID, "token", *botToken, "room_id", roomID, "channel", "#"+*room,
		"user", userName)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return fakecmd.Serve(ctx, ln, mux)
}
