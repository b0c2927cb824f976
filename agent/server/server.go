// Package server is Herald's HTTP listener on [server].listen: Prometheus
// metrics, a health check, the open alerts, and the inbound hooks other
// packages register (SIGNL4 and Rocket.Chat callbacks).
//
// Routes match the request path exactly; there is no pattern syntax, so a hook
// path from the config means what it says. The global http.DefaultServeMux is
// never used.
package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/heraldhq/herald/internal/httpauth"
)

// Paths of the routes the server itself answers. A hook cannot take them.
const (
	PathMetrics = "/metrics"
	PathHealth  = "/healthz"
	PathAlerts  = "/alerts"
)

// Timeouts bound how long one client can hold a connection, so a stuck or
// hostile client cannot exhaust the agent.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 60 * time.Second // a scrape gathers every metric first
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
)

// Config configures a Server.
type Config struct {
	// Listen is the host:port to listen on; port 0 picks a free port (see Addr).
	Listen string
	// Logger receives the server's log lines. Default: discard.
	Logger *slog.Logger
	// Registry is served on /metrics. The caller registers what it should
	// hold, including the Go and process collectors (metrics.NewRegistry does).
	// The server adds promhttp's own scrape metrics to it. Nil: no /metrics.
	Registry *prometheus.Registry
	// Health reports the agent's health for /healthz. Nil: always healthy.
	Health func() Health
	// Alerts returns what /alerts serves, encoded as JSON. Nil: no /alerts.
	Alerts func() (any, error)
	// AlertsToken, if set, is the token a request for /alerts must carry, as
	// `Authorization: Bearer TOKEN` or `?token=TOKEN`. /metrics and /healthz
	// stay open.
	AlertsToken string
	// Page, if set, serves "/" (GET, HEAD and POST: a status page and its
	// forms; it checks its own credentials). Nil: a short text index. The
	// page sees only the exact path "/".
	Page http.Handler
	// TLSCertFile and TLSKeyFile, both set, make the server speak HTTPS with
	// that PEM certificate (chain) and key. The files are looked at for a
	// change at most every 5 seconds, on a TLS handshake, and loaded again.
	TLSCertFile, TLSKeyFile string
}

// Health is the agent's state as /healthz reports it.
type Health struct {
	// OK makes /healthz answer 200; otherwise it answers 503.
	OK bool
	// Inputs and Plugins map each input and sink name to whether it runs.
	Inputs  map[string]bool
	Plugins map[string]bool
	// Detail says more about what is wrong, by component (optional).
	Detail map[string]string
	// Conditions are the active conditions under which the agent cannot see
	// or deliver (agent/selfwatch); each makes OK false.
	Conditions []Condition
}

// Condition is one active self-watch condition, as /healthz shows it.
type Condition struct {
	Condition string    `json:"condition"`
	Subject   string    `json:"subject"`
	Since     time.Time `json:"since"`
	Summary   string    `json:"summary"`
	Fix       string    `json:"fix"`
}

// HealthOf returns a Health that is OK when every input and plugin runs.
func HealthOf(inputs, plugins map[string]bool) Health {
	h := Health{OK: true, Inputs: inputs, Plugins: plugins}
	for _, m := range []map[string]bool{inputs, plugins} {
		for _, up := range m {
			h.OK = h.OK && up
		}
	}
	return h
}

// Server is the agent's HTTP listener. Create it with New, add hooks with
// Handle, then Start it; Shutdown stops it.
type Server struct {
	cfg         Config
	log         *slog.Logger
	metrics     http.Handler
	alertsToken httpauth.Secret
	certs       *certReloader // nil without TLS

	mu      sync.Mutex
	hooks   map[string]http.Handler // fixed once started
	errs    []error                 // from Handle, returned by Start
	started bool
	stopped bool
	srv     *http.Server
	ln      net.Listener
	done    chan struct{} // closed when Serve returned
}

// New returns a server for cfg. It does not listen yet.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, hooks: map[string]http.Handler{}, alertsToken: httpauth.NewSecret(cfg.AlertsToken)}
	if cfg.TLSCertFile != "" || cfg.TLSKeyFile != "" {
		s.certs = newCertReloader(cfg.TLSCertFile, cfg.TLSKeyFile, s.log)
	}
	if cfg.Registry != nil {
		s.metrics = promhttp.InstrumentMetricHandler(cfg.Registry,
			promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{
				ErrorLog: promLogger{s.log},
				// A collector that fails should cost its own metrics, not the
				// whole scrape; the error is logged and counted.
				ErrorHandling:       promhttp.ContinueOnError,
				Registry:            cfg.Registry,
				MaxRequestsInFlight: 4,
			}))
	}
	return s
}

// Handle routes requests for path (exactly, any method) to h. Call it before
// Start; it panics after, because the routes are fixed once the server runs.
// A path that does not start with "/" or is already taken is an error that
// Start returns. Limiting the body size is h's business.
func (s *Server) Handle(path string, h http.Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		panic("server: Handle(" + path + ") called after Start")
	}
	switch {
	case len(path) == 0 || path[0] != '/':
		s.errs = append(s.errs, fmt.Errorf("server: hook path %q must start with /", path))
	case path == "/" || path == PathMetrics || path == PathHealth || path == PathAlerts:
		s.errs = append(s.errs, fmt.Errorf("server: hook path %s is served by Herald itself", path))
	case s.hooks[path] != nil:
		s.errs = append(s.errs, fmt.Errorf("server: hook path %s is registered twice", path))
	default:
		s.hooks[path] = h
	}
}

// Start listens on the configured address and serves in the background. It
// fails at once, naming the address, if it cannot listen (the port is taken)
// or a Handle call was invalid.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("server: already started")
	}
	if err := errors.Join(s.errs...); err != nil {
		return err
	}
	if s.cfg.Listen == "" {
		return errors.New("server: no listen address")
	}
	if s.certs != nil {
		if s.cfg.TLSCertFile == "" || s.cfg.TLSKeyFile == "" {
			return errors.New("server: TLS needs both a certificate and a key file")
		}
		if err := s.certs.load(); err != nil {
			return fmt.Errorf("server: %w", err)
		}
	}
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("server: listen %s: %w", s.cfg.Listen, listenCause(err))
	}
	s.started, s.ln, s.done = true, ln, make(chan struct{})
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	serve := s.srv.Serve
	if s.certs != nil {
		s.srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: s.certs.getCertificate}
		serve = func(ln net.Listener) error { return s.srv.ServeTLS(ln, "", "") }
	}
	go func() {
		defer close(s.done)
		if err := serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("HTTP server stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
	s.log.Info("HTTP server listening", "addr", ln.Addr().String(), "tls", s.certs != nil)
	if s.certs == nil && !loopback(ln.Addr()) {
		s.log.Warn("serving plain HTTP on an address other machines can reach: hook tokens and /alerts "+
			"(task, app and user names) cross the network readable; set [server] tls_cert_file and tls_key_file, "+
			"or put a TLS reverse proxy in front", "addr", ln.Addr().String())
	}
	return nil
}

// loopback reports whether addr can only be reached from this machine.
func loopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// TLS reports whether the server speaks HTTPS.
func (s *Server) TLS() bool { return s.certs != nil }

// listenCause strips net.Listen's "listen tcp ADDR: bind:" prefix, leaving the
// reason ("address already in use") for a message that names the address once.
func listenCause(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		err = op.Err
	}
	var sys *os.SyscallError
	if errors.As(err, &sys) && sys.Err != nil {
		err = sys.Err
	}
	return err
}

// Addr returns the address the server listens on (with the real port when
// Listen asked for port 0), or "" before Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Shutdown stops accepting connections and waits for requests in progress to
// finish, or for ctx to end, when it closes the remaining connections and
// returns ctx's error. It does nothing if the server was never started or is
// already stopped.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.started || s.stopped {
		s.mu.Unlock()
		return nil
	}
	s.stopped = true
	s.mu.Unlock()

	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
		err = fmt.Errorf("server: shutdown: %w", err)
	}
	<-s.done
	return err
}

// ServeHTTP routes a request. Start serves with it; tests may call it directly.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if h := s.hook(path); h != nil {
		h.ServeHTTP(w, r)
		return
	}
	var h http.HandlerFunc
	switch {
	case path == "/" && s.cfg.Page != nil:
		page := s.cfg.Page.ServeHTTP
		if s.cfg.AlertsToken != "" {
			// The page shows what /alerts shows.
			page = s.authorized(page)
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodPost {
			w.Header().Set("Allow", "GET, HEAD, POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		page(w, r)
		return
	case path == "/":
		h = s.index
	case path == PathMetrics && s.metrics != nil:
		h = s.metrics.ServeHTTP
	case path == PathHealth:
		h = s.health
	case path == PathAlerts && s.cfg.Alerts != nil:
		h = s.alerts
		if s.cfg.AlertsToken != "" {
			h = s.authorized(h)
		}
	default:
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h(w, r)
}

func (s *Server) hook(path string) http.Handler {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hooks[path]
}

// index tells a person who opens the address in a browser what is here.
func (s *Server) index(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "Herald")
	if s.metrics != nil {
		fmt.Fprintln(w, PathMetrics+"   Prometheus metrics")
	}
	fmt.Fprintln(w, PathHealth+"   health of inputs and sink plugins (200 or 503)")
	if s.cfg.Alerts != nil {
		fmt.Fprintln(w, PathAlerts+"    alerts as JSON")
	}
}

// healthBody is the JSON of /healthz.
type healthBody struct {
	Status  string            `json:"status"` // ok or down
	Inputs  map[string]bool   `json:"inputs"`
	Plugins map[string]bool   `json:"plugins"`
	Down    []string          `json:"down,omitempty"` // "input NAME", "plugin NAME", "CONDITION SUBJECT"
	Detail  map[string]string `json:"detail,omitempty"`
	// Conditions lists every active condition, with what to do about it.
	Conditions []Condition `json:"conditions,omitempty"`
}

func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	h := Health{OK: true}
	if s.cfg.Health != nil {
		h = s.cfg.Health()
	}
	body := healthBody{Status: "ok", Inputs: h.Inputs, Plugins: h.Plugins, Detail: h.Detail, Conditions: h.Conditions}
	if body.Inputs == nil {
		body.Inputs = map[string]bool{}
	}
	if body.Plugins == nil {
		body.Plugins = map[string]bool{}
	}
	code := http.StatusOK
	if !h.OK {
		code = http.StatusServiceUnavailable
		body.Status = "down"
		body.Down = append(downOf("input", h.Inputs), downOf("plugin", h.Plugins)...)
		for _, c := range h.Conditions {
			body.Down = append(body.Down, c.Condition+" "+c.Subject)
		}
	}
	s.writeJSON(w, code, body)
}

// downOf lists, sorted, the names in m that are not up, each after kind.
func downOf(kind string, m map[string]bool) []string {
	var out []string
	for name, up := range m {
		if !up {
			out = append(out, kind+" "+name)
		}
	}
	sort.Strings(out)
	return out
}

// authorized lets through requests that carry the AlertsToken.
func (s *Server) authorized(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if tok, _ := httpauth.RequestToken(r); !s.alertsToken.Matches(tok) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="herald"`)
			s.writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing or wrong token"})
			return
		}
		h(w, r)
	}
}

func (s *Server) alerts(w http.ResponseWriter, _ *http.Request) {
	v, err := s.cfg.Alerts()
	if err != nil {
		s.log.Error("cannot list alerts for "+PathAlerts, "err", err)
		s.writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	s.writeJSON(w, http.StatusOK, v)
}

// writeJSON encodes v before writing the status, so an encoding failure still
// gets a proper 500.
func (s *Server) writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		s.log.Error("cannot encode JSON response", "err", err)
		code = http.StatusInternalServerError
		b, _ = json.Marshal(map[string]string{"error": "cannot encode response: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

// promLogger passes promhttp's errors (a failing collector) to slog.
type promLogger struct{ log *slog.Logger }

func (l promLogger) Println(v ...any) {
	l.log.Error("serving metrics: " + strings.TrimSpace(fmt.Sprintln(v...)))
}
