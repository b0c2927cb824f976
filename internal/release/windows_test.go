package main

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/agent/config"
)

const sampleConfig = "../../examples/windows/herald.toml"

// TestWindowsPackages builds a release for windows/amd64 and opens what an
// admin downloads: the zip's layout and contents, and the MSI's tables
// (versions, upgrade code, the config kept on upgrade and uninstall) and the
// files it would install. The install itself, under Wine, is in
// .ci/windows-tests.
func TestWindowsPackages(t *testing.T) {
	needTool(t, "go")
	withMSI := true
	for _, tool := range []string{"wixl", "msibuild", "msiinfo", "msiextract"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Logf("LOUD SKIP of the MSI checks: %s is not installed (apt-get install msitools); only the zip is checked", tool)
			withMSI = false
		}
	}
	release := func(out string) {
		t.Helper()
		args := []string{"-version", "v1.2.3-4-gabcdef", "-commit", "0123abc", "-date", "2026-01-02T03:04:05Z",
			"-out", out, "-targets", "windows/amd64", "-pkg", "./testdata/fakeherald", "-name", "herald",
			"-windows-config", sampleConfig, "-msi=" + map[bool]string{true: "true", false: "false"}[withMSI]}
		var log bytes.Buffer
		if err := run(context.Background(), args, &log); err != nil {
			t.Fatalf("release: %v\n%s", err, log.String())
		}
	}
	out := filepath.Join(t.TempDir(), "dist")
	release(out)

	o := options{Name: "herald", Version: "v1.2.3-4-gabcdef"}
	exeName := o.fileName("windows", "amd64")
	want := []string{"SHA256SUMS", exeName, "herald-v1.2.3-4-gabcdef-windows-amd64.zip"}
	if withMSI {
		want = append(want, "herald-v1.2.3-4-gabcdef-windows-amd64.msi")
	}
	slices.Sort(want)
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, want) {
		t.Fatalf("%s holds %q, want %q", out, names, want)
	}
	sums, err := os.ReadFile(filepath.Join(out, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range want[1:] {
		sum, err := fileSHA256(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(sums), sum+"  "+name+"\n") {
			t.Errorf("SHA256SUMS has no line for %s (%s):\n%s", name, sum, sums)
		}
	}

	exe := readFile(t, filepath.Join(out, exeName))
	conf := readFile(t, sampleConfig)

	t.Run("zip", func(t *testing.T) {
		zr, err := zip.OpenReader(filepath.Join(out, "herald-v1.2.3-4-gabcdef-windows-amd64.zip"))
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		wantFiles := map[string][]byte{
			"Program Files/Herald/herald.exe": exe,
			"ProgramData/Herald/herald.toml":  conf,
		}
		var got []string
		for _, f := range zr.File {
			got = append(got, f.Name)
			if !f.Modified.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
				t.Errorf("%s: time %v, want the build date", f.Name, f.Modified)
			}
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			if w, ok := wantFiles[f.Name]; ok && !bytes.Equal(b, w) {
				t.Errorf("%s in the zip differs from what was built (%d bytes, want %d)", f.Name, len(b), len(w))
			}
		}
		if w := []string{"Program Files/Herald/herald.exe", "ProgramData/Herald/herald.toml"}; !slices.Equal(got, w) {
			t.Errorf("zip holds %q, want %q", got, w)
		}
	})

	t.Run("reproducible", func(t *testing.T) {
		again := filepath.Join(t.TempDir(), "dist")
		release(again)
		for _, name := range []string{exeName, "herald-v1.2.3-4-gabcdef-windows-amd64.zip"} {
			if !bytes.Equal(readFile(t, filepath.Join(out, name)), readFile(t, filepath.Join(again, name))) {
				t.Errorf("%s differs between two builds of the same inputs", name)
			}
		}
	})

	if !withMSI {
		return
	}
	msi := filepath.Join(out, "herald-v1.2.3-4-gabcdef-windows-amd64.msi")
	msiinfo := func(args ...string) string {
		t.Helper()
		b, err := exec.Command("msiinfo", args...).Output()
		if err != nil {
			t.Fatalf("msiinfo %s: %v", strings.Join(args, " "), err)
		}
		return string(b)
	}
	t.Run("msi tables", func(t *testing.T) {
		tables := strings.Fields(msiinfo("tables", msi))
		for _, tbl := range []string{"Property", "Component", "File", "Directory", "Feature", "Upgrade", "InstallExecuteSequence", "Media"} {
			if !slices.Contains(tables, tbl) {
				t.Errorf("the MSI has no %s table; it has %q", tbl, tables)
			}
		}
		props := tableRows(msiinfo("export", msi, "Property"))
		for k, v := range map[string]string{
			"ProductVersion": "1.2.3",
			"ProductName":    "Herald",
			"UpgradeCode":    "{" + strings.ToUpper(msiUpgradeCode) + "}",
			"ProductCode":    "{" + strings.ToUpper(productCode("v1.2.3-4-gabcdef")) + "}",
		} {
			if got := props[k]; len(got) < 1 || got[0] != v {
				t.Errorf("Property %s = %q, want %q", k, got, v)
			}
		}
		// Column 3 of the Component table is Attributes.
		comps := tableRows(msiinfo("export", msi, "Component"))
		if got := comps["HeraldConfig"]; len(got) < 3 || got[2] != "400" {
			t.Errorf("HeraldConfig component %q: want Attributes 400 (64-bit, NeverOverwrite, Permanent)", got)
		}
		if got := comps["HeraldExe"]; len(got) < 3 || got[2] != "256" {
			t.Errorf("HeraldExe component %q: want Attributes 256 (64-bit, replaced on upgrade, removed on uninstall)", got)
		}
		// Event 0x22: stop the service named Herald (registered by herald
		// service install) when installing or removing, never delete it.
		ctl := tableRows(msiinfo("export", msi, "ServiceControl"))
		if got := ctl["HeraldService"]; len(got) < 2 || got[0] != "Herald" || got[1] != "34" {
			t.Errorf("ServiceControl HeraldService %q: want the service Herald stopped on install and uninstall (Event 34)", got)
		}
		dirs := msiinfo("export", msi, "Directory")
		for _, d := range []string{"ProgramFiles64Folder", "CommonAppDataFolder"} {
			if !strings.Contains(dirs, d) {
				t.Errorf("Directory table does not use %s:\n%s", d, dirs)
			}
		}
	})
	t.Run("msi files", func(t *testing.T) {
		dir := t.TempDir()
		cmd := exec.Command("msiextract", "-C", dir, msi)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("msiextract: %v\n%s", err, b)
		}
		// msiextract puts both Herald folders into one; where the files land
		// on Windows is the Directory table's business (checked above) and
		// the Wine install's.
		for path, want := range map[string][]byte{"Herald/herald.exe": exe, "Herald/herald.toml": conf} {
			got, err := os.ReadFile(filepath.Join(dir, path))
			if err != nil {
				listing, _ := exec.Command("find", dir).Output()
				t.Fatalf("%v; msiextract gave:\n%s", err, listing)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s in the MSI differs from what was built", path)
			}
		}
	})
}

// tableRows reads an `msiinfo export` table (a header of three lines, then
// tab-separated rows) keyed by its first column.
func tableRows(export string) map[string][]string {
	rows := map[string][]string{}
	lines := strings.Split(strings.ReplaceAll(export, "\r\n", "\n"), "\n")
	for _, l := range lines[min(3, len(lines)):] {
		if l == "" {
			continue
		}
		f := strings.Split(l, "\t")
		rows[f[0]] = f[1:]
	}
	return rows
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMSIVersion(t *testing.T) {
	for _, tt := range []struct{ in, want, err string }{
		{in: "v1.2.3", want: "1.2.3"},
		{in: "1.2.3", want: "1.2.3"},
		{in: "v0.0.0-ci", want: "0.0.0"},
		{in: "v1.2.3-4-gabcdef-dirty", want: "1.2.3"},
		{in: "v2.10.65535+meta", want: "2.10.65535"},
		{in: "abcdef0", err: `the MSI needs a version that starts with MAJOR.MINOR.PATCH (like v1.2.3), not "abcdef0"`},
		{in: "v1.2", err: "MAJOR.MINOR.PATCH"},
		{in: "v01.2.3", err: "MAJOR.MINOR.PATCH"},
		{in: "v256.0.0", err: "at most 255.255.65535"},
		{in: "v1.2.65536", err: "at most 255.255.65535"},
	} {
		got, err := msiVersion(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("msiVersion(%q) = %q, %v; want an error containing %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("msiVersion(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if productCode("v1.2.3") == productCode("v1.2.4") || productCode("v1.2.3") != productCode("v1.2.3") {
		t.Error("productCode must be the same for a version and differ between versions")
	}
}

// An untagged commit cannot become an MSI: the release says so before it
// builds anything.
func TestMSINeedsNumericVersion(t *testing.T) {
	out := filepath.Join(t.TempDir(), "dist")
	err := run(context.Background(), []string{"-version", "abcdef0", "-commit", "abc", "-date", "2026-01-02T03:04:05Z",
		"-out", out, "-targets", "windows/amd64"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "-msi=false") {
		t.Fatalf("release of version abcdef0: %v, want an error pointing at -msi=false", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("the release created %s before failing: %v", out, err)
	}
}

// TestWindowsSampleConfig loads the config the Windows packages install with
// the agent's own loader: valid once its secret is set, and a clear error
// naming the secret while it is not.
func TestWindowsSampleConfig(t *testing.T) {
	data := readFile(t, sampleConfig)
	env := func(secret bool) func(string) (string, bool) {
		return func(k string) (string, bool) {
			if secret && k == "SIGNL4_TEAM_SECRET" {
				return "team-secret", true
			}
			return "", false
		}
	}
	c, err := config.Parse(`C:\ProgramData\Herald\herald.toml`, data, env(true))
	if err != nil {
		t.Fatalf("the Windows sample config does not load with its secret set:\n%v", err)
	}
	if len(c.Inputs) != 1 || !strings.HasSuffix(c.Inputs[0].Paths[0], `Scheduler\Trace\*_System_Scheduler.txt`) {
		t.Errorf("the sample does not read the scheduler trace log: %+v", c.Inputs)
	}
	if len(c.Sinks) != 1 || c.Sinks[0].Plugin != "signl4" {
		t.Errorf("the sample's sinks: %+v, want one signl4 sink", c.Sinks)
	}
	if _, err := config.Parse(`C:\ProgramData\Herald\herald.toml`, data, env(false)); err == nil || !strings.Contains(err.Error(), "SIGNL4_TEAM_SECRET") {
		t.Errorf("without its secret the sample loads with error %v, want one naming SIGNL4_TEAM_SECRET", err)
	}
}
