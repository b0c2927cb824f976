package main

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
)

// TestLogPathsAsTyped logs Windows paths through the agent's text logger: a
// path is written as the admin typed it, and every value still reads back
// exactly under logfmt's rules (bare to the next space, or a Go-quoted string).
func TestLogPathsAsTyped(t *testing.T) {
	tests := []struct {
		name, value, want string
	}{
		{"path", `C:\ProgramData\Herald\herald.db`, `C:\ProgramData\Herald\herald.db`},
		{"trailing backslash", `C:\ProgramData\Herald\`, `C:\ProgramData\Herald\`},
		{"UNC share", `\\fileserver\QlikShare\ArchivedLogs`, `\\fileserver\QlikShare\ArchivedLogs`},
		{"user", `INTERNAL\sa_scheduler`, `INTERNAL\sa_scheduler`},
		{"space: quoted, escaped", `C:\Program Files\Herald`, `"C:\\Program Files\\Herald"`},
		{"quote inside", `C:\a"b`, `"C:\\a\"b"`},
		{"equals sign", `C:\a=b`, `"C:\\a=b"`},
		{"newline", "C:\\a\nb", `"C:\\a\nb"`},
		{"no backslash", `plain`, `plain`},
		{"no backslash, space", `two words`, `"two words"`},
		{"empty", ``, `""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			newLogger(&buf, "info", "text").Info(`opened C:\x`, "path", tt.value, "n", 1)
			line := strings.TrimSuffix(buf.String(), "\n")
			if !strings.Contains(line, ` msg="opened C:\\x" path=`+tt.want+` n=1`) {
				t.Fatalf("line %s\nwant path=%s", line, tt.want)
			}
			got := tt.want
			if strings.HasPrefix(got, `"`) {
				var err error
				if got, err = strconv.Unquote(got); err != nil {
					t.Fatal(err)
				}
			}
			if got != tt.value {
				t.Errorf("reads back as %q, want %q", got, tt.value)
			}
		})
	}
}

// TestLogJSONUnchanged: the JSON log escapes backslashes, as JSON must.
func TestLogJSONUnchanged(t *testing.T) {
	var buf bytes.Buffer
	newLogger(&buf, "info", "json").Info("opened", "path", `C:\ProgramData\Herald`)
	if !strings.Contains(buf.String(), `"path":"C:\\ProgramData\\Herald"`) {
		t.Errorf("json line %s", buf.String())
	}
}
