package butlerimport

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// goldenCases are the Butler files under testdata/ with their expected
// output: <name>.out is what `herald import butler` prints on stdout,
// <name>.err what it prints on stderr.
var goldenCases = []string{"butler", "no-destinations", "edge"}

func convertFile(t *testing.T, name string, opts Options) *Result {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	opts.Source = name + ".yaml"
	res, err := Convert(data, opts)
	if err != nil {
		t.Fatalf("Convert: %v", err)
	}
	return res
}

func TestGolden(t *testing.T) {
	for _, name := range goldenCases {
		t.Run(name, func(t *testing.T) {
			res := convertFile(t, name, Options{})
			golden(t, name+".out", res.Document())
			golden(t, name+".err", []byte(strings.Join(res.Messages(), "\n")+"\n"))

			again := convertFile(t, name, Options{})
			if !bytes.Equal(again.Document(), res.Document()) || strings.Join(again.Messages(), "\n") != strings.Join(res.Messages(), "\n") {
				t.Error("a second conversion of the same file gave different output")
			}
		})
	}
}

func golden(t *testing.T, file string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", file)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (go test -update rewrites it; the rules follow rules/packs/qliksense.toml):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
