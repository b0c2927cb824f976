// Command release builds the herald binaries that are published: one per
// target, with the version, commit and build date embedded (herald version
// prints them), -trimpath, stripped (-s -w), without cgo; for windows/amd64
// also an MSI installer and a zip of the same layout; and SHA256SUMS over all.
//
//	go run ./internal/release -version v1.2.0
//
// writes
//
//	dist/herald_v1.2.0_linux_amd64
//	dist/herald_v1.2.0_linux_arm64
//	dist/herald_v1.2.0_windows_amd64.exe
//	dist/herald-v1.2.0-windows-amd64.msi
//	dist/herald-v1.2.0-windows-amd64.zip
//	dist/SHA256SUMS
//
// The MSI and the zip install herald.exe in C:\Program Files\Herald and the
// sample config (examples/windows/herald.toml) as
// C:\ProgramData\Herald\herald.toml. The MSI is built with wixl and msibuild
// from Debian's msitools (.ci/release installs them).
//
// The version defaults to `git describe --tags --always --dirty`, the commit
// to the checked-out commit, and the date to that commit's time (or
// SOURCE_DATE_EPOCH), so that building the same commit twice gives the same
// bytes: the binaries, the zip and SHA256SUMS's lines for them. The MSI is the
// exception: wixl 0.101 stamps it with the build time and a random package
// code. The output directory must be empty or absent: SHA256SUMS then lists
// exactly what was built.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// defaultTargets are the published platforms: Qlik Sense runs on Windows
// Server; the Linux builds serve Qlik's Linux-based deployments and tests.
var defaultTargets = []string{"windows/amd64", "linux/amd64", "linux/arm64"}

// options describes one release build.
type options struct {
	Version, Commit, Date string
	Out                   string   // output directory
	Targets               []string // GOOS/GOARCH
	Pkg                   string   // the main package
	Name                  string   // the binary's base name
	WindowsConfig         string   // the sample herald.toml the Windows packages install
	MSI                   bool     // build the MSI (needs msitools) besides the zip
}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("release", flag.ContinueOnError)
	var o options
	var targets string
	var printLdflags bool
	fs.StringVar(&o.Version, "version", "", "version to embed and put in the file names (default: git describe --tags --always --dirty)")
	fs.StringVar(&o.Commit, "commit", "", "commit to embed (default: git rev-parse HEAD)")
	fs.StringVar(&o.Date, "date", "", "build date to embed, RFC 3339 (default: SOURCE_DATE_EPOCH, else the commit's time)")
	fs.StringVar(&o.Out, "out", "dist", "output directory; must be empty or absent")
	fs.StringVar(&targets, "targets", strings.Join(defaultTargets, ","), "comma-separated GOOS/GOARCH list")
	fs.StringVar(&o.Pkg, "pkg", "./cmd/herald", "main package to build")
	fs.StringVar(&o.Name, "name", "herald", "binary name")
	fs.StringVar(&o.WindowsConfig, "windows-config", filepath.FromSlash("examples/windows/herald.toml"), "sample config the Windows zip and MSI install")
	fs.BoolVar(&o.MSI, "msi", true, "build the Windows MSI (needs wixl and msibuild from msitools)")
	fs.BoolVar(&printLdflags, "print-ldflags", false, "print the -ldflags value and exit without building")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	o.Targets = strings.Split(targets, ",")
	if err := o.fill(ctx); err != nil {
		return err
	}
	if printLdflags {
		_, err := fmt.Fprintln(stdout, o.ldflags())
		return err
	}
	windows := slices.Contains(o.Targets, "windows/amd64")
	if windows && o.MSI {
		// Fail before the builds rather than after them.
		if _, err := msiVersion(o.Version); err != nil {
			return err
		}
	}
	files, err := build(ctx, o, stdout)
	if err != nil {
		return err
	}
	if windows {
		packages, err := packageWindows(ctx, o, o.fileName("windows", "amd64"), stdout)
		if err != nil {
			return err
		}
		files = append(files, packages...)
	}
	return writeSums(o.Out, files)
}

// fill completes the options from git and the environment, and validates
// them.
func (o *options) fill(ctx context.Context) error {
	var err error
	if o.Version == "" {
		if o.Version, err = git(ctx, "describe", "--tags", "--always", "--dirty"); err != nil {
			return fmt.Errorf("no -version given and %w", err)
		}
	}
	if o.Commit == "" {
		if o.Commit, err = git(ctx, "rev-parse", "HEAD"); err != nil {
			return fmt.Errorf("no -commit given and %w", err)
		}
	}
	if o.Date == "" {
		if o.Date, err = defaultDate(ctx); err != nil {
			return err
		}
	}
	if _, err := time.Parse(time.RFC3339, o.Date); err != nil {
		return fmt.Errorf("-date %q is not an RFC 3339 time such as 2026-01-02T03:04:05Z", o.Date)
	}
	// The values end up in -ldflags, which is split at spaces, and the version
	// in file names.
	for _, v := range []struct{ name, val string }{{"version", o.Version}, {"commit", o.Commit}, {"name", o.Name}} {
		if v.val == "" || strings.ContainsAny(v.val, " \t\r\n'\"`\\/:*?<>|") {
			return fmt.Errorf("-%s %q must be non-empty, without spaces, quotes or path characters", v.name, v.val)
		}
	}
	for _, t := range o.Targets {
		goos, goarch, ok := strings.Cut(t, "/")
		if !ok || goos == "" || goarch == "" || strings.Contains(goarch, "/") {
			return fmt.Errorf("target %q is not GOOS/GOARCH", t)
		}
	}
	return nil
}

// defaultDate is SOURCE_DATE_EPOCH if set, else the commit time of HEAD, in
// UTC: a build of a given commit is then reproducible.
func defaultDate(ctx context.Context) (string, error) {
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return "", fmt.Errorf("SOURCE_DATE_EPOCH %q is not a number of seconds", s)
		}
		return time.Unix(sec, 0).UTC().Format(time.RFC3339), nil
	}
	s, err := git(ctx, "log", "-1", "--format=%cI", "HEAD")
	if err != nil {
		return "", fmt.Errorf("no -date given and %w", err)
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return "", fmt.Errorf("commit time %q: %w", s, err)
	}
	return t.UTC().Format(time.RFC3339), nil
}

func git(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "git", args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(ee.Stderr) > 0 {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
		}
		return "", fmt.Errorf("git %s failed (is this a git checkout?): %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}

// ldflags strips the symbol table and DWARF and sets cmd/herald's version
// variables (see cmd/herald/version.go).
func (o *options) ldflags() string {
	return fmt.Sprintf("-s -w -X main.version=%s -X main.commit=%s -X main.date=%s", o.Version, o.Commit, o.Date)
}

// fileName is the published name of the binary for goos/goarch.
func (o *options) fileName(goos, goarch string) string {
	name := fmt.Sprintf("%s_%s_%s_%s", o.Name, o.Version, goos, goarch)
	if goos == "windows" {
		name += ".exe"
	}
	return name
}

// build builds every target into o.Out and returns the file names.
func build(ctx context.Context, o options, log io.Writer) ([]string, error) {
	if entries, err := os.ReadDir(o.Out); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("output directory %s is not empty; remove it or choose another -out", o.Out)
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, fmt.Errorf("creating output directory: %w", err)
	}
	var files []string
	for _, t := range o.Targets {
		goos, goarch, _ := strings.Cut(t, "/")
		name := o.fileName(goos, goarch)
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", o.ldflags(),
			"-o", filepath.Join(o.Out, name), o.Pkg)
		cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
		cmd.Stdout, cmd.Stderr = log, os.Stderr
		fmt.Fprintf(log, "building %s\n", filepath.Join(o.Out, name))
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("building %s for %s: %w", o.Pkg, t, err)
		}
		files = append(files, name)
	}
	return files, nil
}

// writeSums writes SHA256SUMS in dir for files, in the format of sha256sum
// (sha256sum -c SHA256SUMS checks it), sorted by name.
func writeSums(dir string, files []string) error {
	files = slices.Sorted(slices.Values(files))
	var b strings.Builder
	for _, name := range files {
		sum, err := fileSHA256(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s  %s\n", sum, name)
	}
	return os.WriteFile(filepath.Join(dir, "SHA256SUMS"), []byte(b.String()), 0o644)
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
