package rules

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// The realistic line mix the benchmarks and soundness tests read: scheduler
// trace rows in the synthetic sample's column layout, from the loggers a
// scheduler node writes, most of them routine. Every matchEvery-th row is a
// final task outcome that the qliksense pack matches.

const mixHeader = "Sequence#\tTimestamp\tLevel\tHostname\tLogger\tThread\tId\tServiceUser\tMessage\tException\tStackTrace\tTaskName\tTaskId\tExecutionId\tAppName\tAppId\tId2"

var mixRoutine = []struct{ level, logger, message string }{
	{"INFO", "System.Scheduler.Scheduler.Master.Task.TaskSession", "Execution State Change to Triggered"},
	{"INFO", "System.Scheduler.Scheduler.Master.Task.TaskSession", "Execution State Change to Started"},
	{"INFO", "System.Scheduler.Scheduler.Master.Task.TaskSession", "Execution State Change to Queued"},
	{"DEBUG", "System.Scheduler.Scheduler.Master.Task.TaskSessionState", "Task state updated for task %d"},
	{"INFO", "System.Scheduler.Scheduler.SlaveCoordinator", "Heartbeat received from slave PRO2-WIN%d"},
	{"DEBUG", "System.Scheduler.Scheduler.MasterCoordinator", "Checking for tasks to trigger (%d pending)"},
	{"INFO", "System.Scheduler.Scheduler.Master.Schedule.ScheduleEngine", "Trigger 'Daily %d:00' for task 'Reload Sales' fired"},
	{"INFO", "System.Scheduler.Scheduler.Slave.Tasks.ReloadTask", "Trying to connect to engine on port 4747 (attempt %d)"},
	{"INFO", "System.Scheduler.Scheduler.Slave.Tasks.ReloadTask", "Reload request sent to engine, %d tables pending"},
	{"INFO", "System.Scheduler.Scheduler.EngineWrapper.ReloadProvider", "Engine connection established for handle %d"},
	{"WARN", "System.Scheduler.Scheduler.EngineWrapper.ReloadProvider", "Engine responded slowly (%d ms)"},
	{"DEBUG", "System.Scheduler.Repository.RepositoryProxy", "Requesting GET /qrs/reloadtask/full?filter=id eq %d"},
	{"INFO", "System.Scheduler.Scheduler.Master.Chain.ChainManager", "Evaluating %d chain rules"},
}

var mixOutcomes = []string{
	"Execution State Change to FinishedFail",
	"Max retries reached",
	"Execution State Change to FinishedSuccess",
	"Execution State Change to Aborting",
}

var mixTasks = []struct{ name, app string }{
	{"Reload Sales", "Sales"},
	{"Manually triggered reload of Test failing reloads 2", "Test failing reloads 2"},
	{"Nightly finance ETL", "Finance Cube"},
	{"Rechargement des ventes", "Ventes Europe – été"},
}

// mixLines returns n data rows (no header). Roughly one row in matchEvery is
// a final outcome; the rest are routine.
func mixLines(n, matchEvery int, seed uint64) []string {
	r := rand.New(rand.NewPCG(seed, 7))
	lines := make([]string, 0, n)
	for i := range n {
		level, logger := "INFO", "System.Scheduler.Scheduler.Master.Task.TaskSession"
		var msg string
		if matchEvery > 0 && i%matchEvery == matchEvery-1 {
			msg = mixOutcomes[r.IntN(len(mixOutcomes))]
		} else {
			m := mixRoutine[r.IntN(len(mixRoutine))]
			level, logger, msg = m.level, m.logger, m.message
			if strings.Contains(msg, "%d") {
				msg = fmt.Sprintf(msg, r.IntN(100))
			}
		}
		task := mixTasks[r.IntN(len(mixTasks))]
		taskName, taskID, execID, appName, appID := "", "", "", "", ""
		if strings.Contains(logger, "Task") || r.IntN(3) == 0 {
			taskName, appName = task.name, task.app
			taskID, execID, appID = guid(r), guid(r), guid(r)
		}
		lines = append(lines, strings.Join([]string{
			fmt.Sprint(1000 + i), fmt.Sprintf("20260216T09%02d%02d.%03d+0100", i/60%60, i%60, r.IntN(1000)),
			level, "PRO2-WIN1", logger, fmt.Sprint(40 + r.IntN(20)), guid(r), `LAB\qlikservice`, msg, "", "",
			taskName, taskID, execID, appName, appID, "00000000-0000-0000-0000-000000000000",
		}, "\t"))
	}
	return lines
}

func guid(r *rand.Rand) string {
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xffff, r.Uint32()&0xffff, r.Uint64()&0xffffffffffff)
}

// extraRules returns n rules in the style an administrator adds: a logger
// and a message phrase, neither of which occurs in the mix.
func extraRules(n int) string {
	var b strings.Builder
	for i := range n {
		logger, phrase := extraMatch(i)
		fmt.Fprintf(&b, `
[[rule]]
id = "extra-%d"
parsers = ["qlik"]
when = 'Logger == "%s" && Message contains "%s"'
key = 'TaskId'
title = '"Extra %d: " + Message'
message = 'Message'
`, i, logger, phrase, i)
	}
	return b.String()
}

// extraMatch returns the logger and message phrase extra rule i looks for.
func extraMatch(i int) (logger, phrase string) {
	loggers := []string{
		"System.Scheduler.Scheduler.Slave.Tasks.ReloadTask",
		"System.Scheduler.Scheduler.EngineWrapper.ReloadProvider",
		"System.Scheduler.Scheduler.Master.Schedule.ScheduleEngine",
		"System.Scheduler.Scheduler.SlaveCoordinator",
		"System.Scheduler.Repository.RepositoryProxy",
	}
	phrases := []string{"Connection lost", "Could not reserve an executor", "Failed to start session", "Timeout waiting for", "Access denied", "Certificate expired", "Disk full", "Out of memory"}
	return loggers[i%len(loggers)], fmt.Sprintf("%s (E%03d)", phrases[i%len(phrases)], i)
}
