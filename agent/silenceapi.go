package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/heraldhq/herald/agent/silence"
	"github.com/heraldhq/herald/internal/httpauth"
)

// PathSilences is where the agent's HTTP server answers for silences:
//
//	GET    /api/silences[?all=1]          the silences not over (all: also those ended in the last week)
//	POST   /api/silences                  add one: a SilenceRequest; answers 201 and the silence
//	DELETE /api/silences?id=ID[&by=NAME]  expire one now; answers 200 and the silence
//
// With [server] alerts_token set, every request must carry it (Authorization:
// Bearer, or ?token=). Without it, GET is open like /alerts, and POST and
// DELETE are accepted from loopback addresses only.
const PathSilences = "/api/silences"

// SilenceRequest is the body of POST /api/silences: a silence (its ID,
// Suppressed, ExpiredBy and Released are ignored), and optionally Duration
// ("2h", Go syntax) instead of EndsAt, counted from StartsAt or now.
type SilenceRequest struct {
	silence.Silence
	Duration string `json:"duration,omitempty"`
}

// maxSilenceBody bounds a POST body.
const maxSilenceBody = 64 << 10

func (a *Agent) silencesHandler() http.Handler {
	token := httpauth.NewSecret(a.cfg.Server.AlertsToken)
	hasToken := a.cfg.Server.AlertsToken != ""
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != PathSilences {
			writeAPIError(w, http.StatusNotFound, "not found")
			return
		}
		write := r.Method != http.MethodGet && r.Method != http.MethodHead
		switch {
		case hasToken:
			if tok, _ := httpauth.RequestToken(r); !token.Matches(tok) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="herald"`)
				writeAPIError(w, http.StatusUnauthorized, "missing or wrong token")
				return
			}
		case write && !fromLoopback(r):
			writeAPIError(w, http.StatusForbidden, "changing silences from another machine needs [server] alerts_token")
			return
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			list, err := a.Silences(r.URL.Query().Get("all") != "")
			if err != nil {
				a.apiError(w, err)
				return
			}
			writeAPIJSON(w, http.StatusOK, list)
		case http.MethodPost:
			var req SilenceRequest
			dec := json.NewDecoder(io.LimitReader(r.Body, maxSilenceBody))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&req); err != nil {
				writeAPIError(w, http.StatusBadRequest, "the body is not a silence: "+err.Error())
				return
			}
			s := req.Silence
			if req.Duration != "" {
				d, err := time.ParseDuration(req.Duration)
				if err != nil || d <= 0 {
					writeAPIError(w, http.StatusBadRequest, fmt.Sprintf("duration %q: want a positive Go duration such as 2h or 90m", req.Duration))
					return
				}
				if !s.EndsAt.IsZero() {
					writeAPIError(w, http.StatusBadRequest, "give duration or ends_at, not both")
					return
				}
				start := s.StartsAt
				if start.IsZero() {
					start = a.opts.Now()
					s.StartsAt = start
				}
				s.EndsAt = start.Add(d)
			}
			if s.CreatedBy == "" {
				s.CreatedBy = "api@" + remoteHost(r)
			}
			added, err := a.AddSilence(r.Context(), s)
			if err != nil {
				a.apiError(w, err)
				return
			}
			writeAPIJSON(w, http.StatusCreated, added)
		case http.MethodDelete:
			q := r.URL.Query()
			id, by := q.Get("id"), q.Get("by")
			if id == "" {
				writeAPIError(w, http.StatusBadRequest, "id is required: DELETE "+PathSilences+"?id=ID")
				return
			}
			if by == "" {
				by = "api@" + remoteHost(r)
			}
			if err := a.ExpireSilence(r.Context(), id, by); err != nil {
				a.apiError(w, err)
				return
			}
			list, err := a.Silences(true)
			if err != nil {
				a.apiError(w, err)
				return
			}
			for _, s := range list {
				if s.ID == id {
					writeAPIJSON(w, http.StatusOK, s)
					return
				}
			}
			writeAPIJSON(w, http.StatusOK, map[string]string{"id": id})
		default:
			w.Header().Set("Allow", "GET, HEAD, POST, DELETE")
			writeAPIError(w, http.StatusMethodNotAllowed, "method not allowed")
		}
	})
}

// apiError answers err with the status it calls for.
func (a *Agent) apiError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrInvalidSilence):
		writeAPIError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, ErrNoSilence):
		writeAPIError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, ErrNotRunning):
		writeAPIError(w, http.StatusServiceUnavailable, err.Error())
	default:
		a.log.Error("silences API failed", "err", err)
		writeAPIError(w, http.StatusInternalServerError, err.Error())
	}
}

func writeAPIError(w http.ResponseWriter, code int, msg string) {
	writeAPIJSON(w, code, map[string]string{"error": msg})
}

func writeAPIJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		code = http.StatusInternalServerError
		b, _ = json.Marshal(map[string]string{"error": err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

// fromLoopback reports whether r came from this machine.
func fromLoopback(r *http.Request) bool {
	ip := net.ParseIP(remoteHost(r))
	return ip != nil && ip.IsLoopback()
}

func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return strings.TrimSpace(r.RemoteAddr)
	}
	return host
}
