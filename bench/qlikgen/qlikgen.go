// Package qlikgen writes synthetic Qlik Sense scheduler trace logs for
// benchmarks: the columns, line endings and logger/message mix of a real
// <HOST>_System_Scheduler.txt, reproducible byte for byte from a seed.
//
// A fixed share of the rows (Options.FailureRate, by default every
// AlertEvery-th row) is the final outcome of a failed reload
// ("Execution State Change to FinishedFail" from the master's TaskSession
// logger) of a task that occurs nowhere else, with its own TaskId and
// ExecutionId, so each such row raises exactly one alert of the qliksense rule
// pack. No other row is a final outcome (no FinishedSuccess, Aborting or "Max
// retries reached"), so a rule set built like the pack raises nothing else.
package qlikgen

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// AlertEvery is how often a row is an alert at the default failure rate: rows
// AlertEvery-1, 2*AlertEvery-1, ... (0-based), so n rows hold n/AlertEvery
// alerts.
const AlertEvery = 100

// DefaultFailureRate is the share of rows that are alerts when
// Options.FailureRate is zero.
const DefaultFailureRate = 1.0 / AlertEvery

// ratePrecision is the unit failure rates are rounded to: parts per million,
// so that which rows are alerts is decided in integers, exactly.
const ratePrecision = 1_000_000

// Columns are the header's column names, in file order: the documented trace
// log columns followed by the scheduler's task columns, as in
// examples/quickstart/QS-NODE1_System_Scheduler.txt.
var Columns = []string{
	"Sequence#", "Timestamp", "Level", "Hostname", "Logger", "Thread", "Id",
	"ServiceUser", "Message", "Exception", "StackTrace", "ProxySessionId",
	"ProxyPackageId", "RequestSequenceId", "UserDirectory", "UserId",
	"TaskName", "TaskId", "ExecutionId", "AppName", "AppId", "Id2",
}

// The loggers a scheduler node writes.
const (
	LoggerTaskSession = "System.Scheduler.Scheduler.Master.Task.TaskSession"
	loggerMaster      = "System.Scheduler.Scheduler.Master.MasterCoordinator"
	loggerSlave       = "System.Scheduler.Scheduler.SlaveCoordinator"
	loggerReloadTask  = "System.Scheduler.Scheduler.Slave.Tasks.ReloadTask"
	loggerProvider    = "System.Scheduler.Scheduler.EngineWrapper.ReloadProvider"
	loggerSchedule    = "System.Scheduler.Scheduler.Master.Schedule.ScheduleEngine"
	loggerRepository  = "System.Scheduler.Repository.RepositoryProxy"
)

// FailedMessage is the Message of every alert row.
const FailedMessage = "Execution State Change to FinishedFail"

const (
	bom       = "\uFEFF"
	zeroGUID  = "00000000-0000-0000-0000-000000000000"
	tsLayout  = "20060102T150405.000-0700"
	taskPool  = 64
	hostOther = "QS-NODE2"
)

// routine is one kind of row that is not an alert. %d in msg is replaced by a
// number below arg; task says whether the row carries a task's columns.
type routine struct {
	weight int
	level  string
	logger string
	msg    string
	arg    int
	task   bool
}

// routines is the mix of ordinary rows, weighted per mille. Coordinator
// chatter dominates a scheduler log; about 13% of rows carry a task's columns
// (rows are then about 270 bytes long on average). Task rows come from a pool
// of tasks that never fail. A few rows mention outcome words from other loggers, as real
// logs do, so a rule that ignores the logger would be caught out.
var routines = []routine{
	{200, "DEBUG", loggerMaster, "Checking for tasks to trigger (%d pending)", 20, false},
	{120, "INFO", loggerMaster, "Sending heartbeat to slave " + hostOther, 0, false},
	{40, "WARN", loggerMaster, "Slave " + hostOther + " missed heartbeat %d of 3", 3, false},
	{170, "INFO", loggerSlave, "Heartbeat received from master", 0, false},
	{130, "DEBUG", loggerSlave, "Executor pool: %d of 4 engines busy", 5, false},
	{30, "WARN", loggerSlave, "Slow response from master scheduler: %d ms", 5000, false},
	{60, "INFO", loggerSchedule, "Next trigger for schedule 'Daily' in %d s", 86400, false},
	{80, "DEBUG", loggerRepository, "GET /qrs/reloadtask/full returned 200 in %d ms", 400, false},
	{40, "INFO", loggerProvider, "Engine connection opened, handle %d", 65536, false},
	{20, "INFO", LoggerTaskSession, "Execution State Change to Triggered", 0, true},
	{20, "INFO", LoggerTaskSession, "Execution State Change to Started", 0, true},
	{10, "INFO", LoggerTaskSession, "Execution State Change to Queued", 0, true},
	{20, "INFO", loggerReloadTask, "Trying to start task.  Sending task to slave scheduler", 0, true},
	{20, "INFO", loggerReloadTask, "Reference to scriptlog added", 0, true},
	{25, "DEBUG", loggerReloadTask, "Reload progress: %d rows fetched", 10000000, true},
	{6, "WARN", loggerReloadTask, "Engine warning while reloading: connection to data source slow.", 0, true},
	{3, "ERROR", loggerReloadTask, "Message from ReloadProvider: Reload failed in Engine. Check engine or script logs.", 0, true},
	{2, "ERROR", loggerProvider, "Reload sequence was not successful (Result=False, Finished=True, Aborted=False) for engine connection with handle %d", 65536, true},
	{4, "INFO", loggerReloadTask, "Reload complete. Execution State Change to FinishedSuccess reported to master", 0, true},
}

// taskNames and appNames name the pool's tasks and the failing ones.
var (
	taskNames = []string{"Reload Sales dashboard", "Nightly finance ETL", "Reload HR headcount", "Manually triggered reload of Stock", "Reload Logistics KPIs", "Rechargement des ventes"}
	appNames  = []string{"Sales dashboard", "Finance Cube", "HR headcount", "Stock", "Logistics KPIs", "Ventes Europe – été"}
)

// task is a reload task with its app.
type task struct {
	name, id, app, appID string
}

// Options configure a Generator. The zero value is valid.
type Options struct {
	// Seed selects the output: equal options give equal bytes.
	Seed uint64
	// Host is the Hostname column. Default "QS-NODE1".
	Host string
	// Start is the first row's time. Default 2026-11-22 06:00:00 +01:00.
	Start time.Time
	// FailureRate is the share of rows that are alerts, 0 < FailureRate ≤ 1,
	// in steps of one per million; zero means DefaultFailureRate. Alerts are
	// spread evenly: the first n rows hold exactly
	// floor(n × FailureRate) of them (see Options.Alerts).
	FailureRate float64
	// NoAlerts makes no row an alert, whatever FailureRate says: the log of a
	// baseline run that reads as many rows without raising anything.
	NoAlerts bool
}

// Validate reports an out-of-range FailureRate.
func (o Options) Validate() error {
	if o.FailureRate == 0 || o.NoAlerts {
		return nil
	}
	if !(o.FailureRate > 0 && o.FailureRate <= 1) || math.Round(o.FailureRate*ratePrecision) < 1 {
		return fmt.Errorf("failure rate %v: want a share of rows above 0 (at least 0.000001) and at most 1", o.FailureRate)
	}
	return nil
}

// perMillion is how many rows in a million are alerts.
func (o Options) perMillion() int64 {
	switch {
	case o.NoAlerts:
		return 0
	case o.FailureRate == 0:
		return ratePrecision / AlertEvery
	}
	return int64(math.Round(o.FailureRate * ratePrecision))
}

// Alerts returns how many of the first rows rows are alerts.
func (o Options) Alerts(rows int) int {
	return int(int64(rows) * o.perMillion() / ratePrecision)
}

// isAlert reports whether row i (0-based) is an alert: whether the count of
// alerts up to and including it is one more than before it. At the default
// rate that is every 100th row, as it always was.
func isAlert(i int, perMillion int64) bool {
	return (int64(i)+1)*perMillion/ratePrecision != int64(i)*perMillion/ratePrecision
}

// Alert identifies an alert row: the rule pack keys its alert by TaskID.
type Alert struct {
	TaskID      string
	ExecutionID string
}

// Generator produces the rows of one log file in order. It is not safe for
// concurrent use.
type Generator struct {
	rnd     *rand.Rand
	host    string
	now     time.Time
	rows    int
	alerts  int
	rate    int64 // alerts per million rows
	pool    []task
	picks   []int // routine index per weight unit
	scratch []byte
}

// New returns a generator positioned before the first row. It panics if
// o.Validate fails: callers that take the rate from a user check it first.
func New(o Options) *Generator {
	if err := o.Validate(); err != nil {
		panic("qlikgen: " + err.Error())
	}
	if o.Host == "" {
		o.Host = "QS-NODE1"
	}
	if o.Start.IsZero() {
		o.Start = time.Date(2026, 11, 22, 6, 0, 0, 0, time.FixedZone("", 3600))
	}
	g := &Generator{
		rnd:  rand.New(rand.NewPCG(o.Seed, 0x9e3779b97f4a7c15)),
		host: o.Host,
		now:  o.Start,
		rate: o.perMillion(),
	}
	for i, r := range routines {
		for range r.weight {
			g.picks = append(g.picks, i)
		}
	}
	for i := range taskPool {
		n := i % len(taskNames)
		g.pool = append(g.pool, task{
			name:  taskNames[n] + " " + strconv.Itoa(i),
			id:    string(g.appendGUID(nil)),
			app:   appNames[n],
			appID: string(g.appendGUID(nil)),
		})
	}
	return g
}

// Rows returns how many rows have been generated.
func (g *Generator) Rows() int { return g.rows }

// Alerts returns how many of them are alerts.
func (g *Generator) Alerts() int { return g.alerts }

// AppendHeader appends the file's first line: a UTF-8 BOM and the tab-separated
// column names, ended by CRLF.
func (g *Generator) AppendHeader(dst []byte) []byte {
	dst = append(dst, bom...)
	for i, c := range Columns {
		if i > 0 {
			dst = append(dst, '\t')
		}
		dst = append(dst, c...)
	}
	return append(dst, '\r', '\n')
}

// AppendRow appends the next row, ended by CRLF, and reports whether it is an
// alert.
func (g *Generator) AppendRow(dst []byte) ([]byte, bool) {
	if isAlert(g.rows, g.rate) {
		dst, _ = g.AppendAlert(dst)
		return dst, true
	}
	r := &routines[g.picks[g.rnd.IntN(len(g.picks))]]
	msg := r.msg
	if r.arg > 0 {
		g.scratch = fmt.Appendf(g.scratch[:0], r.msg, g.rnd.IntN(r.arg))
		msg = string(g.scratch)
	}
	var t *task
	if r.task {
		t = &g.pool[g.rnd.IntN(len(g.pool))]
	}
	return g.appendRow(dst, r.level, r.logger, msg, t, nil), false
}

// AppendAlert appends the next row as an alert, whatever its position: the
// FinishedFail outcome of a new task, ended by CRLF.
func (g *Generator) AppendAlert(dst []byte) ([]byte, Alert) {
	n := g.alerts
	g.alerts++
	k := n % len(taskNames)
	t := task{
		name:  "Reload failing app " + strconv.Itoa(n),
		id:    string(g.appendCountedGUID(nil, uint64(n))),
		app:   appNames[k] + " " + strconv.Itoa(n),
		appID: string(g.appendGUID(nil)),
	}
	exec := g.appendCountedGUID(nil, uint64(n)|1<<47)
	return g.appendRow(dst, "INFO", LoggerTaskSession, FailedMessage, &t, exec), Alert{TaskID: t.id, ExecutionID: string(exec)}
}

// appendRow appends one row in Columns order. A row with a task carries the
// task columns; exec is its ExecutionId (a fresh one when nil).
func (g *Generator) appendRow(dst []byte, level, logger, msg string, t *task, exec []byte) []byte {
	g.rows++
	g.now = g.now.Add(time.Duration(1+g.rnd.IntN(40)) * time.Millisecond)
	dst = strconv.AppendInt(dst, int64(g.rows), 10)
	dst = append(dst, '\t')
	dst = g.now.AppendFormat(dst, tsLayout)
	dst = append(dst, '\t')
	dst = append(dst, level...)
	dst = append(dst, '\t')
	dst = append(dst, g.host...)
	dst = append(dst, '\t')
	dst = append(dst, logger...)
	dst = append(dst, '\t')
	dst = strconv.AppendInt(dst, int64(20+g.rnd.IntN(60)), 10)
	dst = append(dst, '\t')
	dst = g.appendGUID(dst)
	dst = append(dst, "\tLAB\\qlikservice\t"...)
	dst = append(dst, msg...)
	dst = append(dst, "\t\t\t0\t0\t0\t"...) // Exception, StackTrace, ProxySessionId, ProxyPackageId, RequestSequenceId
	if t != nil {
		dst = append(dst, "INTERNAL\tsa_scheduler\t"...)
		dst = append(dst, t.name...)
		dst = append(dst, '\t')
		dst = append(dst, t.id...)
		dst = append(dst, '\t')
		if exec != nil {
			dst = append(dst, exec...)
		} else {
			dst = g.appendGUID(dst)
		}
		dst = append(dst, '\t')
		dst = append(dst, t.app...)
		dst = append(dst, '\t')
		dst = append(dst, t.appID...)
		dst = append(dst, '\t')
	} else {
		dst = append(dst, "\t\t\t\t\t\t\t"...)
	}
	dst = append(dst, zeroGUID...)
	return append(dst, '\r', '\n')
}

// appendGUID appends a random version-4 style GUID.
func (g *Generator) appendGUID(dst []byte) []byte {
	return appendGUID(dst, g.rnd.Uint64(), g.rnd.Uint64())
}

// appendCountedGUID appends a GUID whose last group is n: unique per n, random
// elsewhere.
func (g *Generator) appendCountedGUID(dst []byte, n uint64) []byte {
	return appendGUID(dst, g.rnd.Uint64(), n&0xffffffffffff|0xc<<60)
}

// appendGUID formats hi and lo as xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx, with
// the version nibble 4 and the low 48 bits of lo as the last group.
func appendGUID(dst []byte, hi, lo uint64) []byte {
	const hex = "0123456789abcdef"
	hi = hi&^(0xf<<12) | 0x4<<12
	for i := 60; i >= 0; i -= 4 {
		if i == 28 || i == 12 {
			dst = append(dst, '-')
		}
		dst = append(dst, hex[hi>>uint(i)&0xf])
	}
	dst = append(dst, '-')
	dst = append(dst, hex[0x8|lo>>60&0x3], hex[lo>>56&0xf], hex[lo>>52&0xf], hex[lo>>48&0xf], '-')
	for i := 44; i >= 0; i -= 4 {
		dst = append(dst, hex[lo>>uint(i)&0xf])
	}
	return dst
}

// Stats describe what Write wrote.
type Stats struct {
	Rows   int   // data rows, not counting the header
	Alerts int   // rows that are alerts
	Bytes  int64 // bytes written, header included
}

// Write writes the header and then rows rows of g to w.
func Write(w io.Writer, g *Generator, rows int) (Stats, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	var buf []byte
	var st Stats
	buf = g.AppendHeader(buf)
	alerts0 := g.Alerts()
	for range rows {
		buf, _ = g.AppendRow(buf)
		if len(buf) >= 64<<10 {
			n, err := bw.Write(buf)
			st.Bytes += int64(n)
			if err != nil {
				return st, fmt.Errorf("write log rows: %w", err)
			}
			buf = buf[:0]
		}
	}
	n, err := bw.Write(buf)
	st.Bytes += int64(n)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return st, fmt.Errorf("write log rows: %w", err)
	}
	st.Rows, st.Alerts = rows, g.Alerts()-alerts0
	return st, nil
}
