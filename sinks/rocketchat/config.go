package rocketchat

import (
	_ "embed"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/heraldhq/herald/plugins/sdk"
)

//go:embed sample.toml
var sampleConfig []byte

// SampleConfig returns an annotated example [[sink]] block for this sink. The
// README shows the same text, and a test feeds it to Configure.
func SampleConfig() []byte { return append([]byte(nil), sampleConfig...) }

// DefaultMaxText is Rocket.Chat's default Message_MaxAllowedSize: a message
// text longer than this is refused with error-message-size-exceeded.
const DefaultMaxText = 5000

// minMaxText leaves room for a summary line and the truncation mark.
const minMaxText = 100

// config is the [sink.config] table. Exactly one of URL (incoming-webhook
// mode) and Server (REST mode) is set.
type config struct {
	// URL is the incoming webhook: https://chat.example.com/hooks/<id>/<token>.
	// It is a secret.
	URL string `json:"url"`

	// Server is the base URL of the Rocket.Chat server for REST mode.
	Server string `json:"server"`
	// UserID and Token authenticate REST calls (X-User-Id, X-Auth-Token);
	// Token is a secret (a personal access token).
	UserID string `json:"user_id"`
	Token  string `json:"token"`
	// RoomID is the room to post to; Channel names it instead and is looked
	// up once, at the first Send. In webhook mode Channel overrides the
	// integration's channel (the integration must allow that).
	RoomID  string `json:"room_id"`
	Channel string `json:"channel"`

	// Alias, Emoji and Avatar shape how the poster looks. Alias and Avatar
	// need the message-impersonate permission in REST mode.
	Alias  string `json:"alias"`
	Emoji  string `json:"emoji"`
	Avatar string `json:"avatar"`

	// MaxText caps message and attachment text, in UTF-16 code units as the
	// server counts them; 0 means DefaultMaxText.
	MaxText int `json:"max_text"`

	Timeout            sdk.Duration `json:"timeout"`
	CAFile             string       `json:"ca_file"`
	InsecureSkipVerify bool         `json:"insecure_skip_verify"`
}

// mode is how the sink talks to Rocket.Chat.
type mode int

const (
	modeWebhook mode = iota + 1
	modeREST
)

func (m mode) String() string {
	if m == modeREST {
		return "rest"
	}
	return "webhook"
}

// settings is a validated config.
type settings struct {
	mode mode

	hook *url.URL // webhook mode

	server   *url.URL // REST mode, without a trailing slash
	userID   string
	token    string
	roomID   string
	roomName string // REST mode: channel without its '#', when room_id is unset

	channel string // webhook mode: destination override, as given

	alias, emoji, avatar string
	maxText              int
}

// parseConfig decodes and validates raw. It does no I/O. Errors name the key
// and never quote the webhook URL or the token.
func parseConfig(raw []byte) (config, settings, error) {
	var c config
	if err := sdk.DecodeConfig(raw, &c); err != nil {
		return c, settings{}, err
	}
	s := settings{
		alias:   strings.TrimSpace(c.Alias),
		emoji:   strings.TrimSpace(c.Emoji),
		avatar:  strings.TrimSpace(c.Avatar),
		maxText: c.MaxText,
	}
	var errs []error
	switch {
	case c.MaxText == 0:
		s.maxText = DefaultMaxText
	case c.MaxText < minMaxText:
		errs = append(errs, fmt.Errorf("config key \"max_text\": must be at least %d, got %d", minMaxText, c.MaxText))
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("config key \"timeout\": must not be negative"))
	}
	if s.emoji != "" && (len(s.emoji) < 3 || !strings.HasPrefix(s.emoji, ":") || !strings.HasSuffix(s.emoji, ":")) {
		errs = append(errs, fmt.Errorf("config key \"emoji\": must be a shortcode such as \":rotating_light:\", got %q", s.emoji))
	}
	if s.avatar != "" {
		if u, err := url.Parse(s.avatar); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, errors.New("config key \"avatar\": must be an http(s) URL of an image"))
		}
	}

	switch {
	case c.URL != "" && c.Server != "":
		errs = append(errs, errors.New("config keys \"url\" and \"server\": set url for an incoming webhook or server for the REST API, not both"))
	case c.URL != "":
		s.mode = modeWebhook
		errs = append(errs, s.webhook(c)...)
	case c.Server != "":
		s.mode = modeREST
		errs = append(errs, s.rest(c)...)
	default:
		errs = append(errs, errors.New("config key \"url\" (incoming webhook) or \"server\" (REST API) is required"))
	}
	return c, s, errors.Join(errs...)
}

func (s *settings) webhook(c config) []error {
	var errs []error
	u, err := url.Parse(strings.TrimSpace(c.URL))
	// Never quote the URL or url.Parse's error (which does): the token is in it.
	switch {
	case err != nil:
		errs = append(errs, errors.New("config key \"url\": not a valid URL"))
	case u.Scheme != "http" && u.Scheme != "https":
		errs = append(errs, errors.New("config key \"url\": must start with https:// (or http://)"))
	case u.Host == "":
		errs = append(errs, errors.New("config key \"url\": has no host"))
	case !isHookPath(u.Path):
		errs = append(errs, errors.New("config key \"url\": must look like https://chat.example.com/hooks/<integration id>/<token>; copy it from Administration > Integrations"))
	case u.RawQuery != "" || u.Fragment != "":
		errs = append(errs, errors.New("config key \"url\": must not have a query or fragment"))
	default:
		s.hook = u
	}
	for _, kv := range [][2]string{{"user_id", c.UserID}, {"token", c.Token}, {"room_id", c.RoomID}} {
		if kv[1] != "" {
			errs = append(errs, fmt.Errorf("config key %q: belongs to REST mode (server); an incoming webhook (url) posts where its integration says, or to channel", kv[0]))
		}
	}
	if ch := strings.TrimSpace(c.Channel); ch != "" {
		s.channel = ch
	}
	return errs
}

// isHookPath reports whether p ends in /hooks/<id>/<token> or the legacy
// /hooks/<id>/<user id>/<token>. A prefix before /hooks/ is allowed for
// servers behind a sub-path.
func isHookPath(p string) bool {
	i := strings.LastIndex(p, "/hooks/")
	if i < 0 {
		return false
	}
	segs := strings.Split(strings.TrimSuffix(p[i+len("/hooks/"):], "/"), "/")
	if len(segs) != 2 && len(segs) != 3 {
		return false
	}
	for _, seg := range segs {
		if seg == "" {
			return false
		}
	}
	return true
}

func (s *settings) rest(c config) []error {
	var errs []error
	u, err := url.Parse(strings.TrimSpace(c.Server))
	switch {
	case err != nil:
		errs = append(errs, errors.New("config key \"server\": not a valid URL"))
	case u.Scheme != "http" && u.Scheme != "https":
		errs = append(errs, errors.New("config key \"server\": must start with https:// (or http://)"))
	case u.Host == "":
		errs = append(errs, errors.New("config key \"server\": has no host"))
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		errs = append(errs, errors.New("config key \"server\": must be a plain base URL such as https://chat.example.com"))
	case strings.Contains(u.Path, "/api/") || strings.Contains(u.Path, "/hooks/"):
		errs = append(errs, errors.New("config key \"server\": must be the server's base URL such as https://chat.example.com, without /api/... or /hooks/..."))
	default:
		u.Path = strings.TrimRight(u.Path, "/")
		u.RawPath = ""
		s.server = u
	}
	s.userID = strings.TrimSpace(c.UserID)
	s.token = strings.TrimSpace(c.Token)
	if s.userID == "" {
		errs = append(errs, errors.New("config key \"user_id\": required with server (the id of the user the token belongs to)"))
	}
	if s.token == "" {
		errs = append(errs, errors.New("config key \"token\": required with server (a personal access token)"))
	}
	s.roomID = strings.TrimSpace(c.RoomID)
	ch := strings.TrimSpace(c.Channel)
	switch {
	case s.roomID != "" && ch != "":
		errs = append(errs, errors.New("config keys \"room_id\" and \"channel\": set one, not both"))
	case s.roomID != "":
	case ch == "":
		errs = append(errs, errors.New("config key \"room_id\" or \"channel\" is required with server"))
	case strings.HasPrefix(ch, "@"):
		errs = append(errs, fmt.Errorf("config key \"channel\": %q is a user; for direct messages set room_id to the DM room's id", ch))
	default:
		s.roomName = strings.TrimPrefix(ch, "#")
		if s.roomName == "" || strings.ContainsAny(s.roomName, " /#") {
			errs = append(errs, fmt.Errorf("config key \"channel\": %q is not a room name such as \"#alerts\"", ch))
		}
	}
	return errs
}

// target describes where the sink posts, safely: no token, no webhook path.
func (s settings) target() string {
	switch s.mode {
	case modeWebhook:
		if s.hook == nil {
			return ""
		}
		return s.hook.Scheme + "://" + s.hook.Host + "/hooks/…"
	case modeREST:
		if s.server == nil {
			return ""
		}
		return s.server.String()
	}
	return ""
}
