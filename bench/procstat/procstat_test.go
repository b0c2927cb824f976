package procstat

import (
	"os"
	"strings"
	"testing"
)

func TestParseSmapsRollup(t *testing.T) {
	b, err := os.ReadFile("testdata/smaps_rollup") // a kernel 6 rollup, Pss and Anonymous edited
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseSmapsRollup("testdata/smaps_rollup", b)
	if err != nil {
		t.Fatal(err)
	}
	// Pss_Anon, Pss_File and Pss_Dirty must not be taken for Pss.
	if want := (Memory{PSS: 12345 << 10, Anonymous: 6789 << 10}); m != want {
		t.Errorf("got %+v, want %+v", m, want)
	}

	for _, tc := range []struct{ name, text, want string }{
		{"empty", "", "no Pss and Anonymous"},
		{"no anonymous", "Rss: 10 kB\nPss: 5 kB\n", "no Pss and Anonymous"},
		{"bad number", "Pss: five kB\nAnonymous: 1 kB\n", "Pss"},
	} {
		_, err := parseSmapsRollup("/proc/1/smaps_rollup", []byte(tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "/proc/1/smaps_rollup") {
			t.Errorf("%s: error %v, want one naming the file and %q", tc.name, err, tc.want)
		}
	}
}

func TestTotalMemory(t *testing.T) {
	got := TotalMemory([]Memory{{PSS: 10, Anonymous: 4}, {PSS: 5, Anonymous: 1}})
	if got != (Memory{PSS: 15, Anonymous: 5}) {
		t.Errorf("TotalMemory = %+v", got)
	}
}
