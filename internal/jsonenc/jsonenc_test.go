package jsonenc

import (
	"bytes"
	"encoding/json"
	"testing"
)

var nasty = []string{
	"", "plain", `quote " backslash \ slash /`, "<script>&amp;</script>",
	"tab\tnewline\ncr\rbell\afeed\fback\b", "\x00\x01\x1f\x7f",
	"é ü ß 日本語 🙂", "\u2028 line sep \u2029 para sep",
	"bad utf-8 \xff\xfe end", "truncated \xe6\x97", `C:\ProgramData\Qlik\Sense\Log`,
}

func TestAppendStringMatchesMarshal(t *testing.T) {
	for _, s := range nasty {
		want, _ := json.Marshal(s)
		if got := AppendString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("AppendString(%q) = %s, json.Marshal = %s", s, got, want)
		}
		// Appending keeps what is already there.
		if got := AppendString([]byte("x:"), s); !bytes.Equal(got, append([]byte("x:"), want...)) {
			t.Errorf("AppendString after a prefix = %s", got)
		}
	}
}

// FuzzAppendString holds the escaping to encoding/json's.
func FuzzAppendString(f *testing.F) {
	for _, s := range nasty {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("AppendString(%q) = %s, json.Marshal = %s", s, got, want)
		}
	})
}
