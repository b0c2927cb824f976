package rocketchat

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestConfigErrors(t *testing.T) {
	const (
		hook  = "https://chat.example.com/hooks/6513a8f2c1d4/Xq3kT9vLmW2pR7sYbN4c"
		token = "personal-access-token-9876"
	)
	rest := func(extra map[string]any) map[string]any {
		c := map[string]any{"server": "https://chat.example.com", "user_id": "u1", "token": token, "room_id": "GENERAL"}
		for k, v := range extra {
			c[k] = v
		}
		return c
	}
	tests := []struct {
		name string
		cfg  map[string]any
		want string // in the error
	}{
		{"nothing", map[string]any{}, `"url" (incoming webhook) or "server" (REST API) is required`},
		{"unknown key", map[string]any{"url": hook, "colour": "red"}, "colour"},
		{"wrong type", map[string]any{"url": hook, "max_text": "big"}, "max_text"},
		{"webhook not hooks", map[string]any{"url": "https://chat.example.com/api/v1/Xq3kT9vLmW2pR7sYbN4c"}, `config key "url": must look like`},
		{"webhook ftp", map[string]any{"url": "ftp://chat.example.com/hooks/a/Xq3kT9vLmW2pR7sYbN4c"}, `config key "url": must start with https://`},
		{"webhook with room_id", map[string]any{"url": hook, "room_id": "GENERAL"}, `config key "room_id": belongs to REST mode`},
		{"bad emoji", map[string]any{"url": hook, "emoji": "rocket"}, `config key "emoji"`},
		{"bad avatar", map[string]any{"url": hook, "avatar": "herald.png"}, `config key "avatar"`},
		{"negative timeout", map[string]any{"url": hook, "timeout": "-1s"}, `config key "timeout"`},
		{"rest without token", rest(map[string]any{"token": ""}), `config key "token": required`},
		{"rest without user", rest(map[string]any{"user_id": ""}), `config key "user_id": required`},
		{"rest without room", rest(map[string]any{"room_id": ""}), `"room_id" or "channel" is required`},
		{"rest room and channel", rest(map[string]any{"channel": "#alerts"}), `"room_id" and "channel": set one`},
		{"rest DM by name", rest(map[string]any{"room_id": "", "channel": "@alice"}), `for direct messages set room_id`},
		{"rest api path", rest(map[string]any{"server": "https://chat.example.com/api/v1"}), `config key "server": must be the server's base URL`},
		{"rest credentials in server", rest(map[string]any{"server": "https://bot:" + token + "@chat.example.com"}), `config key "server": must be a plain base URL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, _ := json.Marshal(tt.cfg)
			_, _, err := parseConfig(raw)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
			for _, secret := range []string{"Xq3kT9vLmW2pR7sYbN4c", token} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error shows a secret: %v", err)
				}
			}
		})
	}
}

func TestConfigModes(t *testing.T) {
	_, s, err := parseConfig([]byte(`{"url":"https://chat.example.com/chat/hooks/id/user/tok3n-abc"}`))
	if err != nil || s.mode != modeWebhook || s.maxText != DefaultMaxText || s.target() != "https://chat.example.com/hooks/…" {
		t.Fatalf("legacy hook under a sub-path: %+v, %v", s, err)
	}
	_, s, err = parseConfig([]byte(`{"server":"https://chat.example.com/rc/","user_id":"u","token":"t0k3n","channel":"#alerts","max_text":4000}`))
	if err != nil || s.mode != modeREST || s.server.String() != "https://chat.example.com/rc" || s.roomName != "alerts" || s.maxText != 4000 {
		t.Fatalf("REST: %+v, %v", s, err)
	}
}
