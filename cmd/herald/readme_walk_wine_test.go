package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/docs"
	"github.com/heraldhq/herald/sinks/sinktest/fakesignl4"
)

// wineWalkMSI names the environment variable .ci/windows-tests sets to the
// MSI TestReadmeWindowsWalk installs, with WINEPREFIX set to its prepared
// Wine prefix (which Go programs need a DLL shim in to start under Wine 8).
const wineWalkMSI = "HERALD_WINE_WALK_MSI"

// windowsWalk runs README.md's Windows install steps under Wine.
type windowsWalk struct {
	t     *testing.T
	msi   string // the MSI's Linux path
	drive string // the prefix's drive_c, which C:\ stands for
	env   []string
	// mapContent turns the admin's URLs and ports in a file into the test's.
	mapContent *strings.Replacer
	fake       *fakesignl4.Server
	runs       int // of `herald.exe run --once`
}

// TestReadmeWindowsWalk walks README.md's Windows install under Wine, run by
// .ci/windows-tests after it built the MSI: msiexec installs it, the file
// steps write herald.toml and herald.env into the prefix's ProgramData, and
// herald.exe version, check and run --once run for real, SIGNL4 replaced by
// a fake on loopback. Service steps are skipped and named: the walk starts no
// service under Wine. A line the walker does not know fails the test.
func TestReadmeWindowsWalk(t *testing.T) {
	msi, prefix := os.Getenv(wineWalkMSI), os.Getenv("WINEPREFIX")
	if msi == "" || prefix == "" {
		t.Skipf("SKIPPED: the Windows walk runs under Wine from .ci/windows-tests, which sets %s and WINEPREFIX", wineWalkMSI)
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	steps := docs.Walk(string(readme), "windows")
	if len(steps) == 0 {
		t.Fatal("README.md has no <!-- walk:windows --> steps")
	}

	w := &windowsWalk{t: t, msi: msi, drive: filepath.Join(prefix, "drive_c"), env: walkEnv()}
	w.fake = fakesignl4.New(fakesignl4.Options{Secrets: []string{"your-team-secret"}})
	srv := httptest.NewServer(w.fake)
	t.Cleanup(srv.Close)
	w.mapContent = strings.NewReplacer(
		"https://connect.signl4.com", srv.URL,
		"127.0.0.1:9308", freeLoopbackAddr(t),
	)
	// A node's scheduler log where Qlik Sense writes it, as at install time.
	writeQuickstartStart(t, w.schedulerLog())

	for _, s := range steps {
		if s.File != "" {
			w.writeFile(s)
			continue
		}
		if s.Lang != "powershell" {
			t.Fatalf("README.md:%d: walk:windows block is %q, want powershell or file=PATH", s.Line, s.Lang)
		}
		for _, l := range shellLines(s.Text) {
			w.run(s.Line+l.offset, l.text)
		}
	}
	if w.runs == 0 {
		t.Error("the Windows walk never runs `herald.exe run --once`")
	}
}

func (w *windowsWalk) schedulerLog() string {
	return w.hostPath(`C:\ProgramData\Qlik\Sense\Log\Scheduler\Trace\QS-NODE1_System_Scheduler.txt`)
}

// hostPath is the Linux path of a C:\ path in the Wine prefix.
func (w *windowsWalk) hostPath(winPath string) string {
	rest, ok := strings.CutPrefix(winPath, `C:\`)
	if !ok {
		w.t.Fatalf("the Windows walk maps only C:\\ paths, not %s", winPath)
	}
	return filepath.Join(w.drive, filepath.FromSlash(strings.ReplaceAll(rest, `\`, "/")))
}

// writeFile is a file=PATH step: the block written, with Windows line ends, to
// the path in the prefix, whose directory the MSI must have made.
func (w *windowsWalk) writeFile(s docs.Step) {
	w.t.Helper()
	text := strings.ReplaceAll(w.mapContent.Replace(s.Text), "\n", "\r\n")
	if err := os.WriteFile(w.hostPath(s.File), []byte(text), 0o644); err != nil {
		w.t.Fatalf("README.md:%d: writing %s: %v", s.Line, s.File, err)
	}
}

var (
	msiexecLine = regexp.MustCompile(`^Start-Process msiexec\.exe -Wait -ArgumentList '/i', \(Get-Item \.\\herald-\*-windows-amd64\.msi\)\.FullName, '/qn'$`)
	heraldExe   = regexp.MustCompile(`^& 'C:\\Program Files\\Herald\\herald\.exe' (.*)$`)
	healthzGet  = regexp.MustCompile(`^Invoke-RestMethod http://127\.0\.0\.1:9308/healthz$`)
	// psArg is a PowerShell argument: a single-quoted string or a bare word.
	psArg = regexp.MustCompile(`'([^']*)'|(\S+)`)
)

// run does one line of a powershell block, found at README.md:n.
func (w *windowsWalk) run(n int, line string) {
	t := w.t
	t.Helper()
	if msiexecLine.MatchString(line) {
		w.wine(n, line, "msiexec", "/i", w.winePath(w.msi), "/qn")
		return
	}
	if healthzGet.MatchString(line) {
		t.Logf("SKIPPED README.md:%d: %s (the status page is up only while the service runs, which the walk does not start under Wine)", n, line)
		return
	}
	m := heraldExe.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("README.md:%d: the Windows walk does not know the step %q: teach TestReadmeWindowsWalk to run it", n, line)
	}
	var args []string
	for _, a := range psArg.FindAllStringSubmatch(m[1], -1) {
		args = append(args, a[1]+a[2])
	}
	exe := `C:\Program Files\Herald\herald.exe`
	switch {
	case len(args) == 0:
		t.Fatalf("README.md:%d: %s runs herald.exe with no command", n, line)
	case args[0] == "version", args[0] == "check":
		w.wine(n, line, exe, args...)
	case args[0] == "run" && len(args) > 1 && args[1] == "--once":
		w.runs++
		w.wine(n, line, exe, args...)
		if reqs := w.fake.Requests(); len(reqs) != 0 {
			t.Fatalf("README.md:%d: the first %s sent %d requests to SIGNL4 from a log it should start at the end of: %+v", n, line, len(reqs), reqs)
		}
		appendQuickstartReloads(t, w.schedulerLog())
		w.wine(n, line, exe, args...)
		assertPaged(t, n, w.fake)
	case args[0] == "alerts":
		out := w.wine(n, line, exe, args...)
		if !strings.Contains(out, "Finance KPIs") || strings.Contains(out, "Sales dashboard") {
			t.Errorf("README.md:%d: %s lists\n%s\nwant the open Finance KPIs alert only", n, line, out)
		}
	case args[0] == "service":
		t.Logf("SKIPPED README.md:%d: %s (the walk starts no Windows service under Wine; .ci/windows-tests's MSI step checks service install and uninstall)", n, line)
	default:
		t.Fatalf("README.md:%d: the Windows walk does not know the step %q: teach TestReadmeWindowsWalk to run it", n, line)
	}
}

// winePath is the Windows name of a Linux path in the prefix.
func (w *windowsWalk) winePath(p string) string {
	out, err := exec.Command("winepath", "-w", p).Output()
	if err != nil {
		w.t.Fatalf("winepath -w %s: %v", p, err)
	}
	return strings.TrimSpace(string(out))
}

// wine runs a Windows program under Wine for README.md:n's line and fails the
// test unless it exits 0. It returns its stdout without carriage returns.
func (w *windowsWalk) wine(n int, line, prog string, args ...string) string {
	t := w.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "wine", append([]string{prog}, args...)...)
	cmd.Env = w.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("README.md:%d: %s (wine %s %s): %v\nstdout:\n%s\nstderr:\n%s", n, line, prog, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return strings.ReplaceAll(stdout.String(), "\r", "")
}
