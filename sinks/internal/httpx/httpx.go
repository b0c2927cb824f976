// Package httpx holds what Herald's HTTP sinks share: a client with timeouts
// and custom CAs, the classification of HTTP answers into sdk outcomes,
// Retry-After and rate-limit reset parsing, and the redaction that keeps
// webhook secrets out of reasons, errors and logs.
//
// It classifies; it never retries or sleeps. That is the agent's job.
package httpx

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/heraldhq/herald/plugins/sdk"
)

// DefaultTimeout bounds one request, from dialling to reading the answer, when
// a sink's config sets no timeout.
const DefaultTimeout = 10 * time.Second

// UserAgent is sent with every request.
const UserAgent = "Herald"

const (
	// maxBody is how much of an answer is kept for parsing and reasons.
	maxBody = 64 << 10
	// maxDrain is how much more is read and discarded so that the connection
	// can be reused; a larger answer costs a new connection instead.
	maxDrain = 256 << 10
	// maxReason caps the part of a reason quoted from an answer's body or
	// from a transport error (which may quote a malformed answer).
	maxReason = 512
)

// ClientConfig is the transport part of a sink's config.
type ClientConfig struct {
	// Timeout bounds each request; zero means DefaultTimeout.
	Timeout time.Duration
	// CAFile names a PEM file of CA certificates trusted in addition to the
	// system roots (for servers with self-signed or private-CA certificates).
	CAFile string
	// InsecureSkipVerify turns off TLS certificate verification.
	InsecureSkipVerify bool
	// Concurrency is how many requests the sink may have in flight at once
	// (see SendConcurrently); the client keeps as many idle connections, so
	// that none is closed after its request only to be dialled again for
	// the next. Zero or one: one request at a time.
	Concurrency int
	// Redactor scrubs the sink's secrets from every error and reason the
	// Client produces. Nil scrubs nothing.
	Redactor *Redactor
}

// Client sends requests and turns what happens into text and outcomes that
// are safe to show. It is safe for concurrent use.
type Client struct {
	// transport sends the requests. The Client calls it directly rather
	// than through an http.Client, which for every request would copy its
	// headers (for redirects, which a sink never follows), fork the request
	// and run a goroutine with a timer for the timeout: a sixth of a webhook
	// request's allocations and some 6 % of its CPU time (BenchmarkSend in
	// sinks/webhook).
	transport http.RoundTripper
	timeout   time.Duration
	redact    *Redactor
	now       func() time.Time
}

// NewClient builds a Client. It reads CAFile but makes no network I/O, so it is
// fit for a sink's Configure. Errors name the config key at fault.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.Timeout < 0 {
		return nil, errors.New("timeout: must not be negative")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.CAFile != "" && cfg.InsecureSkipVerify {
		return nil, errors.New("ca_file and insecure_skip_verify: set one or the other, not both")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = max(cfg.Concurrency, http.DefaultMaxIdleConnsPerHost)
	// A sink reads at most a short answer; asking every destination for gzip
	// would cost a header per request and a decompressor per answer.
	tr.DisableCompression = true
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.InsecureSkipVerify {
		tr.TLSClientConfig.InsecureSkipVerify = true
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file: no PEM certificate found in %s", cfg.CAFile)
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	// A redirect is not followed, unlike with an http.Client by default: it
	// would carry the request, and perhaps its credential, somewhere the
	// user did not configure; Go would also turn a POST into a GET. A 3xx
	// is reported instead (see Classify).
	return &Client{transport: tr, timeout: cfg.Timeout, redact: cfg.Redactor, now: time.Now}, nil
}

// Redact scrubs the client's secrets from s.
func (c *Client) Redact(s string) string { return c.redact.Redact(s) }

// Timeout is the per-request timeout in force.
func (c *Client) Timeout() time.Duration { return c.timeout }

// Response is a completed HTTP exchange, its body read (up to 64 KiB) and closed.
type Response struct {
	StatusCode int
	Status     string // "404 Not Found"
	Header     http.Header
	Body       []byte
}

// OK reports whether the status is 2xx.
func (r *Response) OK() bool { return r.StatusCode >= 200 && r.StatusCode < 300 }

// Do sends req. A transport failure (refused, reset, DNS, TLS, timeout,
// cancellation) is returned as an error whose text is safe to show: the URL is
// reduced to scheme and host and every known secret is scrubbed.
//
// Like an http.Client, Do sends credentials in the URL (user:password@host)
// as Basic authentication, unless req has an Authorization header; unlike
// one, it never follows a redirect.
func (c *Client) Do(req *http.Request) (*Response, error) {
	if req.Header == nil {
		req.Header = make(http.Header)
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", UserAgent)
	}
	if u := req.URL.User; u != nil && req.Header.Get("Authorization") == "" {
		password, _ := u.Password()
		req.Header = req.Header.Clone() // the caller's may be shared
		req.SetBasicAuth(u.Username(), password)
	}
	// The timeout covers the whole exchange, reading the answer included.
	ctx, cancel := context.WithTimeoutCause(req.Context(), c.timeout, errTimeout)
	defer cancel()
	resp, err := c.transport.RoundTrip(req.WithContext(ctx))
	if err != nil {
		return nil, c.transportError(req, err, context.Cause(ctx) == errTimeout)
	}
	defer resp.Body.Close()
	var body []byte
	if resp.ContentLength != 0 { // a 204, or a 200 with Content-Length: 0, has none
		// The status is what counts; a body cut short only costs detail.
		body, _ = io.ReadAll(io.LimitReader(resp.Body, maxBody))
		// Read to the end, so that the connection can carry the next request.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	}
	return &Response{StatusCode: resp.StatusCode, Status: resp.Status, Header: resp.Header, Body: body}, nil
}

// errTimeout is why a request's context ends when the Client's timeout is up.
var errTimeout = errors.New("timeout")

// transportError explains err, which ended req; timedOut tells whether the
// Client's timeout ended it.
func (c *Client) transportError(req *http.Request, err error, timedOut bool) error {
	where := req.Method + " " + RedactURL(req.URL)
	var msg string
	switch ctxErr := req.Context().Err(); {
	case errors.Is(ctxErr, context.Canceled):
		msg = "cancelled before an answer arrived"
	case errors.Is(ctxErr, context.DeadlineExceeded):
		msg = "deadline exceeded before an answer arrived"
	case timedOut || isTimeout(err):
		msg = fmt.Sprintf("no answer within the timeout of %s", c.timeout)
	default:
		// url.Error quotes the whole URL, secret and all; keep only its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		msg = err.Error()
	}
	// The cause may quote the answer (a malformed header line, in full):
	// bound it like a quoted body, after redaction, so that no cut can leave
	// part of a secret behind.
	return &TransportError{msg: Truncate(c.redact.Redact(where+": "+msg), len(where)+2+maxReason), err: err}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// TransportError is a request that got no HTTP answer. Its text is redacted;
// Unwrap gives the cause for errors.Is checks, whose own text is not safe to show.
type TransportError struct {
	msg string
	err error
}

func (e *TransportError) Error() string { return e.msg }
func (e *TransportError) Unwrap() error { return e.err }

// Failed turns a transport error into a Retryable result: nothing reached the
// destination, or its answer was lost, so trying again is the right thing.
func (c *Client) Failed(err error) sdk.Result {
	return sdk.Retry(c.redact.Redact(err.Error()), time.Time{})
}

// Refused turns a non-2xx answer into a result. The outcome follows Classify;
// a retryable one carries the time the destination asked to wait for (see
// RetryAt). The reason names the status and, when given, detail: typically the
// destination's own error message, or the start of the body (see BodyText).
// The reason is redacted.
func (c *Client) Refused(resp *Response, detail string) sdk.Result {
	reason := "HTTP " + resp.Status
	if resp.Status == "" {
		reason = fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	// Redact before truncating: a cut through a secret would leave its
	// start, which the redactor no longer recognises.
	if detail = Truncate(strings.TrimSpace(c.redact.Redact(detail)), maxReason); detail != "" {
		reason += ": " + detail
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		reason += " (redirects are not followed: configure the final URL)"
	}
	reason = c.redact.Redact(reason)
	switch Classify(resp.StatusCode) {
	case sdk.Accepted:
		return sdk.Accept("")
	case sdk.Retryable:
		return sdk.Retry(reason, RetryAt(resp.StatusCode, resp.Header, c.now()))
	default:
		return sdk.Reject(reason)
	}
}

// Classify maps an HTTP status to an outcome, as Standard Webhooks and
// Alertmanager do: 2xx accepted; 408 (request timeout), 429 (rate limited) and
// 5xx retryable; anything else (other 4xx, 3xx, 1xx) rejected, because sending
// the same request again would get the same answer.
func Classify(status int) sdk.Outcome {
	switch {
	case status >= 200 && status < 300:
		return sdk.Accepted
	case status == http.StatusRequestTimeout, status == http.StatusTooManyRequests, status >= 500 && status < 600:
		return sdk.Retryable
	default:
		return sdk.Rejected
	}
}

// MaxRetryDelay caps how far ahead a destination can push a retry. A broken or
// hostile header must not park events for years; SIGNL4's longest window,
// a day, still fits.
const MaxRetryDelay = 24 * time.Hour

// RetryAt returns when a retryable answer says to try again, or zero when it
// does not say. Retry-After (delta seconds or an HTTP date) is honoured on any
// status; X-RateLimit-Reset only on 429, because SIGNL4 and Rocket.Chat send it
// on every answer and only a 429 means the window is what blocks. The result
// is never more than MaxRetryDelay after now, and a time already past is zero.
func RetryAt(status int, h http.Header, now time.Time) time.Time {
	at, ok := ParseRetryAfter(h.Get("Retry-After"), now)
	if !ok && status == http.StatusTooManyRequests {
		at, ok = ParseRateLimitReset(h.Get("X-RateLimit-Reset"), now)
	}
	if !ok || !at.After(now) {
		return time.Time{}
	}
	if limit := now.Add(MaxRetryDelay); at.After(limit) {
		return limit
	}
	return at
}

// ParseRetryAfter parses a Retry-After value: delta seconds or an HTTP date.
func ParseRetryAfter(v string, now time.Time) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, false
	}
	if n, ok := parseUint(v); ok {
		return now.Add(time.Duration(min(n, uint64(MaxRetryDelay/time.Second))) * time.Second), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// ParseRateLimitReset parses an X-RateLimit-Reset value. Services disagree on
// its unit, so the magnitude decides: above 1e12 it is Unix milliseconds
// (Rocket.Chat), above 1e9 Unix seconds (SIGNL4, GitHub), otherwise seconds
// from now (IETF RateLimit drafts).
func ParseRateLimitReset(v string, now time.Time) (time.Time, bool) {
	n, ok := parseUint(strings.TrimSpace(v))
	switch {
	case !ok:
		return time.Time{}, false
	case n > 1e12:
		return time.UnixMilli(int64(min(n, 1<<62))), true
	case n > 1e9:
		return time.Unix(int64(n), 0), true
	default:
		return now.Add(time.Duration(n) * time.Second), true
	}
}

func parseUint(s string) (uint64, bool) {
	if s == "" || len(s) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// BodyText returns the start of a body as one line of text for a reason:
// whitespace runs collapse to one space and control characters are dropped.
// It returns "" for a body that is not text.
func BodyText(body []byte) string {
	if !utf8.Valid(body) {
		return ""
	}
	return strings.Join(strings.FieldsFunc(string(body), func(r rune) bool {
		return r == ' ' || r < 0x20 || r == 0x7f
	}), " ")
}

// Truncate shortens s to at most n bytes, cutting at a rune boundary and
// marking the cut with "…".
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len(Redacted)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:max(cut, 0)] + Redacted
}
