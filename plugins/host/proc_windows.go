package host

import (
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Windows does not end a process's children when it ends, and go-plugin
// only stops plugins that the agent closes. So that no plugin outlives an
// agent that crashed or was killed (TerminateProcess from the Task Manager,
// a service stop that timed out), every plugin process is put into one job
// object with JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE. Only the agent holds a
// handle to that job, and the handle is not inheritable: when the agent
// process ends, however it ends, Windows closes the handle and kills every
// process in the job, including processes the plugins started.
//
// A plugin is started suspended and resumed once it is in the job, so not
// even a plugin that starts a process of its own at once can escape it.

// agentJob returns the job object of this agent's plugins, created on first
// use. Its handle stays open until the agent exits.
var agentJob = sync.OnceValues(func() (windows.Handle, error) {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return 0, fmt.Errorf("creating a job object: %w", err)
	}
	var info windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION
	info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		_ = windows.CloseHandle(job)
		return 0, fmt.Errorf("setting kill-on-close on the job object: %w", err)
	}
	return job, nil
})

// containPlugins is switched off only by a test, to show what the job
// object prevents.
var containPlugins = true

// configureCmd starts the plugin suspended, so that contain can put it into
// the job before it runs a single instruction.
func configureCmd(cmd *exec.Cmd) {
	if !containPlugins {
		return
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.CreationFlags |= windows.CREATE_SUSPENDED
}

// contain assigns the just-started, suspended plugin process to the agent's
// job object and then lets it run. warn says why the process could not be
// put into the job: it runs anyway, and the SDK's parent watchdog is then
// what stops it after the agent. err means the process could not be resumed;
// the caller kills it.
func contain(p *os.Process) (warn, err error) {
	if !containPlugins {
		return nil, nil
	}
	// The pid cannot have been reused: p holds a handle to the process, and
	// Windows keeps a pid while a handle to its process is open.
	h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE|windows.PROCESS_SUSPEND_RESUME,
		false, uint32(p.Pid))
	if err != nil {
		return nil, fmt.Errorf("opening plugin process %d to resume it: %w", p.Pid, err)
	}
	defer windows.CloseHandle(h)
	if job, jerr := agentJob(); jerr != nil {
		warn = jerr
	} else if jerr := windows.AssignProcessToJobObject(job, h); jerr != nil {
		warn = fmt.Errorf("assigning plugin process %d to the agent's job object: %w", p.Pid, jerr)
	}
	if err := resumeProcess(h); err != nil {
		return warn, fmt.Errorf("resuming plugin process %d: %w", p.Pid, err)
	}
	return warn, nil
}

var procNtResumeProcess = windows.NewLazySystemDLL("ntdll.dll").NewProc("NtResumeProcess")

// resumeProcess resumes every thread of a process started with
// CREATE_SUSPENDED. os.StartProcess closes the handle of the main thread that
// ResumeThread would need; ntdll's NtResumeProcess needs only the process.
func resumeProcess(h windows.Handle) error {
	if err := procNtResumeProcess.Find(); err != nil {
		return err
	}
	status, _, _ := procNtResumeProcess.Call(uintptr(h))
	if status != 0 {
		return windows.NTStatus(status)
	}
	return nil
}

// startCmd starts cmd; only Linux sets a timer slack for plugins.
func startCmd(cmd *exec.Cmd) error { return cmd.Start() }
