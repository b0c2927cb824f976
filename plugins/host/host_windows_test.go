package host

import (
	"bufio"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/heraldhq/herald/internal/wine"
)

// agentHelperEnv makes the test binary, run with -test.run naming
// TestHelperAgentWithoutJob, play an agent whose plugins are not put into
// the job object.
const agentHelperEnv = "HERALD_HOST_TEST_AGENT_WITHOUT_JOB"

// TestPluginIsInKillOnCloseJob checks that a started plugin is in the
// agent's job object, and that the job kills its processes when closed.
func TestPluginIsInKillOnCloseJob(t *testing.T) {
	p := startHelper(t, "raw", nil)
	pids, err := jobPids()
	if err != nil {
		t.Fatalf("listing the job's processes: %v", err)
	}
	if !slices.Contains(pids, p.Pid()) {
		t.Errorf("plugin %d is not in the agent's job object (job has %v)", p.Pid(), pids)
	}
	job, err := agentJob()
	if err != nil {
		t.Fatal(err)
	}
	var info windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION
	if err := windows.QueryInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info)), nil); err != nil {
		t.Fatalf("querying the job's limits: %v", err)
	}
	switch {
	case wine.Running():
		// Wine 8 answers this query with zeros; TestPluginDiesWithKilledAgent
		// shows the limit is in force there too.
		t.Log("Wine does not report job limits; not checking them")
	case info.BasicLimitInformation.LimitFlags&windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE == 0:
		t.Errorf("job limit flags %#x lack JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE", info.BasicLimitInformation.LimitFlags)
	}
	// The plugin works after having been started suspended and resumed.
	if err := p.Configure(t.Context(), []byte(`{}`)); err != nil {
		t.Fatalf("Configure: %v", err)
	}
}

// TestPluginDiesWithKilledAgent kills an agent (a helper process that started
// a plugin) with TerminateProcess, as the Task Manager does, and checks that
// the plugin does not outlive it. The plugin is a raw one without the SDK's
// parent watchdog, so this proves the job object alone.
func TestPluginDiesWithKilledAgent(t *testing.T) {
	plugin := killAgent(t, nil, helperEnv+"=parent")
	if ev, err := windows.WaitForSingleObject(plugin, 20_000); ev != windows.WAIT_OBJECT_0 {
		t.Fatalf("plugin still running 20s after its agent was killed (wait: %#x, %v)", ev, err)
	}
}

// TestPluginOutlivesKilledAgentWithoutJob is the control for
// TestPluginDiesWithKilledAgent: without the job object, the same raw plugin
// keeps running after its agent was killed. Without this, the test above
// would pass on a system that ended orphans by itself.
func TestPluginOutlivesKilledAgentWithoutJob(t *testing.T) {
	plugin := killAgent(t, []string{"-test.run=^TestHelperAgentWithoutJob$"}, agentHelperEnv+"=1")
	ev, err := windows.WaitForSingleObject(plugin, 2_000)
	if ev != uint32(windows.WAIT_TIMEOUT) {
		t.Fatalf("plugin ended with its agent although it was not in the job (wait: %#x, %v): "+
			"the kill test proves nothing here", ev, err)
	}
}

// TestHelperAgentWithoutJob is not a test: it is the agent of
// TestPluginOutlivesKilledAgentWithoutJob.
func TestHelperAgentWithoutJob(*testing.T) {
	if os.Getenv(agentHelperEnv) == "" {
		return
	}
	containPlugins = false
	runParent()
}

// killAgent starts the test binary as an agent that starts a raw plugin and
// reports its pid, kills the agent, and returns a handle to the plugin
// process, opened before the kill so that its exit can be awaited without
// confusing it with a reused pid. The plugin is killed when the test ends.
func killAgent(t *testing.T, args []string, env string) windows.Handle {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	agent := exec.Command(self, args...)
	agent.Env = append(os.Environ(), env)
	agent.Stderr = os.Stderr
	stdin, err := agent.StdinPipe() // held open: the agent waits on it
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := agent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = agent.Process.Kill()
		_ = agent.Wait()
		t.Fatalf("reading the plugin's pid from the agent: %v", err)
	}
	pid := mustAtoi(t, strings.TrimSpace(line))
	h, err := windows.OpenProcess(windows.SYNCHRONIZE|windows.PROCESS_TERMINATE, false, uint32(pid))
	if err != nil {
		_ = agent.Process.Kill()
		_ = agent.Wait()
		t.Fatalf("opening plugin process %d: %v", pid, err)
	}
	t.Cleanup(func() {
		_ = windows.TerminateProcess(h, 1)
		_, _ = windows.WaitForSingleObject(h, 10_000)
		_ = windows.CloseHandle(h)
	})
	if err := agent.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = agent.Wait()
	return h
}

// jobPids lists the processes in the agent's job object.
func jobPids() ([]int, error) {
	job, err := agentJob()
	if err != nil {
		return nil, err
	}
	var list struct { // JOBOBJECT_BASIC_PROCESS_ID_LIST
		assigned, listed uint32
		ids              [64]uintptr
	}
	if err := windows.QueryInformationJobObject(job, windows.JobObjectBasicProcessIdList,
		uintptr(unsafe.Pointer(&list)), uint32(unsafe.Sizeof(list)), nil); err != nil {
		return nil, err
	}
	var pids []int
	for _, id := range list.ids[:min(int(list.listed), len(list.ids))] {
		pids = append(pids, int(id))
	}
	return pids, nil
}
