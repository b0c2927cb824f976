package httpauth

import (
	"net/http/httptest"
	"testing"
)

func TestRequestToken(t *testing.T) {
	tests := []struct {
		name, target, auth string
		tok, from          string
	}{
		{"none", "/a", "", "", ""},
		{"bearer", "/a", "Bearer t1", "t1", FromHeader},
		{"bearer in lower case", "/a", "bearer t1", "t1", FromHeader},
		{"bearer in mixed case", "/a", "bEaReR t1", "t1", FromHeader},
		{"query", "/a?token=t2", "", "t2", FromQuery},
		{"header beats query", "/a?token=t2", "Bearer t1", "t1", FromHeader},
		{"empty query does not beat header", "/a?token=", "Bearer t1", "t1", FromHeader},
		{"empty query alone", "/a?token=", "", "", ""},
		{"empty bearer falls back to query", "/a?token=t2", "Bearer ", "t2", FromQuery},
		{"basic is no token", "/a", "Basic dXNlcjpwYXNz", "", ""},
		{"scheme without a space", "/a", "Bearert1", "", ""},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", tt.target, nil)
		if tt.auth != "" {
			r.Header.Set("Authorization", tt.auth)
		}
		if tok, from := RequestToken(r); tok != tt.tok || from != tt.from {
			t.Errorf("%s: got %q from %q, want %q from %q", tt.name, tok, from, tt.tok, tt.from)
		}
	}
}

func TestSecret(t *testing.T) {
	s := NewSecret("s3cret")
	for tok, want := range map[string]bool{"s3cret": true, "s3cre": false, "s3crett": false, "": false, "S3CRET": false} {
		if got := s.Matches(tok); got != want {
			t.Errorf("Matches(%q) = %v, want %v", tok, got, want)
		}
	}
	if (Secret{}).Matches("") || NewSecret("").Matches("") {
		t.Error("an empty secret matches")
	}
}
