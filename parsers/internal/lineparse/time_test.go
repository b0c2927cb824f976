package lineparse

import (
	"strings"
	"testing"
	"time"
)

func TestTimeFormat(t *testing.T) {
	tests := []struct {
		format, value string
		want          time.Time // zero: Parse must fail
		newErr        string
	}{
		{"", "2024-05-01T10:00:00Z", time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC), ""},
		{"", "2024-05-01T10:00:00.123456+02:00", time.Date(2024, 5, 1, 8, 0, 0, 123456000, time.UTC), ""},
		{"", "2024-05-01 10:00:00", time.Time{}, ""},
		{"2006-01-02 15:04:05", "2024-05-01 10:00:00", time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC), ""},
		{"unix", "1714557600", time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC), ""},
		{"unix", "1714557600.5", time.Date(2024, 5, 1, 10, 0, 0, 5e8, time.UTC), ""},
		{"unix", "-1.5", time.Unix(-2, 5e8), ""},
		{"unix", "1.", time.Time{}, ""},
		{"unix", "x", time.Time{}, ""},
		{"unix", "99999999999999", time.Time{}, ""},
		{"unix_ms", "1714557600250", time.Date(2024, 5, 1, 10, 0, 0, 250e6, time.UTC), ""},
		{"unix_us", "1714557600000001", time.Date(2024, 5, 1, 10, 0, 0, 1000, time.UTC), ""},
		{"unix_ns", "1714557600000000001", time.Date(2024, 5, 1, 10, 0, 0, 1, time.UTC), ""},
		{"yyyy-MM-dd", "", time.Time{}, "is not a Go time layout"},
	}
	for _, tt := range tests {
		f, err := NewTimeFormat(tt.format)
		if tt.newErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.newErr) {
				t.Errorf("NewTimeFormat(%q) error = %v, want %q", tt.format, err, tt.newErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("NewTimeFormat(%q): %v", tt.format, err)
		}
		got, err := f.Parse(tt.value)
		if tt.want.IsZero() {
			if err == nil {
				t.Errorf("%q.Parse(%q) = %v, want an error", tt.format, tt.value, got)
			}
			continue
		}
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("%q.Parse(%q) = %v, %v; want %v", tt.format, tt.value, got, err, tt.want)
		}
	}
}
