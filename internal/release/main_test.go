package main

import (
	"bytes"
	"context"
	"debug/elf"
	"debug/pe"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("needs %s in PATH: %v", name, err)
	}
}

// TestRelease builds the stand-in program for this machine and for one other
// platform, as a release does, and checks what a user downloads: the file
// names, the embedded version, stripped and path-free binaries, and
// SHA256SUMS.
func TestRelease(t *testing.T) {
	needTool(t, "go")
	host := runtime.GOOS + "/" + runtime.GOARCH
	other := "windows/amd64"
	if runtime.GOOS == "windows" {
		other = "linux/amd64"
	}
	out := filepath.Join(t.TempDir(), "dist")
	args := []string{"-version", "v1.2.3", "-commit", "0123abc", "-date", "2026-01-02T03:04:05Z",
		"-out", out, "-targets", host + "," + other, "-pkg", "./testdata/fakeherald", "-name", "fakeherald",
		"-windows-config", sampleConfig, "-msi=false"} // TestWindowsPackages checks the packages
	var log bytes.Buffer
	if err := run(context.Background(), args, &log); err != nil {
		t.Fatalf("release: %v\n%s", err, log.String())
	}

	o := options{Name: "fakeherald", Version: "v1.2.3"}
	hostFile := o.fileName(runtime.GOOS, runtime.GOARCH)
	otherOS, otherArch, _ := strings.Cut(other, "/")
	otherFile := o.fileName(otherOS, otherArch)
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	built := []string{hostFile, otherFile, o.windowsName("zip")}
	if want := slices.Sorted(slices.Values(append([]string{"SHA256SUMS"}, built...))); !slices.Equal(names, want) {
		t.Fatalf("%s holds %q, want %q", out, names, want)
	}

	got, err := exec.Command(filepath.Join(out, hostFile)).Output()
	if err != nil {
		t.Fatalf("running %s: %v", hostFile, err)
	}
	if want := "version=v1.2.3 commit=0123abc date=2026-01-02T03:04:05Z\n"; string(got) != want {
		t.Errorf("%s printed %q, want %q", hostFile, got, want)
	}

	src, err := filepath.Abs("testdata/fakeherald")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{hostFile, otherFile} {
		path := filepath.Join(out, name)
		bin, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(bin, []byte(filepath.ToSlash(src))) || bytes.Contains(bin, []byte(src)) {
			t.Errorf("%s contains the build directory %s: not built with -trimpath", name, src)
		}
		if leftovers := unstripped(t, path); len(leftovers) > 0 {
			t.Errorf("%s is not stripped: it has %s", name, strings.Join(leftovers, ", "))
		}
	}

	sums, err := os.ReadFile(filepath.Join(out, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for _, name := range slices.Sorted(slices.Values(built)) {
		sum, err := fileSHA256(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		want.WriteString(sum + "  " + name + "\n")
	}
	if string(sums) != want.String() {
		t.Errorf("SHA256SUMS:\n%s\nwant:\n%s", sums, want.String())
	}
	if _, err := exec.LookPath("sha256sum"); err == nil {
		check := exec.Command("sha256sum", "-c", "SHA256SUMS")
		check.Dir = out
		if b, err := check.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c SHA256SUMS: %v\n%s", err, b)
		}
	}

	// A second release into the same directory would mix old files into it.
	err = run(context.Background(), args, &log)
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("release into a used directory: %v, want an error saying it is not empty", err)
	}
}

// unstripped lists what -s -w should have removed: the symbol table and DWARF.
func unstripped(t *testing.T, path string) []string {
	t.Helper()
	var found []string
	if f, err := elf.Open(path); err == nil {
		defer f.Close()
		for _, s := range f.Sections {
			if s.Name == ".symtab" || strings.HasPrefix(s.Name, ".debug_") || strings.HasPrefix(s.Name, ".zdebug_") {
				found = append(found, s.Name)
			}
		}
		return found
	}
	f, err := pe.Open(path)
	if err != nil {
		t.Fatalf("%s is neither ELF nor PE: %v", path, err)
	}
	defer f.Close()
	if n := len(f.Symbols); n > 0 {
		found = append(found, "a COFF symbol table")
	}
	for _, s := range f.Sections {
		if strings.HasPrefix(s.Name, ".debug_") || strings.HasPrefix(s.Name, ".zdebug_") {
			found = append(found, s.Name)
		}
	}
	return found
}

func TestPrintLdflags(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"-print-ldflags", "-version", "v1.0.0", "-commit", "abc", "-date", "2026-01-02T03:04:05Z"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if want := "-s -w -X main.version=v1.0.0 -X main.commit=abc -X main.date=2026-01-02T03:04:05Z\n"; out.String() != want {
		t.Errorf("-print-ldflags printed %q, want %q", out.String(), want)
	}
}

func TestBadOptions(t *testing.T) {
	base := []string{"-print-ldflags", "-commit", "abc", "-date", "2026-01-02T03:04:05Z"}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-version", "v1 beta"}, `-version "v1 beta" must be non-empty, without spaces`},
		{[]string{"-version", "../v1"}, `-version "../v1" must be non-empty, without spaces, quotes or path characters`},
		{[]string{"-version", "v1", "-date", "yesterday"}, `-date "yesterday" is not an RFC 3339 time`},
		{[]string{"-version", "v1", "-targets", "windows"}, `target "windows" is not GOOS/GOARCH`},
		{[]string{"-version", "v1", "extra"}, `unexpected arguments ["extra"]`},
	}
	for _, tt := range tests {
		err := run(context.Background(), append(slices.Clone(base), tt.args...), &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want one containing %q", tt.args, err, tt.want)
		}
	}
}

// TestDefaultsFromGit checks the version, commit and date a release gets
// without flags: from git, with the date in UTC, or from SOURCE_DATE_EPOCH.
func TestDefaultsFromGit(t *testing.T) {
	needTool(t, "git")
	dir := t.TempDir()
	gitIn := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(),
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
			"GIT_AUTHOR_DATE=2026-01-02T04:04:05+01:00", "GIT_COMMITTER_DATE=2026-01-02T04:04:05+01:00")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("git %s: %v", strings.Join(args, " "), err)
		}
		return strings.TrimSpace(string(out))
	}
	gitIn("init", "-q")
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitIn("add", "f")
	gitIn("commit", "-q", "-m", "first")
	gitIn("tag", "v0.9.0")
	head := gitIn("rev-parse", "HEAD")
	t.Chdir(dir)
	t.Setenv("SOURCE_DATE_EPOCH", "")

	ldflags := func() string {
		t.Helper()
		var out bytes.Buffer
		if err := run(context.Background(), []string{"-print-ldflags"}, &out); err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out.String())
	}
	want := "-s -w -X main.version=v0.9.0 -X main.commit=" + head + " -X main.date=2026-01-02T03:04:05Z"
	if got := ldflags(); got != want {
		t.Errorf("tagged commit: %s\nwant %s", got, want)
	}
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "1767323045")
	want = "-s -w -X main.version=v0.9.0-dirty -X main.commit=" + head + " -X main.date=2026-01-02T03:04:05Z"
	if got := ldflags(); got != want {
		t.Errorf("changed tree, SOURCE_DATE_EPOCH: %s\nwant %s", got, want)
	}
}

// TestHeraldHasVersionVariables ties the -X flags to cmd/herald: its package
// main must declare the string variables version, commit and date.
func TestHeraldHasVersionVariables(t *testing.T) {
	pkgs, err := parser.ParseDir(token.NewFileSet(), filepath.Join("..", "..", "cmd", "herald"), func(fi os.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, f := range pkgs["main"].Files {
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, s := range gd.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i < len(vs.Values) {
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							found[n.Name] = true
						}
					}
				}
			}
		}
	}
	for _, name := range []string{"version", "commit", "date"} {
		if !found[name] {
			t.Errorf("cmd/herald declares no string variable main.%s for -X main.%s=...", name, name)
		}
	}
}
