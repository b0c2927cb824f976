package main

import (
	"bytes"
	"context"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/docs"
	"github.com/heraldhq/herald/sinks/sinktest/fakesignl4"
)

// The quickstart log's reloads: Sales dashboard fails and later succeeds,
// Finance KPIs is aborted.
const (
	salesTaskID   = "3f1c6f0e-5a7b-4c1e-9d2a-8b6e0f4a1c01"
	financeTaskID = "3f1c6f0e-5a7b-4c1e-9d2a-8b6e0f4a1c02"
)

// linuxWalk runs README.md's Linux install steps in a temporary root.
type linuxWalk struct {
	t    *testing.T
	root string // stands for /
	work string // the admin's working directory (a checkout)
	env  []string
	// mapPaths turns the admin's paths and URLs into the test's.
	mapPaths *strings.Replacer
	fake     *fakesignl4.Server
	share    string // stands for /mnt/qlik/Log
	runs     int    // of `herald run --once`
}

// TestReadmeLinuxWalk walks README.md's Linux install for real: every sh line
// runs under `sh -c` with the admin's paths under t.TempDir() and SIGNL4
// replaced by a fake on loopback, and every file step writes its block. A
// line the walker does not know fails the test, so the README stays walkable.
func TestReadmeLinuxWalk(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SKIPPED: the Linux walk needs sh and install(1); the Windows walk is .ci/windows-tests")
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	steps := docs.Walk(string(readme), "linux")
	if len(steps) == 0 {
		t.Fatal("README.md has no <!-- walk:linux --> steps")
	}

	w := newLinuxWalk(t)
	for _, s := range steps {
		if s.File != "" {
			w.writeFile(s)
			continue
		}
		if s.Lang != "sh" {
			t.Fatalf("README.md:%d: walk:linux block is %q, want sh or file=PATH", s.Line, s.Lang)
		}
		for _, l := range shellLines(s.Text) {
			w.run(s.Line+l.offset, l.text)
		}
	}
	if w.runs == 0 {
		t.Error("the Linux walk never runs `herald run --once`")
	}
}

func newLinuxWalk(t *testing.T) *linuxWalk {
	root := t.TempDir()
	w := &linuxWalk{t: t, root: root, work: t.TempDir(), share: filepath.Join(root, "mnt", "qlik", "Log")}

	// README.md's herald.env holds SIGNL4_TEAM_SECRET=your-team-secret.
	w.fake = fakesignl4.New(fakesignl4.Options{Secrets: []string{"your-team-secret"}})
	srv := httptest.NewServer(w.fake)
	t.Cleanup(srv.Close)

	w.mapPaths = strings.NewReplacer(
		"/etc/herald", filepath.Join(root, "etc", "herald"),
		"/var/lib/herald", filepath.Join(root, "var", "lib", "herald"),
		"/usr/local/bin", filepath.Join(root, "usr", "local", "bin"),
		"/mnt/qlik/Log", w.share,
		"https://connect.signl4.com", srv.URL,
		"127.0.0.1:9308", freeLoopbackAddr(t),
	)
	for _, d := range []string{filepath.Join(root, "usr", "local", "bin"), filepath.Join(w.share, "Scheduler", "Trace")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The share holds the scheduler log as it was at install time: its header
	// and the master's first line. The reloads come later (appendQuickstart).
	writeQuickstartStart(t, w.schedulerLog())

	// The admin's herald is the one install put in /usr/local/bin.
	w.env = append(walkEnv("PATH"), "PATH="+filepath.Join(root, "usr", "local", "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
	return w
}

func (w *linuxWalk) schedulerLog() string {
	return filepath.Join(w.share, "Scheduler", "Trace", "QS-NODE1_System_Scheduler.txt")
}

// writeFile is a file=PATH step: the block written to the mapped path, whose
// directory an earlier step must have made.
func (w *linuxWalk) writeFile(s docs.Step) {
	w.t.Helper()
	path := w.mapPaths.Replace(s.File)
	if !strings.HasPrefix(s.File, "/") || path == s.File {
		w.t.Fatalf("README.md:%d: walk:linux writes %s, which the walk does not map into its temporary root", s.Line, s.File)
	}
	if err := os.WriteFile(path, []byte(w.mapPaths.Replace(s.Text)), 0o644); err != nil {
		w.t.Fatalf("README.md:%d: writing %s: %v", s.Line, s.File, err)
	}
}

var (
	buildLine    = regexp.MustCompile(`^go build -o herald \./cmd/herald$`)
	fileCmdLine  = regexp.MustCompile(`^(install|chmod) `)
	checkLine    = regexp.MustCompile(`^herald check `)
	runOnceLine  = regexp.MustCompile(`^herald run --once `)
	alertsLine   = regexp.MustCompile(`^herald alerts `)
	serviceLine  = regexp.MustCompile(`^herald service (install|uninstall|start|stop|status)\b`)
	journalLine  = regexp.MustCompile(`^journalctl `)
	healthzCheck = regexp.MustCompile(`^curl .*/healthz$`)
)

// run does one line of an sh block, found at README.md:n.
func (w *linuxWalk) run(n int, line string) {
	t := w.t
	t.Helper()
	switch {
	case buildLine.MatchString(line):
		// The test has built this checkout's herald already: the build's output
		// is that binary, where the admin's next line expects it.
		b, err := os.ReadFile(heraldBin)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(w.work, "herald"), b, 0o755); err != nil {
			t.Fatal(err)
		}
	case fileCmdLine.MatchString(line), checkLine.MatchString(line):
		w.sh(n, line)
	case runOnceLine.MatchString(line):
		w.runOnce(n, line)
	case alertsLine.MatchString(line):
		out := w.sh(n, line)
		// Sales dashboard failed and then succeeded; Finance KPIs' abort is open.
		if !strings.Contains(out, "Finance KPIs") || strings.Contains(out, "Sales dashboard") {
			t.Errorf("README.md:%d: %s lists\n%s\nwant the open Finance KPIs alert only", n, line, out)
		}
	case serviceLine.MatchString(line), journalLine.MatchString(line):
		t.Logf("SKIPPED README.md:%d: %s (needs systemd, which the test has not)", n, line)
	case healthzCheck.MatchString(line):
		t.Logf("SKIPPED README.md:%d: %s (the status page is up only while the service runs, which needs systemd)", n, line)
	default:
		t.Fatalf("README.md:%d: the Linux walk does not know the step %q: teach TestReadmeLinuxWalk to run it", n, line)
	}
}

// runOnce runs the README's `herald run --once` line. Its first run finds the
// share's log with no saved position and starts at its end (start_at's
// default), so it must send nothing. Then the scheduler writes the quickstart
// reloads and the same line, run again, must page them through SIGNL4.
func (w *linuxWalk) runOnce(n int, line string) {
	t := w.t
	t.Helper()
	w.runs++
	w.sh(n, line)
	if reqs := w.fake.Requests(); len(reqs) != 0 {
		t.Fatalf("README.md:%d: the first %s sent %d requests to SIGNL4 from a log it should start at the end of: %+v", n, line, len(reqs), reqs)
	}

	appendQuickstartReloads(t, w.schedulerLog())
	w.sh(n, line)
	assertPaged(t, n, w.fake)
}

// sh runs line with the admin's paths mapped, in the admin's working
// directory, and fails the test unless it exits 0. It returns its stdout.
func (w *linuxWalk) sh(n int, line string) string {
	t := w.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", w.mapPaths.Replace(line))
	cmd.Dir, cmd.Env = w.work, w.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("README.md:%d: %s: %v\nstdout:\n%s\nstderr:\n%s", n, line, err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// shellLine is one command of an sh block, offset lines below its fence.
type shellLine struct {
	offset int
	text   string
}

// shellLines returns the commands of an sh block: its lines without blanks
// and comments, a line ending in "\" joined to the next.
func shellLines(text string) []shellLine {
	var lines []shellLine
	cont, start := "", 0
	for i, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if cont == "" {
			start = i + 1
		}
		if j, ok := strings.CutSuffix(l, "\\"); ok {
			cont += j
			continue
		}
		l = strings.TrimSpace(cont + l)
		cont = ""
		if l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, shellLine{offset: start, text: l})
		}
	}
	return lines
}

// walkEnv is the test's environment without the variables named in drop, and
// without SIGNL4_TEAM_SECRET, which would shadow herald.env's.
func walkEnv(drop ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name != "SIGNL4_TEAM_SECRET" && !slices.Contains(drop, name) {
			env = append(env, kv)
		}
	}
	return env
}

// freeLoopbackAddr returns a free loopback address for the walk's [server]
// listen, whose documented port another test or agent may hold.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// quickstartLog returns the lines of examples/quickstart's scheduler log,
// each with its "\n".
func quickstartLog(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "quickstart", "QS-NODE1_System_Scheduler.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.SplitAfter(string(b), "\n")
}

// writeQuickstartStart writes the scheduler log as it is at install time: the
// quickstart log's header and the master's first line. The reloads come
// later (appendQuickstartReloads).
func writeQuickstartStart(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.Join(quickstartLog(t)[:2], "")), 0o644); err != nil {
		t.Fatal(err)
	}
}

// appendQuickstartReloads writes the rest of the quickstart log, its reloads,
// as the scheduler would after the install.
func appendQuickstartReloads(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(strings.Join(quickstartLog(t)[2:], "")); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// assertPaged checks that the quickstart reloads reached SIGNL4 with the
// secret from herald.env: Sales dashboard raised and closed, Finance KPIs new.
func assertPaged(t *testing.T, n int, fake *fakesignl4.Server) {
	t.Helper()
	sales, ok := fake.Alert(salesTaskID)
	if !ok || sales.StatusCode != fakesignl4.StatusClosed || !strings.Contains(sales.Title, "Sales dashboard") {
		t.Errorf("README.md:%d: SIGNL4 alert of Sales dashboard = %+v (found %v), want one raised and closed", n, sales, ok)
	}
	finance, ok := fake.Alert(financeTaskID)
	if !ok || finance.StatusCode != fakesignl4.StatusNew || !strings.Contains(finance.Title, "Finance KPIs") {
		t.Errorf("README.md:%d: SIGNL4 alert of Finance KPIs = %+v (found %v), want a new one", n, finance, ok)
	}
	if got := len(fake.Alerts()); got != 2 {
		t.Errorf("README.md:%d: SIGNL4 holds %d alerts, want 2: %+v", n, got, fake.Alerts())
	}
	for _, r := range fake.Requests() {
		if !strings.HasPrefix(r.Path, "/webhook/your-team-secret") {
			t.Errorf("README.md:%d: SIGNL4 request to %s, want /webhook/your-team-secret (the secret from herald.env)", n, r.Path)
		}
	}
}
